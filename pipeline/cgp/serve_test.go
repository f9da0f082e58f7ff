package cgp

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// waitLimit bounds every wait in these tests; reaching it is a failure, not
// a way to let something happen.
const waitLimit = 10 * time.Second

// harness plays CGP: it writes request lines into Serve and reads its
// answer lines back.
type harness struct {
	t     *testing.T
	in    *io.PipeWriter
	lines chan string
	done  chan error
}

func startServe(t *testing.T, ctx context.Context, j Judge, opts Options, h hooks) *harness {
	t.Helper()
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	hs := &harness{t: t, in: inW, lines: make(chan string, 1000), done: make(chan error, 1)}
	go func() {
		err := serve(ctx, inR, outW, j, opts, h)
		outW.Close()
		hs.done <- err
	}()
	go func() {
		defer close(hs.lines)
		sc := bufio.NewScanner(outR)
		for sc.Scan() {
			hs.lines <- sc.Text()
		}
	}()
	t.Cleanup(func() {
		inW.Close()
		inR.Close()
		outR.Close()
	})
	return hs
}

func (h *harness) send(lines ...string) {
	h.t.Helper()
	for _, l := range lines {
		if _, err := io.WriteString(h.in, l+"\n"); err != nil {
			h.t.Fatalf("send %.40q: %v", l, err)
		}
	}
}

func (h *harness) next() string {
	h.t.Helper()
	select {
	case l, ok := <-h.lines:
		if !ok {
			h.t.Fatal("Serve's output ended")
		}
		return l
	case <-time.After(waitLimit):
		h.t.Fatal("no answer line in time")
	}
	return ""
}

func (h *harness) expect(want ...string) {
	h.t.Helper()
	for _, w := range want {
		if got := h.next(); got != w {
			h.t.Fatalf("answer %q, want %q", got, w)
		}
	}
}

// expectPrefix reads one line that starts with prefix (a comment whose
// detail holds a temporary path or an OS message).
func (h *harness) expectPrefix(prefix string) {
	h.t.Helper()
	if got := h.next(); !strings.HasPrefix(got, prefix) {
		h.t.Fatalf("answer %q, want it to start with %q", got, prefix)
	}
}

func (h *harness) wait() error {
	h.t.Helper()
	select {
	case err := <-h.done:
		return err
	case <-time.After(waitLimit):
		h.t.Fatal("Serve did not return")
	}
	return nil
}

// noMoreLines checks Serve wrote nothing after what was read.
func (h *harness) noMoreLines() {
	h.t.Helper()
	for l := range h.lines {
		h.t.Errorf("unexpected answer %q", l)
	}
}

// queueFile writes a queue file in CGP's format and returns its name.
func queueFile(t *testing.T, dir, name, from string, rcpts []string, ip, subject string) string {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "P I 02-03-2024 11:04:59 0000 ____ ____ <%s>\n", from)
	b.WriteString("O T\n")
	if ip != "" {
		fmt.Fprintf(&b, "S SMTP [%s]\n", ip)
	}
	for _, r := range rcpts {
		fmt.Fprintf(&b, "R W 02-03-2024 11:04:59 0000 ____ _FY_ <%s>\n", r)
	}
	fmt.Fprintf(&b, "\nFrom: <%s>\nTo: %s\nSubject: %s\n\nbody\n", from, strings.Join(rcpts, ", "), subject)
	writeFile(t, filepath.Join(dir, name), b.String())
	return name
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func subjectOf(raw []byte) string {
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return ""
	}
	return m.Header.Get("Subject")
}

// judgeFunc adapts a function to Judge.
type judgeFunc func(ctx context.Context, env Envelope, raw []byte) (Verdict, error)

func (f judgeFunc) Judge(ctx context.Context, env Envelope, raw []byte) (Verdict, error) {
	return f(ctx, env, raw)
}

// policyJudge decides by subject and recipient, like a small gateway
// policy, and remembers the envelopes it saw.
type policyJudge struct {
	mu   sync.Mutex
	seen map[string]Envelope // by QueueID
}

