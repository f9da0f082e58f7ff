package peers_test

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/smtp"
	"net/textproto"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	gosmtp "github.com/emersion/go-smtp"

	"github.com/gatewatch/gatewatch/internal/peers"
)

// The milter tests use a minimal milter written here against the protocol
// (milter protocol version 6, as Postfix speaks it) rather than a library,
// so that they can record exactly which macros Postfix sends before which
// command: a library would merge or drop them.

// Milter command and response codes (libmilter's mfdef.h).
const (
	smfiVersion = 6

	smfifAddHdrs    = 0x01
	smfifQuarantine = 0x20

	smfirAccept     = 'a'
	smfirContinue   = 'c'
	smfirQuarantine = 'q'
	smfirAddHeader  = 'h'
)

// milterStages names the stages by the code of the command whose
// SMFIC_MACRO precedes it.
var milterStages = map[byte]string{
	'C': "connect", 'H': "helo", 'M': "mail", 'R': "rcpt", 'T': "data",
	'N': "eoh", 'E': "eom", 'U': "unknown",
}

// milterMessage is what the test milter saw of one message.
type milterMessage struct {
	Subject string
	// Macros holds, per stage code, the macros of the SMFIC_MACRO packet
	// sent before that command; connect and helo are the connection's.
	Macros      map[byte]map[string]string
	Quarantined bool
}

// testMilter quarantines every message whose Subject contains "hold" and
// accepts the others, adding a header to show it ran.
type testMilter struct {
	Addr string
	ln   net.Listener
	wg   sync.WaitGroup

	mu    sync.Mutex
	conns map[net.Conn]bool
	msgs  []milterMessage
	errs  []error
}

const holdReasonText = "test quarantine: subject says hold"

func startTestMilter(t *testing.T) *testMilter {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	m := &testMilter{Addr: ln.Addr().String(), ln: ln, conns: map[net.Conn]bool{}}
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			m.mu.Lock()
			m.conns[conn] = true
			m.mu.Unlock()
			m.wg.Add(1)
			go func() {
				defer m.wg.Done()
				if err := m.serve(conn); err != nil {
					m.mu.Lock()
					m.errs = append(m.errs, err)
					m.mu.Unlock()
				}
				conn.Close()
				m.mu.Lock()
				delete(m.conns, conn)
				m.mu.Unlock()
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		m.mu.Lock()
		for c := range m.conns {
			c.Close()
		}
		m.mu.Unlock()
		m.wg.Wait()
		for _, err := range m.errors() {
			t.Errorf("test milter: %v", err)
		}
	})
	return m
}

func (m *testMilter) messages() []milterMessage {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.msgs)
}

func (m *testMilter) errors() []error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.errs)
}

