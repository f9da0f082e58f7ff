package delivery

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-message"
	"github.com/emersion/go-message/textproto"
	"github.com/emersion/go-smtp"

	"github.com/gatewatch/gatewatch/pipeline"
	"github.com/gatewatch/gatewatch/pipeline/spool"
	"github.com/gatewatch/gatewatch/telemetry"
	"github.com/gatewatch/gatewatch/telemetry/stats"
)

// ---------------------------------------------------------------------------
// Fake next hop: a go-smtp server that records what it is told and can be
// told to refuse.

// fakeMsg is one transaction the fake next hop saw through DATA.
type fakeMsg struct {
	From     string
	Mail     smtp.MailOptions
	Rcpts    []string
	RcptOpts []smtp.RcptOptions
	Data     []byte
	TLS      bool   // the session ran over TLS
	Helo     string // the client's EHLO name
	At       time.Time
}

// fakeHop is an in-process SMTP next hop.
type fakeHop struct {
	t    testing.TB
	srv  *smtp.Server
	addr string

	mu       sync.Mutex
	msgs     []fakeMsg // accepted
	mails    int       // MAIL commands seen
	mailAt   []time.Time
	datas    int // DATA payloads seen (accepted or not)
	sessions int // sessions created (one per EHLO on a fresh or upgraded connection)
	tlsSess  int // of those, over TLS
	logouts  int
	discard  bool // keep no content (benchmarks)

	// Hooks deciding replies; nil accepts. n counts from 1.
	onMail func(n int) error
	onRcpt func(to string) error
	onData func(n int) error
}

// fakeOpt configures a fake's server before it starts.
type fakeOpt func(*smtp.Server)

// newFakeHop starts a fake next hop on 127.0.0.1:0.
func newFakeHop(t testing.TB, opts ...fakeOpt) *fakeHop {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	return serveFakeHop(t, ln, opts...)
}

// newFakeHopAt starts a fake next hop on a given address.
func newFakeHopAt(t testing.TB, addr string, opts ...fakeOpt) *fakeHop {
	t.Helper()
	var ln net.Listener
	var err error
	// The port was free a moment ago; allow the kernel a moment to agree.
	deadline := time.Now().Add(5 * time.Second)
	for {
		ln, err = net.Listen("tcp", addr)
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("listen on %s: %v", addr, err)
	}
	return serveFakeHop(t, ln, opts...)
}

func serveFakeHop(t testing.TB, ln net.Listener, opts ...fakeOpt) *fakeHop {
	f := &fakeHop{t: t, addr: ln.Addr().String()}
	s := smtp.NewServer(f)
	s.Domain = "fake.test"
	s.EnableDSN = true
	s.ReadTimeout = 30 * time.Second
	s.WriteTimeout = 30 * time.Second
	s.ErrorLog = log.New(io.Discard, "", 0)
	for _, o := range opts {
		o(s)
	}
	f.srv = s
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = s.Serve(ln)
	}()
	t.Cleanup(func() {
		_ = s.Close()
		<-done
	})
	return f
}

func (f *fakeHop) url() string { return "smtp://" + f.addr }

func (f *fakeHop) NewSession(c *smtp.Conn) (smtp.Session, error) {
	_, isTLS := c.TLSConnectionState()
	f.mu.Lock()
	f.sessions++
	if isTLS {
		f.tlsSess++
	}
	f.mu.Unlock()
	return &fakeSession{f: f, tls: isTLS, helo: c.Hostname()}, nil
}

func (f *fakeHop) setMail(fn func(n int) error) { f.mu.Lock(); f.onMail = fn; f.mu.Unlock() }
func (f *fakeHop) setRcpt(fn func(to string) error) {
	f.mu.Lock()
	f.onRcpt = fn
	f.mu.Unlock()
}
func (f *fakeHop) setData(fn func(n int) error) { f.mu.Lock(); f.onData = fn; f.mu.Unlock() }

// received returns a copy of the accepted transactions.
func (f *fakeHop) received() []fakeMsg {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]fakeMsg(nil), f.msgs...)
}

func (f *fakeHop) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.msgs)
}

func (f *fakeHop) mailCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.mails
}

func (f *fakeHop) mailTimes() []time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Time(nil), f.mailAt...)
}