func (p *policyJudge) Judge(_ context.Context, env Envelope, raw []byte) (Verdict, error) {
	p.mu.Lock()
	if p.seen == nil {
		p.seen = map[string]Envelope{}
	}
	p.seen[env.QueueID] = env
	p.mu.Unlock()
	if slices.Contains(env.Recipients, "trap@example.net") {
		return Verdict{Action: ActionReject, Text: "recipient is a spam trap\r\n1 OK"}, nil
	}
	switch s := subjectOf(raw); s {
	case "clean":
		return Verdict{Action: ActionOK}, nil
	case "tag":
		return Verdict{Action: ActionOK, AddHeaders: []string{
			"X-Gatewatch-Score: 3.2",
			`X-Gatewatch-Report: rule "FOO" \ matched`,
			"X-Gatewatch-Folded: first\r\n second",
		}}, nil
	case "virus":
		return Verdict{Action: ActionDiscard}, nil
	case "spam":
		return Verdict{Action: ActionReject, Text: "spam"}, nil
	case "offline":
		return Verdict{Action: ActionError, Text: "virus engine offline"}, nil
	case "boom":
		return Verdict{}, errors.New("scanner crashed")
	case "panic":
		panic("judge bug")
	case "odd":
		return Verdict{Action: Action(42)}, nil
	default:
		return Verdict{}, fmt.Errorf("test judge: unexpected subject %q", s)
	}
}

func TestServeSession(t *testing.T) {
	base := t.TempDir()
	queueFile(t, base, "Queue/1001.msg", "ann@example.org", []string{"bob@example.net", "carol@example.net"}, "203.0.113.7", "clean")
	queueFile(t, base, "Queue/1002.msg", "", []string{"bob@example.net"}, "", "tag")
	queueFile(t, base, "Queue/1003.msg", "x@example.org", []string{"bob@example.net"}, "198.51.100.1", "virus")
	queueFile(t, base, "Queue/1004.msg", "x@example.org", []string{"bob@example.net"}, "", "spam")
	queueFile(t, base, "Queue/1005.msg", "x@example.org", []string{"a@example.net", "trap@example.net"}, "", "clean")
	queueFile(t, base, "Queue/1006.msg", "x@example.org", []string{"bob@example.net"}, "", "offline")
	abs := filepath.Join(base, queueFile(t, base, "Other/abs 1.msg", "y@example.org", []string{"bob@example.net"}, "2001:db8::7", "clean"))

	j := &policyJudge{}
	h := startServe(t, context.Background(), j, Options{BaseDir: base}, hooks{})
	h.send("1 INTF 3")
	h.expect("1 INTF 3")
	h.send("2 FILE Queue/1001.msg")
	h.expect("2 OK")
	h.send("30 FILE Queue/1002.msg")
	h.expect(`30 ADDHEADER "X-Gatewatch-Score: 3.2\eX-Gatewatch-Report: rule \"FOO\" \\ matched\eX-Gatewatch-Folded: first\e second" OK`)
	h.send("4 FILE Queue/1003.msg")
	h.expect("4 DISCARD")
	h.send("5 FILE Queue/1004.msg")
	h.expect("5 REJECTED spam")
	h.send("6 FILE Queue/1005.msg")
	h.expect(`6 REJECTED "recipient is a spam trap 1 OK"`)
	h.send("7 FILE Queue/1006.msg")
	h.expect(`7 ERROR "virus engine offline"`)
	h.send("8 FILE " + quote(abs))
	h.expect("8 OK")
	h.send("9 QUIT")
	h.expect("9 OK")
	if err := h.wait(); err != nil {
		t.Fatalf("Serve = %v, want nil", err)
	}
	h.noMoreLines()

	want := map[string]Envelope{
		"1001": {From: "ann@example.org", Recipients: []string{"bob@example.net", "carol@example.net"}, ClientIP: "203.0.113.7", QueueID: "1001"},
		"1002": {From: "", Recipients: []string{"bob@example.net"}, QueueID: "1002"},
		// "abs 1" is not a plain token: no queue ID is made up for it
		"": {From: "y@example.org", Recipients: []string{"bob@example.net"}, ClientIP: "2001:db8::7"},
	}
	for id, w := range want {
		got, ok := j.seen[id]
		if !ok {
			t.Errorf("no request judged with queue ID %q", id)
			continue
		}
		if got.From != w.From || !slices.Equal(got.Recipients, w.Recipients) || got.ClientIP != w.ClientIP || got.QueueID != w.QueueID {
			t.Errorf("envelope for %q = %+v, want %+v", id, got, w)
		}
	}
}