// serve speaks the milter protocol on one connection from Postfix's smtpd.
func (m *testMilter) serve(conn net.Conn) error {
	r := bufio.NewReader(conn)
	connMacros := map[byte]map[string]string{}
	var cur *milterMessage
	begin := func() {
		if cur == nil {
			cur = &milterMessage{Macros: map[byte]map[string]string{}}
			for stage, macros := range connMacros {
				cur.Macros[stage] = macros
			}
		}
	}
	reply := func(code byte, data ...[]byte) error {
		return writeMilterPacket(conn, code, bytes.Join(data, nil))
	}
	for {
		code, data, err := readMilterPacket(r)
		if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) {
			return nil
		}
		if err != nil {
			return err
		}
		switch code {
		case 'O': // SMFIC_OPTNEG: version, actions, protocol steps offered
			if len(data) != 12 {
				return fmt.Errorf("SMFIC_OPTNEG of %d bytes", len(data))
			}
			if v := binary.BigEndian.Uint32(data); v < smfiVersion {
				return fmt.Errorf("MTA offers milter protocol version %d", v)
			}
			// Every protocol step, each with a reply (protocol mask 0).
			if err := reply('O', be32(smfiVersion), be32(smfifAddHdrs|smfifQuarantine), be32(0)); err != nil {
				return err
			}
		case 'D': // SMFIC_MACRO: stage code, then name/value pairs
			if len(data) == 0 {
				return errors.New("empty SMFIC_MACRO")
			}
			fields := cStrings(data[1:])
			macros := map[string]string{}
			for i := 0; i+1 < len(fields); i += 2 {
				macros[fields[i]] = fields[i+1]
			}
			stage := data[0]
			if stage == 'C' || stage == 'H' {
				connMacros[stage] = macros
			} else {
				begin()
				cur.Macros[stage] = macros
			}
		case 'C', 'H', 'U': // connect, HELO, unknown command
			if err := reply(smfirContinue); err != nil {
				return err
			}
		case 'M', 'R', 'T', 'N', 'B': // MAIL, RCPT, DATA, end of header, body
			begin()
			if err := reply(smfirContinue); err != nil {
				return err
			}
		case 'L': // SMFIC_HEADER: name, value
			begin()
			if f := cStrings(data); len(f) == 2 && strings.EqualFold(f[0], "Subject") {
				cur.Subject = strings.TrimSpace(f[1])
			}
			if err := reply(smfirContinue); err != nil {
				return err
			}
		case 'E': // SMFIC_BODYEOB: modifications, then the verdict
			begin()
			if strings.Contains(strings.ToLower(cur.Subject), "hold") {
				cur.Quarantined = true
				if err := reply(smfirQuarantine, []byte(holdReasonText), []byte{0}); err != nil {
					return err
				}
			} else if err := reply(smfirAddHeader, []byte("X-Test-Milter\x00passed\x00")); err != nil {
				return err
			}
			m.mu.Lock()
			m.msgs = append(m.msgs, *cur)
			m.mu.Unlock()
			cur = nil
			if err := reply(smfirAccept); err != nil {
				return err
			}
		case 'A': // SMFIC_ABORT: the message is off, the connection stays
			cur = nil
		case 'K': // SMFIC_QUIT_NC: a new connection follows on this socket
			cur = nil
			connMacros = map[byte]map[string]string{}
		case 'Q': // SMFIC_QUIT
			return nil
		default:
			return fmt.Errorf("unexpected milter command %q", code)
		}
	}
}

func readMilterPacket(r *bufio.Reader) (byte, []byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n == 0 || n > 1<<20 {
		return 0, nil, fmt.Errorf("milter packet length %d", n)
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(r, buf); err != nil {
		return 0, nil, err
	}
	return buf[0], buf[1:], nil
}

func writeMilterPacket(w io.Writer, code byte, data []byte) error {
	pkt := binary.BigEndian.AppendUint32(nil, uint32(len(data)+1))
	pkt = append(pkt, code)
	_, err := w.Write(append(pkt, data...))
	return err
}

func be32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }

// cStrings splits NUL-terminated strings.
func cStrings(b []byte) []string {
	b = bytes.TrimSuffix(b, []byte{0})
	if len(b) == 0 {
		return nil
	}
	return strings.Split(string(b), "\x00")
}

func testMessage(from, to, subject string) []byte {
	return []byte("From: <" + from + ">\r\nTo: <" + to + ">\r\nSubject: " + subject +
		"\r\nMessage-ID: <" + strings.ReplaceAll(subject, " ", ".") + "@test.invalid>\r\n\r\nbody of " + subject + "\r\n")
}

// smtpSend delivers one message and returns the first error reply, with the
// command that got it.
func smtpSend(addr, from, to string, msg []byte) (string, error) {
	c, err := smtp.Dial(addr)
	if err != nil {
		return "connect", err
	}
	defer c.Close()
	if err := c.Hello("client.test.invalid"); err != nil {
		return "EHLO", err
	}
	if err := c.Mail(from); err != nil {
		return "MAIL", err
	}
	if err := c.Rcpt(to); err != nil {
		return "RCPT", err
	}
	w, err := c.Data()
	if err != nil {
		return "DATA", err
	}
	if _, err := w.Write(msg); err != nil {
		return "DATA", err
	}
	if err := w.Close(); err != nil {
		return "end of data", err
	}
	return "QUIT", c.Quit()
}