func (f *fakeHop) counts() (sessions, tlsSessions, logouts int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.sessions, f.tlsSess, f.logouts
}

type fakeSession struct {
	f    *fakeHop
	tls  bool
	helo string
	cur  fakeMsg
}

func (s *fakeSession) Reset() { s.cur = fakeMsg{} }

func (s *fakeSession) Logout() error {
	s.f.mu.Lock()
	s.f.logouts++
	s.f.mu.Unlock()
	return nil
}

func (s *fakeSession) Mail(from string, opts *smtp.MailOptions) error {
	s.f.mu.Lock()
	s.f.mails++
	s.f.mailAt = append(s.f.mailAt, time.Now())
	n, hook := s.f.mails, s.f.onMail
	s.f.mu.Unlock()
	if hook != nil {
		if err := hook(n); err != nil {
			return err
		}
	}
	s.cur = fakeMsg{From: from, TLS: s.tls, Helo: s.helo}
	if opts != nil {
		s.cur.Mail = *opts
	}
	return nil
}

func (s *fakeSession) Rcpt(to string, opts *smtp.RcptOptions) error {
	s.f.mu.Lock()
	hook := s.f.onRcpt
	s.f.mu.Unlock()
	if hook != nil {
		if err := hook(to); err != nil {
			return err
		}
	}
	s.cur.Rcpts = append(s.cur.Rcpts, to)
	var o smtp.RcptOptions
	if opts != nil {
		o = *opts
	}
	s.cur.RcptOpts = append(s.cur.RcptOpts, o)
	return nil
}

func (s *fakeSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.f.mu.Lock()
	s.f.datas++
	n, hook := s.f.datas, s.f.onData
	s.f.mu.Unlock()
	if hook != nil {
		if err := hook(n); err != nil {
			return err
		}
	}
	m := s.cur
	m.At = time.Now()
	s.f.mu.Lock()
	if !s.f.discard {
		m.Data = b
	}
	s.f.msgs = append(s.f.msgs, m)
	s.f.mu.Unlock()
	return nil
}

func smtpErr(code int, enh [3]int, text string) *smtp.SMTPError {
	return &smtp.SMTPError{Code: code, EnhancedCode: smtp.EnhancedCode(enh), Message: text}
}

// closedAddr returns a 127.0.0.1 address nothing listens on.
func closedAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// selfSigned returns a server TLS configuration with a fresh self-signed
// certificate for localhost.
func selfSigned(t testing.TB) *tls.Config {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "fake.test"},
		DNSNames:     []string{"fake.test", "localhost"},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
}

// ---------------------------------------------------------------------------
// scriptHop is a minimal hand-written SMTP server for what go-smtp's server
// cannot be made to do: its EHLO reply lists exactly the given extensions
// (go-smtp always offers 8BITMIME). It accepts everything.

type scriptHop struct {
	addr string
	mu   sync.Mutex
	cmds []string
}

func newScriptHop(t testing.TB, exts ...string) *scriptHop {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	h := &scriptHop{addr: ln.Addr().String()}
	var wg sync.WaitGroup
	var connsMu sync.Mutex
	var conns []net.Conn
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			connsMu.Lock()
			conns = append(conns, c)
			connsMu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				h.serve(c, exts)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		connsMu.Lock()
		for _, c := range conns {
			c.Close()
		}
		connsMu.Unlock()
		wg.Wait()
	})
	return h
}

func (h *scriptHop) serve(c net.Conn, exts []string) {
	defer c.Close()
	r := bufio.NewReader(c)
	say := func(s string) { _, _ = io.WriteString(c, s+"\r\n") }
	say("220 script.test ESMTP")
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		h.mu.Lock()
		h.cmds = append(h.cmds, line)
		h.mu.Unlock()
		verb := strings.ToUpper(strings.SplitN(line, " ", 2)[0])
		switch verb {
		case "EHLO":
			if len(exts) == 0 {
				say("250 script.test")
				continue
			}
			say("250-script.test")
			for i, e := range exts {
				if i == len(exts)-1 {
					say("250 " + e)
				} else {
					say("250-" + e)
				}
			}
		case "HELO", "MAIL", "RCPT", "RSET", "NOOP":
			say("250 2.0.0 OK")
		case "DATA":
			say("354 go ahead")
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
			}
			say("250 2.0.0 queued")
		case "QUIT":
			say("221 2.0.0 bye")
			return
		default:
			say("502 5.5.1 unknown command")
		}
	}
}