// TestServeMalformed sends one bad request of each kind, each answered and
// none ending the session, and a good one after all of them.
func TestServeMalformed(t *testing.T) {
	base := t.TempDir()
	queueFile(t, base, "boom.msg", "x@example.org", []string{"b@example.net"}, "", "boom")
	queueFile(t, base, "panic.msg", "x@example.org", []string{"b@example.net"}, "", "panic")
	queueFile(t, base, "odd.msg", "x@example.org", []string{"b@example.net"}, "", "odd")
	queueFile(t, base, "good.msg", "x@example.org", []string{"b@example.net"}, "", "clean")
	writeFile(t, filepath.Join(base, "big.msg"), "P <a@b>\nR <c@d>\n\nSubject: clean\n\n"+strings.Repeat("x", 5000))
	writeFile(t, filepath.Join(base, "noblank.msg"), "P <a@b>\nR <c@d>\n")
	writeFile(t, filepath.Join(base, "bare.msg"), "From: a@b\nSubject: clean\n\nbody\n")

	h := startServe(t, context.Background(), &policyJudge{}, Options{BaseDir: base, MaxMessage: 4096}, hooks{})
	h.send("garbage")
	h.expectPrefix("* gatewatch: malformed request ignored: ")
	h.send("12")
	h.expect(`12 ERROR "request has no command"`)
	h.send("13 FILE")
	h.expect(`13 ERROR "FILE: missing file name"`)
	h.send("14 FILE " + strings.Repeat("a", 100<<10))
	h.expect(`14 ERROR "request line longer than 65536 bytes"`)
	h.send(strings.Repeat("z", 100<<10))
	h.expectPrefix("* gatewatch: malformed request ignored: request line longer")
	h.send("15 FILE missing.msg")
	h.expectPrefix("* gatewatch: request 15: open " + filepath.Join(base, "missing.msg"))
	h.expect(`15 ERROR "cannot read message file"`)
	h.send("16 FILE boom.msg")
	h.expect("* gatewatch: request 16: judge: scanner crashed", `16 ERROR "scan failed"`)
	h.send("17 FILE big.msg")
	h.expectPrefix("* gatewatch: request 17: " + filepath.Join(base, "big.msg") + ": message file too large")
	h.expect(`17 ERROR "message file too large"`)
	h.send("18 FILE noblank.msg")
	h.expect("* gatewatch: request 18: noblank.msg: cgp: queue file has no empty line after the envelope", `18 ERROR "malformed queue file"`)
	h.send("19 FILE bare.msg")
	h.expectPrefix("* gatewatch: request 19: bare.msg: cgp: queue file envelope line 1: ")
	h.expect(`19 ERROR "malformed queue file"`)
	h.send("20 FROB x")
	h.expect(`20 ERROR "unknown command"`)
	h.send("21 FILE panic.msg")
	h.expect("* gatewatch: request 21: judge: panicked: judge bug", `21 ERROR "scan failed"`)
	h.send("22 FILE odd.msg")
	h.expect("* gatewatch: request 22: judge returned unknown action(42)", `22 ERROR "invalid verdict"`)
	h.send("23 FILE a\x01b")
	h.expect(`23 ERROR "request has control character '\\x01'"`)
	// The longest line accepted: the request is read, only the file is
	// missing.
	long := "26 FILE " + strings.Repeat("b", maxLine-len("26 FILE "))
	h.send(long)
	h.expectPrefix("* gatewatch: request 26: open ")
	h.expect(`26 ERROR "cannot read message file"`)
	h.send("", " \t", "24 FILE good.msg")
	h.expect("24 OK")
	h.send("25 QUIT")
	h.expect("25 OK")
	if err := h.wait(); err != nil {
		t.Fatalf("Serve = %v, want nil", err)
	}
	h.noMoreLines()
}

func TestServeTimeout(t *testing.T) {
	base := t.TempDir()
	queueFile(t, base, "polite.msg", "x@example.org", []string{"b@example.net"}, "", "polite")
	queueFile(t, base, "deaf.msg", "x@example.org", []string{"b@example.net"}, "", "deaf")
	deaf := make(chan struct{})
	defer close(deaf)
	j := judgeFunc(func(ctx context.Context, _ Envelope, raw []byte) (Verdict, error) {
		if subjectOf(raw) == "deaf" {
			<-deaf // ignores ctx: the answer must not wait for it
			return Verdict{}, nil
		}
		<-ctx.Done()
		return Verdict{}, ctx.Err()
	})
	h := startServe(t, context.Background(), j, Options{BaseDir: base, Timeout: 50 * time.Millisecond}, hooks{})
	h.send("1 FILE polite.msg")
	h.expect("* gatewatch: request 1: no verdict within 50ms", `1 ERROR "scan timed out"`)
	h.send("2 FILE deaf.msg")
	h.expect("* gatewatch: request 2: no verdict within 50ms", `2 ERROR "scan timed out"`)
	h.send("3 QUIT")
	h.expect("3 OK")
	if err := h.wait(); err != nil {
		t.Fatal(err)
	}
}