func mustSend(t *testing.T, addr, from, to string, msg []byte) {
	t.Helper()
	if step, err := smtpSend(addr, from, to, msg); err != nil {
		t.Fatalf("sending to %s: %s: %v", addr, step, err)
	}
}

func TestPostfixMilterQuarantineToHoldQueue(t *testing.T) {
	t.Parallel()
	peers.Require(t, peers.SMTPSinkBin, peers.PostfixBin, peers.PostqueueBin)
	sink := peers.StartSink(t, peers.SinkOptions{Dump: true})
	milter := startTestMilter(t)
	pf := peers.StartPostfix(t, peers.PostfixOptions{RelayHost: sink.Addr, Milter: "inet:" + milter.Addr})

	mustSend(t, pf.Addr, "pass@example.org", "rcpt@example.net", testMessage("pass@example.org", "rcpt@example.net", "let me pass"))
	mustSend(t, pf.Addr, "quar@example.org", "rcpt2@example.net", testMessage("quar@example.org", "rcpt2@example.net", "please hold me"))

	held := pf.WaitHeld(t, 1, 30*time.Second)
	pf.WaitQueueEmpty(t, 30*time.Second)
	msgs := sink.Messages(t)
	if len(msgs) != 1 {
		t.Fatalf("sink got %d messages, want only the accepted one", len(msgs))
	}
	if got := msgs[0].Header.Get("Subject"); got != "let me pass" {
		t.Errorf("sink got Subject %q, want the accepted message", got)
	}
	if got := msgs[0].Header.Get("X-Test-Milter"); got != "passed" {
		t.Errorf("delivered message lacks the milter's header: X-Test-Milter %q", got)
	}

	seen := milter.messages()
	if len(seen) != 2 {
		t.Fatalf("milter saw %d messages, want 2", len(seen))
	}
	for _, m := range seen {
		for _, stage := range []byte{'C', 'H', 'M', 'R', 'T', 'N', 'E'} {
			macros, sent := m.Macros[stage]
			t.Logf("%q: macros before %s (SMFIC_MACRO sent: %v): %v", m.Subject, milterStages[stage], sent, macros)
		}
	}

	if len(held) != 1 {
		t.Fatalf("hold queue has %d messages, want 1: %+v", len(held), held)
	}
	h := held[0]
	var quarantined milterMessage
	for _, m := range seen {
		if m.Quarantined {
			quarantined = m
		}
	}
	if quarantined.Subject != "please hold me" {
		t.Fatalf("milter quarantined %q, want the message saying hold", quarantined.Subject)
	}
	if qid := quarantined.Macros['E']["i"]; qid == "" || qid != h.QueueID {
		t.Errorf("held queue ID %q, the milter saw i=%q at end of message", h.QueueID, qid)
	}
	if h.Sender != "quar@example.org" || !slices.Equal(h.Recipients, []string{"rcpt2@example.net"}) {
		t.Errorf("held message from %q to %q, want quar@example.org to rcpt2@example.net", h.Sender, h.Recipients)
	}
	// Postfix 3.7 logs a fixed text and drops the milter's own reason.
	if !strings.Contains(h.Reason, "milter triggers HOLD action") {
		t.Errorf("hold reason %q, want Postfix's milter-hold text", h.Reason)
	}
	if h.Size <= 0 || time.Since(h.ArrivalTime) > time.Minute {
		t.Errorf("held message size %d, arrival %v", h.Size, h.ArrivalTime)
	}

	for _, m := range seen {
		if got := m.Macros['C']["{client_addr}"]; got != "127.0.0.1" {
			t.Errorf("%q: {client_addr} at connect = %q, want 127.0.0.1", m.Subject, got)
		}
		for _, stage := range []byte{'T', 'N', 'E'} {
			if m.Macros[stage]["i"] == "" {
				t.Errorf("%q: no queue ID macro i before %s: %v", m.Subject, milterStages[stage], m.Macros[stage])
			}
		}
		want := "rcpt@example.net"
		if m.Quarantined {
			want = "rcpt2@example.net"
		}
		if got := m.Macros['R']["{rcpt_addr}"]; got != want {
			t.Errorf("%q: {rcpt_addr} = %q, want %q", m.Subject, got, want)
		}
	}
}