// commands returns the verbs the script hop was sent.
func (h *scriptHop) verbs() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]string, len(h.cmds))
	for i, c := range h.cmds {
		out[i] = strings.ToUpper(strings.SplitN(c, " ", 2)[0])
	}
	return out
}

// ---------------------------------------------------------------------------
// Telemetry: the real bus (so the stats move as in production) plus a
// record of every event and an optional synchronous hook.

type recorder struct {
	bus *telemetry.Bus

	mu   sync.Mutex
	evs  []telemetry.Event
	hook func(telemetry.Event)
}

func (r *recorder) Emit(ev telemetry.Event) {
	if ev.Time.IsZero() {
		ev.Time = time.Now()
	}
	r.bus.Emit(ev)
	r.mu.Lock()
	r.evs = append(r.evs, ev)
	hook := r.hook
	r.mu.Unlock()
	if hook != nil {
		hook(ev)
	}
}

func (r *recorder) setHook(fn func(telemetry.Event)) {
	r.mu.Lock()
	r.hook = fn
	r.mu.Unlock()
}

// events returns the recorded events of type typ (all when typ is 0).
func (r *recorder) events(typ telemetry.Type) []telemetry.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []telemetry.Event
	for _, ev := range r.evs {
		if typ == 0 || ev.Type == typ {
			out = append(out, ev)
		}
	}
	return out
}

func (r *recorder) count(typ telemetry.Type) int { return len(r.events(typ)) }

// eventFor returns the first event of type typ for queue ID id.
func (r *recorder) eventFor(typ telemetry.Type, id string) (telemetry.Event, bool) {
	for _, ev := range r.events(typ) {
		if ev.QueueID == id {
			return ev, true
		}
	}
	return telemetry.Event{}, false
}

// ---------------------------------------------------------------------------
// Test environment: a real spool in a temp dir and a started deliverer.

const (
	testHost   = "gw.test"
	testSender = "sender@origin.test"
)

// testConfig has the short retry settings unit tests use.
func testConfig(routes ...Route) Config {
	return Config{
		Routes:      routes,
		Concurrency: 2,
		Retry:       Retry{Initial: 50 * time.Millisecond, Max: 200 * time.Millisecond, Lifetime: time.Hour, RouteDown: 100 * time.Millisecond},
		Timeouts:    Timeouts{Connect: 2 * time.Second, Command: 5 * time.Second, Data: 5 * time.Second, Idle: time.Second},
	}
}

type env struct {
	t   testing.TB
	sp  *spool.Spool
	st  *stats.Stats
	rec *recorder
	d   *Deliverer
}

// newEnv opens a spool, creates a deliverer for cfg, wires them together
// and starts it. Stop and Close run at cleanup (Stop first).
func newEnv(t testing.TB, cfg Config) *env {
	t.Helper()
	e := openEnv(t, cfg)
	e.d.Start(nil, nil)
	return e
}

// openEnv is newEnv without Start.
func openEnv(t testing.TB, cfg Config) *env {
	t.Helper()
	st := telemetry.NewStats()
	rec := &recorder{bus: telemetry.NewBus(st)}
	sp, err := spool.Open(spool.Config{Dir: filepath.Join(t.TempDir(), "spool")}, rec, st)
	if err != nil {
		t.Fatalf("open spool: %v", err)
	}
	t.Cleanup(func() { _ = sp.Close() })
	d, err := New(cfg, Options{Hostname: testHost, Spool: sp, Emit: rec, Stats: st})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(d.Stop)
	sp.OnQueued(d.EnqueueEntry)
	return &env{t: t, sp: sp, st: st, rec: rec, d: d}
}

// rcpts makes plain recipients.
func rcpts(addrs ...string) []pipeline.Recipient {
	out := make([]pipeline.Recipient, len(addrs))
	for i, a := range addrs {
		out[i] = pipeline.Recipient{Addr: a}
	}
	return out
}

