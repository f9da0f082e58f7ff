package smtpin

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatewatch/gatewatch/telemetry"
)

// clientConn is the receiver's view of one SMTP connection. It wraps the
// socket to see what go-smtp does not tell its backend: the raw command
// lines (source routes, which go-smtp strips), the replies go-smtp gives
// on its own (size and recipient limits), and how the connection ended.
type clientConn struct {
	net.Conn
	sessionID string
	ip        netip.Addr
	port      int
	opened    time.Time
	relay     bool // in relay_networks
	trusted   bool // relay or in clients.trust
	gen       *generation

	in  commandSniffer
	out replySniffer

	messages   atomic.Int32 // messages accepted in this connection
	closeAfter atomic.Bool  // close once the next reply is written
	failed     atomic.Pointer[string]
	closeOnce  sync.Once
	onClose    func(c *clientConn)
}

func (c *clientConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.in.feed(p[:n])
	}
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
		msg := err.Error()
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			msg = "timeout"
		}
		c.failed.CompareAndSwap(nil, &msg)
	}
	return n, err
}

func (c *clientConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.out.feed(p[:n], c)
	if c.closeAfter.Load() && bytes.HasSuffix(p[:n], []byte("\r\n")) {
		c.Close()
	}
	return n, err
}

func (c *clientConn) Close() error {
	err := c.Conn.Close()
	c.closeOnce.Do(func() {
		if c.onClose != nil {
			c.onClose(c)
		}
	})
	return err
}

// endedBy says why the connection ended badly, or "" if it ended cleanly.
func (c *clientConn) endedBy() string {
	if p := c.failed.Load(); p != nil {
		return *p
	}
	return ""
}

// commandSniffer follows the client's byte stream well enough to find
// command lines, skipping DATA content and BDAT chunks. It only ever looks:
// go-smtp stays the parser of record.
type commandSniffer struct {
	mu      sync.Mutex
	line    []byte
	inData  bool
	bdatRem int64
	ehlo    bool
	// routed holds recipients whose RCPT TO carried a source route
	// (<@a,@b:user@c>), as go-smtp will pass them: "user@c".
	routed []string
}

const maxSniffLine = 4096

func (s *commandSniffer) feed(p []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for len(p) > 0 {
		if s.bdatRem > 0 {
			k := min(int64(len(p)), s.bdatRem)
			s.bdatRem -= k
			p = p[k:]
			continue
		}
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			if len(s.line)+len(p) <= maxSniffLine {
				s.line = append(s.line, p...)
			}
			return
		}
		if len(s.line)+i+1 <= maxSniffLine {
			s.line = append(s.line, p[:i+1]...)
		} else {
			s.line = s.line[:0] // overlong: go-smtp refuses it anyway
		}
		p = p[i+1:]
		s.onLine(bytes.TrimRight(s.line, "\r\n"))
		s.line = s.line[:0]
	}
}

func (s *commandSniffer) onLine(l []byte) {
	if s.inData {
		if len(l) == 1 && l[0] == '.' {
			s.inData = false
		}
		return
	}
	word, rest, _ := bytes.Cut(l, []byte(" "))
	switch string(bytes.ToUpper(word)) {
	case "DATA":
		s.inData = true
	case "BDAT":
		f := bytes.Fields(rest)
		if len(f) > 0 {
			if n, err := strconv.ParseInt(string(f[0]), 10, 64); err == nil && n > 0 {
				s.bdatRem = n
			}
		}
	case "EHLO":
		s.ehlo = true
	case "HELO":
		s.ehlo = false
	case "MAIL", "RSET":
		s.routed = s.routed[:0]
	case "RCPT":
		arg := bytes.TrimSpace(rest)
		if len(arg) > 3 && bytes.EqualFold(arg[:3], []byte("TO:")) {
			arg = bytes.TrimSpace(arg[3:])
		}
		arg = bytes.TrimPrefix(arg, []byte("<"))
		if len(arg) > 0 && arg[0] == '@' {
			if i := bytes.IndexByte(arg, ':'); i > 0 {
				mbox := arg[i+1:]
				if j := bytes.IndexAny(mbox, "> \t"); j >= 0 {
					mbox = mbox[:j]
				}
				if len(s.routed) < 1024 {
					s.routed = append(s.routed, string(mbox))
				}
			}
		}
	}
}

// takeRouted reports whether rcpt came with a source route, and forgets it.
func (s *commandSniffer) takeRouted(rcpt string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, r := range s.routed {
		if r == rcpt {
			s.routed = append(s.routed[:i], s.routed[i+1:]...)
			return true
		}
	}
	return false
}

func (s *commandSniffer) usedEHLO() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ehlo
}

// replySniffer recognises the refusals go-smtp writes without asking the
// backend, so that they are counted like the receiver's own.
type replySniffer struct {
	onRefusal func(c *clientConn, reason telemetry.Reason, reply string)
}

// libraryRefusal classifies the replies of go-smtp v0.25 that refuse
// something on its own; the receiver's own refusals use other texts.
func libraryRefusal(p []byte) (telemetry.Reason, bool) {
	switch {
	case bytes.HasPrefix(p, []byte("552 5.3.4 Max message size exceeded")): // SIZE= at MAIL, or BDAT total
		return telemetry.ReasonMessageSize, true
	case bytes.HasPrefix(p, []byte("452 4.5.3 Maximum limit of")): // recipients per message
		return telemetry.ReasonRecipientsLimit, true
	case bytes.HasPrefix(p, []byte("500 5.4.0 Too long line")): // command line over the limit
		return telemetry.ReasonMalformed, true
	case bytes.HasPrefix(p, []byte("421 4.4.2 Idle timeout")): // command timeout
		return telemetry.ReasonTimeout, true
	}
	return "", false
}

func (s *replySniffer) feed(p []byte, c *clientConn) {
	if s.onRefusal == nil || len(p) < 4 || (p[0] != '4' && p[0] != '5') {
		return
	}
	if reason, ok := libraryRefusal(p); ok {
		s.onRefusal(c, reason, string(bytes.TrimRight(p, "\r\n")))
	}
}