func TestPostfixMilterDownTempfails(t *testing.T) {
	t.Parallel()
	peers.Require(t, peers.SMTPSinkBin, peers.PostfixBin)
	sink := peers.StartSink(t, peers.SinkOptions{Dump: true})
	// Nothing listens there: the milter is down.
	pf := peers.StartPostfix(t, peers.PostfixOptions{RelayHost: sink.Addr, Milter: "inet:" + peers.FreeAddr(t)})

	step, err := smtpSend(pf.Addr, "a@example.org", "b@example.net", testMessage("a@example.org", "b@example.net", "milter down"))
	var reply *textproto.Error
	if !errors.As(err, &reply) {
		t.Fatalf("with the milter down, %s ended with %v; want a 4xx reply", step, err)
	}
	t.Logf("milter down: %s got %d %s", step, reply.Code, reply.Msg)
	if reply.Code < 400 || reply.Code > 499 {
		t.Errorf("with the milter down, %s got %d %s; want 4xx (milter_default_action = tempfail)", step, reply.Code, reply.Msg)
	}
	pf.WaitQueueEmpty(t, 10*time.Second)
	if n := pf.Deferred(t); n != 0 {
		t.Errorf("%d deferred messages; the mail should have been refused, not queued", n)
	}
	if msgs := sink.Messages(t); len(msgs) != 0 {
		t.Errorf("sink got %d messages with the milter down", len(msgs))
	}
	pf.WaitMaillog(t, "connect to Milter service", 10*time.Second)
}

// testFilter is an after-queue content filter: an SMTP server that adds a
// header and hands each message back to Postfix's re-injection smtpd
// before it answers the end of data, as real filters do.
type testFilter struct {
	addr, reinject string

	mu       sync.Mutex
	srv      *gosmtp.Server
	done     chan struct{}
	received []string // Subjects, in order
}

func (f *testFilter) start(t *testing.T) {
	t.Helper()
	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		t.Fatalf("content filter: %v", err)
	}
	srv := gosmtp.NewServer(gosmtp.BackendFunc(func(*gosmtp.Conn) (gosmtp.Session, error) {
		return &filterSession{f: f}, nil
	}))
	srv.Domain = "filter.test.invalid"
	srv.ReadTimeout = 30 * time.Second
	srv.WriteTimeout = 30 * time.Second
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	f.mu.Lock()
	f.srv, f.done = srv, done
	f.mu.Unlock()
}

func (f *testFilter) stop() {
	f.mu.Lock()
	srv, done := f.srv, f.done
	f.srv = nil
	f.mu.Unlock()
	if srv != nil {
		srv.Close()
		<-done
	}
}

func (f *testFilter) subjects() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.received)
}

type filterSession struct {
	f    *testFilter
	from string
	to   []string
}

func (s *filterSession) Reset()        { s.from, s.to = "", nil }
func (s *filterSession) Logout() error { return nil }
func (s *filterSession) Mail(from string, _ *gosmtp.MailOptions) error {
	s.from = from
	return nil
}

func (s *filterSession) Rcpt(to string, _ *gosmtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}