// testContent is a small message with CRLF line ends and a line that needs
// dot-stuffing.
func testContent(subject string) []byte {
	return []byte("From: Sender <" + testSender + ">\r\n" +
		"To: someone@dest.test\r\n" +
		"Subject: " + subject + "\r\n" +
		"Message-ID: <" + subject + "@origin.test>\r\n" +
		"\r\n" +
		"Hello,\r\n" +
		".a line that starts with a dot\r\n" +
		"\r\n" +
		"bye\r\n")
}

// spoolMsg commits a message to the spool (which hands it to delivery).
func (e *env) spoolMsg(meta pipeline.Meta, content []byte) string {
	e.t.Helper()
	id := e.sp.NewID()
	dr, err := e.sp.NewDraft(id, len(meta.Envelope.Recipients))
	if err != nil {
		e.t.Fatalf("NewDraft: %v", err)
	}
	if _, err := dr.Write(content); err != nil {
		e.t.Fatalf("draft Write: %v", err)
	}
	if meta.Kind == "" {
		meta.Kind = pipeline.KindMail
	}
	if meta.Received.IsZero() {
		meta.Received = time.Now()
	}
	if err := dr.Commit(&meta); err != nil {
		e.t.Fatalf("Commit: %v", err)
	}
	return id
}

// send spools a plain message from testSender.
func (e *env) send(subject string, to ...string) string {
	e.t.Helper()
	return e.spoolMsg(pipeline.Meta{Envelope: pipeline.Envelope{From: testSender, Recipients: rcpts(to...)}}, testContent(subject))
}

// where returns the queue state holding id, or "".
func (e *env) where(id string) spool.QState {
	for _, st := range []spool.QState{spool.Incoming, spool.Active, spool.Deferred, spool.Hold, spool.Corrupt} {
		if _, err := os.Stat(filepath.Join(e.sp.Dir(), string(st), id)); err == nil {
			return st
		}
	}
	return ""
}

// queued lists every message in a queue state (or any).
func (e *env) queued() []string {
	var all []string
	for _, st := range append(spool.QueueStates(), spool.Corrupt) {
		ids, err := e.sp.List(st)
		if err != nil {
			e.t.Fatalf("List %s: %v", st, err)
		}
		all = append(all, ids...)
	}
	return all
}

// deferredState reads the state line of a deferred message, if it is there.
func (e *env) deferredState(id string) (spool.State, bool) {
	ent, err := spool.ReadFile(filepath.Join(e.sp.Dir(), string(spool.Deferred), id), false)
	if err != nil {
		return spool.State{}, false
	}
	return ent.State, true
}

// gone reports whether id has left the spool for good. Looking at the
// state directories alone could miss a message in the middle of a rename;
// but the deliverer moves a message only while it is in flight, and marks
// that under d.mu, so with d.mu held and id not in flight its file stays
// where it is while we look.
func (e *env) gone(id string) bool {
	e.d.mu.Lock()
	defer e.d.mu.Unlock()
	return !e.d.inflight[id] && e.where(id) == ""
}

// waitGone waits until id has left the spool.
func (e *env) waitGone(id string) {
	e.t.Helper()
	waitFor(e.t, 10*time.Second, "message "+id+" to leave the spool", func() bool { return e.gone(id) })
}

// waitIdle waits until the deliverer is not working on id.
func (e *env) waitIdle(id string) {
	e.t.Helper()
	waitFor(e.t, 10*time.Second, "message "+id+" to be out of delivery", func() bool {
		e.d.mu.Lock()
		defer e.d.mu.Unlock()
		return !e.d.inflight[id]
	})
}

// ---------------------------------------------------------------------------
// Polling.

