package milter

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"

	gomilter "github.com/emersion/go-milter"

	"github.com/gatewatch/gatewatch/pipeline"
	"github.com/gatewatch/gatewatch/telemetry"
)

// Mode names this integration in events and statistics.
const Mode = "milter"

// Lists answers at RCPT what the policy's lists decide for a recipient.
type Lists interface {
	AtRecipient(clientIP, sender, rcpt string) (pipeline.Treatment, bool)
}

// Deps are what the server judges with.
type Deps struct {
	Scanner *pipeline.Scanner
	Lists   Lists
	// Render writes the delivered copy of m under t (policy.Render): used
	// for parts replaced by a notice.
	Render func(w io.Writer, m *pipeline.Message, t pipeline.Treatment, id string) error
	NewID  func() string // queue IDs for our events and X-Gatewatch-ID
	Emit   telemetry.Emitter
}

// Server is the milter listener.
type Server struct {
	deps    Deps
	cfg     atomic.Pointer[Config]
	ln      net.Listener
	closing atomic.Bool
	done    chan struct{}
	once    sync.Once
}

// New listens on cfg.Listen; Serve accepts the MTA's connections.
func New(cfg Config, deps Deps) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	network, addr, err := listenAddr(cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("milter.listen: %w", err)
	}
	if network == "unix" {
		_ = os.Remove(addr) // a socket left by a crash would refuse the bind
	}
	ln, err := net.Listen(network, addr)
	if err != nil {
		return nil, fmt.Errorf("milter.listen: %w", err)
	}
	s := &Server{deps: deps, ln: ln, done: make(chan struct{})}
	s.cfg.Store(&cfg)
	return s, nil
}

// Addr is where the server listens.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Reload puts the new timeout and size limit in force for the next
// messages (the address needs a restart).
func (s *Server) Reload(cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	if cfg.Listen != s.cfg.Load().Listen {
		return errors.New("milter.listen cannot change on reload (restart)")
	}
	s.cfg.Store(&cfg)
	return nil
}

// Serve handles connections until Close.
func (s *Server) Serve() {
	defer close(s.done)
	srv := &gomilter.Server{
		NewMilter: func() gomilter.Milter { return s.newSession() },
		Actions: gomilter.OptAddHeader | gomilter.OptChangeHeader | gomilter.OptChangeBody |
			gomilter.OptAddRcpt | gomilter.OptRemoveRcpt | gomilter.OptQuarantine,
		Protocol: gomilter.OptNoUnknown | gomilter.OptNoData,
	}
	// go-milter's own Close writes a flag its accept loop reads without a
	// lock; closing the listener ourselves ends the loop just the same.
	err := srv.Serve(s.ln)
	if err != nil && !s.closing.Load() {
		s.deps.Emit.Emit(telemetry.Event{Type: telemetry.IntegrationError, Mode: Mode, Err: "milter listener: " + err.Error()})
	}
}

// Close stops accepting; sessions under way finish on their own.
func (s *Server) Close() error {
	var err error
	s.once.Do(func() {
		s.closing.Store(true)
		err = s.ln.Close()
		<-s.done
	})
	return err
}

func (s *Server) timeoutCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), s.cfg.Load().Timeout)
}