func (s *filterSession) Data(r io.Reader) error {
	msg, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	var subject string
	if hdr, err := textproto.NewReader(bufio.NewReader(bytes.NewReader(msg))).ReadMIMEHeader(); err == nil {
		subject = hdr.Get("Subject")
	}
	msg = append([]byte("X-Test-Filter: scanned\r\n"), msg...)
	if err := smtp.SendMail(s.f.reinject, nil, s.from, s.to, msg); err != nil {
		return &gosmtp.SMTPError{Code: 451, EnhancedCode: gosmtp.EnhancedCode{4, 3, 0}, Message: "re-injection failed: " + err.Error()}
	}
	s.f.mu.Lock()
	s.f.received = append(s.f.received, subject)
	s.f.mu.Unlock()
	return nil
}

func TestPostfixContentFilterRoundTrip(t *testing.T) {
	t.Parallel()
	peers.Require(t, peers.SMTPSinkBin, peers.PostfixBin, peers.PostqueueBin)
	sink := peers.StartSink(t, peers.SinkOptions{Dump: true})
	filter := &testFilter{addr: peers.FreeAddr(t)}
	pf := peers.StartPostfix(t, peers.PostfixOptions{
		RelayHost:     sink.Addr,
		ContentFilter: peers.PostfixScanFilter(filter.addr),
		Reinject:      true,
	})
	if pf.ReinjectAddr == "" || pf.ReinjectAddr == pf.Addr {
		t.Fatalf("ReinjectAddr %q (smtpd %q)", pf.ReinjectAddr, pf.Addr)
	}
	filter.reinject = pf.ReinjectAddr
	filter.start(t)
	t.Cleanup(filter.stop)

	mustSend(t, pf.Addr, "a@example.org", "b@example.net", testMessage("a@example.org", "b@example.net", "first"))
	sink.WaitMessages(t, 1, 30*time.Second)
	pf.WaitQueueEmpty(t, 30*time.Second)
	msgs := sink.Messages(t)
	if len(msgs) != 1 {
		t.Fatalf("sink got %d messages, want 1", len(msgs))
	}
	if got := msgs[0].Header.Get("X-Test-Filter"); got != "scanned" {
		t.Errorf("delivered message did not pass the filter: X-Test-Filter %q", got)
	}
	if got := filter.subjects(); !slices.Equal(got, []string{"first"}) {
		t.Errorf("filter saw %q, want [first] once: re-injected mail must not loop back", got)
	}

	// Filter down: Postfix keeps the mail and retries.
	filter.stop()
	mustSend(t, pf.Addr, "a@example.org", "b@example.net", testMessage("a@example.org", "b@example.net", "second"))
	deadline := time.Now().Add(30 * time.Second)
	for pf.Deferred(t) != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("Deferred() = %d, want 1\nmaillog:\n%s", pf.Deferred(t), pf.Maillog(t))
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n := len(sink.Messages(t)); n != 1 {
		t.Errorf("sink got %d messages while the filter was down, want still 1", n)
	}

	filter.start(t)
	pf.Flush(t)
	sink.WaitMessages(t, 2, 30*time.Second)
	pf.WaitQueueEmpty(t, 30*time.Second)
	msgs = sink.Messages(t)
	var subjects []string
	for _, m := range msgs {
		subjects = append(subjects, m.Header.Get("Subject"))
		if got := m.Header.Get("X-Test-Filter"); got != "scanned" {
			t.Errorf("%q did not pass the filter", m.Header.Get("Subject"))
		}
	}
	slices.Sort(subjects)
	if !slices.Equal(subjects, []string{"first", "second"}) {
		t.Errorf("sink got %q, want first and second once each", subjects)
	}
	if got := filter.subjects(); !slices.Equal(got, []string{"first", "second"}) {
		t.Errorf("filter saw %q, want [first second]", got)
	}
	if n := pf.Deferred(t); n != 0 {
		t.Errorf("Deferred() = %d after the flush", n)
	}
}