// waitFor polls cond until it holds or the timeout passes.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// holdsFor checks that cond stays true for the whole of d (polling), for
// things that must not happen.
func holdsFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if !cond() {
			t.Fatalf("%s stopped holding", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// ---------------------------------------------------------------------------
// Files written by dir:// routes, and DSN parsing.

// dirFiles lists the finished files (not temporaries) in a dir:// target.
func dirFiles(t testing.TB, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatalf("read dir: %v", err)
	}
	var out []string
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".eml") && !strings.HasPrefix(e.Name(), ".") {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out
}

// waitDirFile waits for the first finished file in dir and returns its name
// and contents.
func waitDirFile(t testing.TB, dir string) (string, []byte) {
	t.Helper()
	var name string
	waitFor(t, 10*time.Second, "a file in "+dir, func() bool {
		fs := dirFiles(t, dir)
		if len(fs) > 0 {
			name = fs[0]
			return true
		}
		return false
	})
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return name, b
}

// parsedDSN is an RFC 3464 report taken apart.
type parsedDSN struct {
	Header      message.Header
	ReportType  string
	Parts       []dsnPart
	PerMessage  textproto.Header
	PerRcpt     []textproto.Header
	ReturnedRaw []byte
}

type dsnPart struct {
	Type string
	Body []byte
}

func (p parsedDSN) rcpt(t testing.TB, addr string) textproto.Header {
	t.Helper()
	for _, h := range p.PerRcpt {
		if strings.EqualFold(h.Get("Final-Recipient"), "rfc822; "+addr) {
			return h
		}
	}
	t.Fatalf("DSN has no Final-Recipient for %s", addr)
	return textproto.Header{}
}

// parseDSN parses a DSN with go-message and checks its overall shape.
func parseDSN(t testing.TB, raw []byte) parsedDSN {
	t.Helper()
	ent, err := message.Read(bytes.NewReader(raw))
	if err != nil && !message.IsUnknownCharset(err) {
		t.Fatalf("parse DSN: %v", err)
	}
	var p parsedDSN
	p.Header = ent.Header
	mt, params, err := ent.Header.ContentType()
	if err != nil {
		t.Fatalf("DSN Content-Type: %v", err)
	}
	if mt != "multipart/report" {
		t.Fatalf("DSN Content-Type is %q, want multipart/report", mt)
	}
	p.ReportType = params["report-type"]
	mr := ent.MultipartReader()
	if mr == nil {
		t.Fatal("DSN is not multipart")
	}
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil && !message.IsUnknownCharset(err) {
			t.Fatalf("DSN part: %v", err)
		}
		pt, _, _ := part.Header.ContentType()
		body, err := io.ReadAll(part.Body)
		if err != nil {
			t.Fatalf("read DSN part: %v", err)
		}
		p.Parts = append(p.Parts, dsnPart{Type: pt, Body: body})
	}
	if len(p.Parts) != 3 {
		t.Fatalf("DSN has %d parts, want 3", len(p.Parts))
	}
	if p.Parts[1].Type != "message/delivery-status" {
		t.Fatalf("DSN part 2 is %q, want message/delivery-status", p.Parts[1].Type)
	}
	blocks := strings.Split(strings.TrimRight(string(p.Parts[1].Body), "\r\n"), "\r\n\r\n")
	for i, b := range blocks {
		h, err := textproto.ReadHeader(bufio.NewReader(strings.NewReader(b + "\r\n\r\n")))
		if err != nil {
			t.Fatalf("delivery-status block %d: %v\n%s", i, err, b)
		}
		if i == 0 {
			p.PerMessage = h
		} else {
			p.PerRcpt = append(p.PerRcpt, h)
		}
	}
	p.ReturnedRaw = p.Parts[2].Body
	return p
}

// splitDirFile separates the envelope lines a dir:// route prepends.
func splitDirFile(t testing.TB, b []byte) (returnPath string, origTo []string, content []byte) {
	t.Helper()
	rest := b
	for {
		line, after, ok := bytes.Cut(rest, []byte("\r\n"))
		if !ok {
			t.Fatalf("dir file ends inside its envelope lines")
		}
		switch {
		case bytes.HasPrefix(line, []byte("Return-Path: ")):
			returnPath = string(bytes.TrimPrefix(line, []byte("Return-Path: ")))
		case bytes.HasPrefix(line, []byte("X-Original-To: ")):
			origTo = append(origTo, string(bytes.TrimPrefix(line, []byte("X-Original-To: "))))
		default:
			return returnPath, origTo, rest
		}
		rest = after
	}
}

func mustContain(t testing.TB, s, sub string) {
	t.Helper()
	if !strings.Contains(s, sub) {
		t.Fatalf("%q does not contain %q", s, sub)
	}
}

func fmtEvents(evs []telemetry.Event) string {
	var b strings.Builder
	for _, ev := range evs {
		fmt.Fprintf(&b, "  %s id=%s route=%s code=%d status=%s text=%q err=%q\n", ev.Type, ev.QueueID, ev.Route, ev.Code, ev.Status, ev.Text, ev.Err)
	}
	return b.String()
}
