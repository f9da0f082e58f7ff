package smtpin

import (
	"crypto/tls"
	"fmt"
	"io"
	"log"
	"net"
	"sync"

	"github.com/emersion/go-smtp"
)

// generation is one configuration in force: its compiled lists and the
// go-smtp server that runs the sessions accepted under it. A reload starts
// a new generation; the old one keeps its sessions until they end.
type generation struct {
	cfg       Config
	relay     prefixSet
	trust     prefixSet
	block     prefixSet
	protected domainSet
	server    *smtp.Server
	ln        *chanListener
	served    chan struct{} // closed when server.Serve returned
}

func compile(cfg Config, be smtp.Backend) (*generation, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	g := &generation{cfg: cfg, protected: newDomainSet(cfg.ProtectedDomains), served: make(chan struct{})}
	var err error
	if g.relay, err = parsePrefixes(cfg.RelayNetworks); err != nil {
		return nil, fmt.Errorf("smtp.relay_networks: %w", err)
	}
	if g.trust, err = parsePrefixes(cfg.Clients.Trust); err != nil {
		return nil, fmt.Errorf("smtp.clients.trust: %w", err)
	}
	if g.block, err = parsePrefixes(cfg.Clients.Block); err != nil {
		return nil, fmt.Errorf("smtp.clients.block: %w", err)
	}
	s := smtp.NewServer(be)
	s.Domain = cfg.Hostname
	s.MaxMessageBytes = cfg.Limits.MaxMessageSize
	s.MaxRecipients = cfg.Limits.MaxRecipients
	s.MaxLineLength = cfg.Limits.MaxLineLength
	s.ReadTimeout = cfg.Timeouts.Command
	s.WriteTimeout = cfg.Timeouts.Write
	s.EnableSMTPUTF8 = true
	s.EnableDSN = true
	// go-smtp logs handler errors (client resets, timeouts) itself; the
	// receiver reports them as events instead.
	s.ErrorLog = log.New(io.Discard, "", 0)
	if cfg.TLS.Cert != "" {
		cert, err := tls.LoadX509KeyPair(cfg.TLS.Cert, cfg.TLS.Key)
		if err != nil {
			return nil, fmt.Errorf("smtp.tls: %w", err)
		}
		s.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	g.server = s
	g.ln = newChanListener()
	return g, nil
}

// start runs the generation's server on its hand-off listener.
func (g *generation) start() {
	go func() {
		defer close(g.served)
		_ = g.server.Serve(g.ln)
	}()
}

// chanListener is the listener a generation's go-smtp server accepts from:
// the receiver's accept loops hand it connections they admitted.
type chanListener struct {
	ch   chan net.Conn
	done chan struct{}
	once sync.Once
}

func newChanListener() *chanListener {
	return &chanListener{ch: make(chan net.Conn), done: make(chan struct{})}
}

func (l *chanListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

// offer hands c to the server; false if the listener is closed.
func (l *chanListener) offer(c net.Conn) bool {
	select {
	case l.ch <- c:
		return true
	case <-l.done:
		return false
	}
}

func (l *chanListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *chanListener) Addr() net.Addr { return &net.TCPAddr{} }