// barrierJudge holds every request until all n are inside, then lets each
// go when the test releases its queue ID.
type barrierJudge struct {
	n        int
	entered  chan string
	allIn    chan struct{}
	release  map[string]chan struct{}
	inside   atomic.Int32
	maxInner atomic.Int32
}

func newBarrierJudge(n int) *barrierJudge {
	b := &barrierJudge{n: n, entered: make(chan string, n), allIn: make(chan struct{}), release: map[string]chan struct{}{}}
	for i := range n {
		b.release[fmt.Sprintf("q%d", i)] = make(chan struct{})
	}
	return b
}

func (b *barrierJudge) Judge(ctx context.Context, env Envelope, _ []byte) (Verdict, error) {
	cur := b.inside.Add(1)
	defer b.inside.Add(-1)
	for {
		m := b.maxInner.Load()
		if cur <= m || b.maxInner.CompareAndSwap(m, cur) {
			break
		}
	}
	b.entered <- env.QueueID
	deadline := time.NewTimer(waitLimit)
	defer deadline.Stop()
	select {
	case <-b.allIn:
	case <-deadline.C:
		return Verdict{}, errors.New("barrier: not all requests got inside")
	}
	select {
	case <-b.release[env.QueueID]:
	case <-deadline.C:
		return Verdict{}, errors.New("barrier: never released")
	}
	return Verdict{Action: ActionOK, AddHeaders: []string{"X-Queue: " + env.QueueID}}, nil
}

var answerLine = regexp.MustCompile(`^(1[0-9][0-9]) ADDHEADER "X-Queue: q([0-9]+)" OK$`)

func TestServeConcurrent(t *testing.T) {
	const n = 20
	base := t.TempDir()
	var reqs []string
	for i := range n {
		queueFile(t, base, fmt.Sprintf("q%d.msg", i), "x@example.org", []string{"b@example.net"}, "", "clean")
		reqs = append(reqs, fmt.Sprintf("%d FILE q%d.msg", 100+i, i))
	}
	j := newBarrierJudge(n)
	h := startServe(t, context.Background(), j, Options{BaseDir: base, Concurrency: n}, hooks{})
	h.send(reqs...)
	for range n {
		select {
		case <-j.entered:
		case <-time.After(waitLimit):
			t.Fatalf("only %d of %d requests reached the judge", j.inside.Load(), n)
		}
	}
	close(j.allIn)
	// Release in reverse order and read each answer before the next
	// release: the answers must come in that order, not in request order.
	for i := n - 1; i >= 0; i-- {
		close(j.release[fmt.Sprintf("q%d", i)])
		line := h.next()
		m := answerLine.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("answer %q is not one whole ADDHEADER line", line)
		}
		if m[1] != fmt.Sprint(100+i) || m[2] != fmt.Sprint(i) {
			t.Fatalf("answer %q, want the one for request %d (q%d)", line, 100+i, i)
		}
	}
	h.send("999 QUIT")
	h.expect("999 OK")
	if err := h.wait(); err != nil {
		t.Fatal(err)
	}
	if got := j.maxInner.Load(); got != n {
		t.Errorf("at most %d judges ran at once, want %d", got, n)
	}
}

func TestServeConcurrencyLimit(t *testing.T) {
	const n, limit = 10, 2
	base := t.TempDir()
	var reqs []string
	for i := range n {
		queueFile(t, base, fmt.Sprintf("q%d.msg", i), "x@example.org", []string{"b@example.net"}, "", "clean")
		reqs = append(reqs, fmt.Sprintf("%d FILE q%d.msg", i+1, i))
	}
	var inside, most atomic.Int32
	entered := make(chan struct{}, n)
	release := make(chan struct{})
	j := judgeFunc(func(ctx context.Context, _ Envelope, _ []byte) (Verdict, error) {
		cur := inside.Add(1)
		defer inside.Add(-1)
		for {
			m := most.Load()
			if cur <= m || most.CompareAndSwap(m, cur) {
				break
			}
		}
		entered <- struct{}{}
		select {
		case <-release:
			return Verdict{}, nil
		case <-time.After(waitLimit):
			return Verdict{}, errors.New("never released")
		}
	})
	h := startServe(t, context.Background(), j, Options{BaseDir: base, Concurrency: limit}, hooks{})
	h.send(reqs...)
	waitEntered := func() {
		t.Helper()
		select {
		case <-entered:
		case <-time.After(waitLimit):
			t.Fatal("no request reached the judge")
		}
	}
	// Fill both slots, then free one at a time: every release lets exactly
	// one more request in while the other slot stays taken.
	waitEntered()
	waitEntered()
	for i := range n {
		release <- struct{}{}
		if i < n-limit {
			waitEntered()
		}
	}
	seen := map[string]bool{}
	for range n {
		line := h.next()
		seq, rest, _ := strings.Cut(line, " ")
		if rest != "OK" || seen[seq] {
			t.Fatalf("answer %q", line)
		}
		seen[seq] = true
	}
	h.send("99 QUIT")
	h.expect("99 OK")
	if err := h.wait(); err != nil {
		t.Fatal(err)
	}
	if got := most.Load(); got != limit {
		t.Errorf("at most %d judges ran at once, want %d", got, limit)
	}
}

