package delivery

import (
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/gatewatch/gatewatch/pipeline"
	"github.com/gatewatch/gatewatch/telemetry"
)

func TestClassify(t *testing.T) {
	cases := []struct {
		name   string
		err    error
		o      outcome
		reply  pipeline.Reply
		reason telemetry.Reason
		broken bool
	}{
		{"5xx with enhanced code", smtpErr(550, [3]int{5, 1, 1}, "No such user"), failed,
			pipeline.Reply{Code: 550, Enhanced: [3]int{5, 1, 1}, Text: "No such user"}, telemetry.ReasonRejected, false},
		{"5xx without enhanced code", &smtp.SMTPError{Code: 554, EnhancedCode: smtp.NoEnhancedCode, Message: "no"}, failed,
			pipeline.Reply{Code: 554, Enhanced: [3]int{5, 0, 0}, Text: "no"}, telemetry.ReasonRejected, false},
		{"5xx enhanced code not set", &smtp.SMTPError{Code: 552, Message: "too big"}, failed,
			pipeline.Reply{Code: 552, Enhanced: [3]int{5, 0, 0}, Text: "too big"}, telemetry.ReasonRejected, false},
		{"4xx", smtpErr(451, [3]int{4, 7, 1}, "later"), deferred,
			pipeline.Reply{Code: 451, Enhanced: [3]int{4, 7, 1}, Text: "later"}, "", false},
		{"421 closes", smtpErr(421, [3]int{4, 4, 2}, "bye"), deferred,
			pipeline.Reply{Code: 421, Enhanced: [3]int{4, 4, 2}, Text: "bye"}, "", true},
		{"wrapped 5xx", fmt.Errorf("send: %w", smtpErr(554, [3]int{5, 6, 0}, "bad content")), failed,
			pipeline.Reply{Code: 554, Enhanced: [3]int{5, 6, 0}, Text: "bad content"}, telemetry.ReasonRejected, false},
	}
	for _, tc := range cases {
		o, reply, reason, broken := classify(tc.err)
		if o != tc.o || reply != tc.reply || reason != tc.reason || broken != tc.broken {
			t.Errorf("%s: classify = %v %+v %q %v, want %v %+v %q %v", tc.name, o, reply, reason, broken, tc.o, tc.reply, tc.reason, tc.broken)
		}
	}
	// Anything that is not a reply means the connection is gone.
	for _, err := range []error{io.EOF, io.ErrUnexpectedEOF, &net.OpError{Op: "read", Err: errors.New("reset")}} {
		o, reply, reason, broken := classify(err)
		if o != deferred || !broken || reason != "" || reply.Code != 451 || reply.Status() != "4.4.2" {
			t.Errorf("classify(%v) = %v %+v %q %v", err, o, reply, reason, broken)
		}
		mustContain(t, reply.Text, err.Error())
	}
}

func TestReadReplyLine(t *testing.T) {
	r := strings.NewReader("220-first\r\n220-second\r\n220 Ready to start TLS\r\nNEXT")
	line, err := readReplyLine(r)
	if err != nil || line != "220 Ready to start TLS" {
		t.Fatalf("readReplyLine = %q, %v", line, err)
	}
	rest, _ := io.ReadAll(r)
	if string(rest) != "NEXT" {
		t.Errorf("readReplyLine consumed past the reply: rest %q", rest)
	}
	if l, err := readReplyLine(strings.NewReader("454 TLS not available\n")); err != nil || l != "454 TLS not available" {
		t.Errorf("bare LF: %q, %v", l, err)
	}
	if _, err := readReplyLine(strings.NewReader("220 cut")); err == nil {
		t.Error("a reply cut short gave no error")
	}
	if _, err := readReplyLine(strings.NewReader(strings.Repeat("x", 5000) + "\r\n")); err == nil {
		t.Error("an endless line gave no error")
	}
}

func TestGreetedConn(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	g := &greetedConn{Conn: a}
	go func() { _, _ = b.Write([]byte("250 after\r\n")) }()
	var got []byte
	buf := make([]byte, 5) // small reads: the greeting spans several
	for !strings.HasSuffix(string(got), "250 after\r\n") {
		n, err := g.Read(buf)
		if err != nil {
			t.Fatalf("read: %v (so far %q)", err, got)
		}
		got = append(got, buf[:n]...)
	}
	if string(got) != "220 TLS session ready\r\n250 after\r\n" {
		t.Errorf("read %q", got)
	}
}

func TestFIFO(t *testing.T) {
	q := newFIFO[int]()
	if _, ok := q.pop(); ok {
		t.Fatal("pop from empty queue")
	}
	for i := 0; i < 5; i++ {
		q.push(i)
	}
	if q.len() != 5 {
		t.Fatalf("len %d", q.len())
	}
	for i := 0; i < 5; i++ {
		v, ok := q.pop()
		if !ok || v != i {
			t.Fatalf("pop %d = %d, %v", i, v, ok)
		}
	}
	if q.len() != 0 {
		t.Fatalf("len %d after draining", q.len())
	}

	// Many consumers waiting on ready() all get work: none is left
	// asleep while items remain.
	const consumers, items = 4, 2000
	var wg sync.WaitGroup
	var mu sync.Mutex
	seen := map[int]bool{}
	stop := make(chan struct{})
	for c := 0; c < consumers; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				v, ok := q.pop()
				if !ok {
					select {
					case <-q.ready():
						continue
					case <-stop:
						return
					}
				}
				mu.Lock()
				if seen[v] {
					t.Errorf("item %d popped twice", v)
				}
				seen[v] = true
				mu.Unlock()
			}
		}()
	}
	for i := 0; i < items; i++ {
		q.push(i)
	}
	waitFor(t, 5*time.Second, "all items consumed", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(seen) == items
	})
	close(stop)
	wg.Wait()
}