func TestServeQuitWaitsForInFlight(t *testing.T) {
	base := t.TempDir()
	queueFile(t, base, "slow.msg", "x@example.org", []string{"b@example.net"}, "", "slow")
	entered := make(chan struct{})
	release := make(chan struct{})
	j := judgeFunc(func(context.Context, Envelope, []byte) (Verdict, error) {
		close(entered)
		<-release
		return Verdict{Action: ActionDiscard}, nil
	})
	quitRead := make(chan struct{})
	h := startServe(t, context.Background(), j, Options{BaseDir: base}, hooks{quitRead: func() { close(quitRead) }})
	h.send("1 FILE slow.msg")
	<-entered
	h.send("2 QUIT")
	select {
	case <-quitRead:
	case <-time.After(waitLimit):
		t.Fatal("QUIT was not read")
	}
	if len(h.lines) != 0 {
		t.Fatalf("answered %q before the request in flight finished", <-h.lines)
	}
	close(release)
	h.expect("1 DISCARD", "2 OK")
	if err := h.wait(); err != nil {
		t.Fatalf("Serve = %v, want nil", err)
	}
	h.noMoreLines()
}

func TestServeEOFAnswersInFlight(t *testing.T) {
	base := t.TempDir()
	queueFile(t, base, "a.msg", "x@example.org", []string{"b@example.net"}, "", "clean")
	entered := make(chan struct{})
	release := make(chan struct{})
	j := judgeFunc(func(context.Context, Envelope, []byte) (Verdict, error) {
		close(entered)
		<-release
		return Verdict{Action: ActionReject, Text: "no"}, nil
	})
	h := startServe(t, context.Background(), j, Options{BaseDir: base}, hooks{})
	if _, err := io.WriteString(h.in, "1 FILE a.msg"); err != nil { // the last line may lack its line end
		t.Fatal(err)
	}
	h.in.Close()
	<-entered
	close(release)
	h.expect("1 REJECTED no")
	if err := h.wait(); err != nil {
		t.Fatalf("Serve = %v, want nil", err)
	}
	h.noMoreLines()
}

func TestServeContextEnds(t *testing.T) {
	base := t.TempDir()
	queueFile(t, base, "a.msg", "x@example.org", []string{"b@example.net"}, "", "clean")
	entered := make(chan struct{})
	j := judgeFunc(func(ctx context.Context, _ Envelope, _ []byte) (Verdict, error) {
		close(entered)
		<-ctx.Done()
		return Verdict{}, ctx.Err()
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h := startServe(t, ctx, j, Options{BaseDir: base}, hooks{})
	h.send("1 INTF 4")
	h.expect("1 INTF 3")
	h.send("2 FILE a.msg")
	<-entered
	cancel()
	if err := h.wait(); !errors.Is(err, context.Canceled) {
		t.Fatalf("Serve = %v, want context.Canceled", err)
	}
	h.noMoreLines() // the request in flight is left for CGP to send again
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("broken pipe") }

func TestServeWriteFails(t *testing.T) {
	err := Serve(context.Background(), strings.NewReader("1 INTF 3\n2 INTF 3\n"), failingWriter{}, &policyJudge{}, Options{})
	if err == nil || !strings.Contains(err.Error(), "cgp: write response: broken pipe") {
		t.Fatalf("Serve = %v, want the write error", err)
	}
}

func TestServeDoneContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out bytes.Buffer
	if err := Serve(ctx, strings.NewReader("1 INTF 3\n"), &out, &policyJudge{}, Options{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Serve = %v", err)
	}
	if out.Len() != 0 {
		t.Errorf("wrote %q", out.String())
	}
}

func TestQueueID(t *testing.T) {
	for path, want := range map[string]string{
		"Queue/12345.msg":        "12345",
		`Queue\12345.msg`:        "12345",
		"/abs/Queue/a-b_c.d.msg": "a-b_c.d",
		"x/with space.msg":       "",
		"x/.msg":                 "",
		"plain":                  "plain",
	} {
		if got := queueID(path); got != want {
			t.Errorf("queueID(%q) = %q, want %q", path, got, want)
		}
	}
}
