package delivery

import (
	"bufio"
	"bytes"
	"net"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"

	"github.com/gatewatch/gatewatch/pipeline"
	"github.com/gatewatch/gatewatch/telemetry"
)

func TestOutcomeOf(t *testing.T) {
	for _, tc := range []struct {
		reply  pipeline.Reply
		o      outcome
		reason telemetry.Reason
	}{
		{pipeline.Reply{Code: 250, Enhanced: [3]int{2, 0, 0}}, delivered, ""},
		{pipeline.Reply{Code: 550, Enhanced: [3]int{5, 1, 1}}, failed, telemetry.ReasonRejected},
		{pipeline.Reply{Code: 451, Enhanced: [3]int{4, 7, 1}}, deferred, ""},
		{pipeline.Reply{Code: 421, Enhanced: [3]int{4, 4, 2}}, deferred, ""},
	} {
		if o, r, reason := outcomeOf(tc.reply); o != tc.o || r != tc.reply || reason != tc.reason {
			t.Errorf("outcomeOf(%v) = %v %v %q", tc.reply, o, r, reason)
		}
	}
}

func clientOn(input string) *smtpClient {
	return &smtpClient{r: bufio.NewReader(strings.NewReader(input)), ext: map[string]string{}}
}

func TestReadReply(t *testing.T) {
	cases := []struct {
		in   string
		want pipeline.Reply
	}{
		{"250 2.1.5 Ok\r\n", pipeline.Reply{Code: 250, Enhanced: [3]int{2, 1, 5}, Text: "Ok"}},
		{"550-5.1.1 No such\r\n550-5.1.1 user here\r\n550 5.1.1 sorry\r\n", pipeline.Reply{Code: 550, Enhanced: [3]int{5, 1, 1}, Text: "No such\nuser here\nsorry"}},
		{"554 no enhanced code\r\n", pipeline.Reply{Code: 554, Enhanced: [3]int{5, 0, 0}, Text: "no enhanced code"}},
		{"451 5.7.1 class differs: not taken\r\n", pipeline.Reply{Code: 451, Enhanced: [3]int{4, 0, 0}, Text: "5.7.1 class differs: not taken"}},
		{"250\r\n", pipeline.Reply{Code: 250, Enhanced: [3]int{2, 0, 0}}},
		{"354 End data with <CR><LF>.<CR><LF>\n", pipeline.Reply{Code: 354, Enhanced: [3]int{3, 0, 0}, Text: "End data with <CR><LF>.<CR><LF>"}},
	}
	for _, tc := range cases {
		got, err := clientOn(tc.in).readReply()
		if err != nil || got != tc.want {
			t.Errorf("readReply(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "25", "abc ok\r\n", "250-a\r\n251 b\r\n", "999 no\r\n", "250xok\r\n", "250 cut",
		strings.Repeat("250-x\r\n", maxReplyLines+1), "250 " + strings.Repeat("x", 5000) + "\r\n"} {
		if r, err := clientOn(bad).readReply(); err == nil {
			t.Errorf("readReply(%.40q) = %+v, want an error", bad, r)
		}
	}
}

func TestWriteDotStuffed(t *testing.T) {
	cases := map[string]string{
		"A: b\r\n\r\nbody\r\n":       "A: b\r\n\r\nbody\r\n.\r\n",
		".leading\r\n..two\r\n.\r\n": "..leading\r\n...two\r\n..\r\n.\r\n",
		"no final newline":           "no final newline\r\n.\r\n",
		"":                           ".\r\n",
		"mid.dot\r\n.x":              "mid.dot\r\n..x\r\n.\r\n",
	}
	for in, want := range cases {
		for _, chunk := range []int{1, 3, 1 << 16} {
			var out bytes.Buffer
			w := bufio.NewWriter(&out)
			if err := writeDotStuffed(w, iotest.OneByteReader(strings.NewReader(in)), make([]byte, chunk)); err != nil {
				t.Fatal(err)
			}
			w.Flush()
			if out.String() != want {
				t.Errorf("writeDotStuffed(%q) chunk %d = %q, want %q", in, chunk, out.String(), want)
			}
		}
	}
}

func TestXtext(t *testing.T) {
	for in, want := range map[string]string{"abc": "abc", "a+b=c": "a+2Bb+3Dc", "sp ace": "sp+20ace", "caf\xc3\xa9": "caf+C3+A9"} {
		if got := xtext(in); got != want {
			t.Errorf("xtext(%q) = %q, want %q", in, got, want)
		}
	}
}

// A whole pipelined conversation against a scripted next hop: the client
// sends MAIL, both RCPTs and DATA in one go, sends the content only because
// a recipient was accepted, and maps each reply.
func TestPipelinedConversation(t *testing.T) {
	server, client := net.Pipe()
	defer server.Close()
	script := make(chan string, 1)
	go func() {
		r := bufio.NewReader(server)
		var got strings.Builder
		say := func(s string) { _, _ = server.Write([]byte(s)) }
		say("220 hop ESMTP\r\n")
		l, _ := r.ReadString('\n')
		got.WriteString(l)
		say("250-hop\r\n250-PIPELINING\r\n250-DSN\r\n250-SIZE 1000\r\n250 8BITMIME\r\n")
		for i := 0; i < 4; i++ { // MAIL, RCPT, RCPT, DATA arrive before any reply
			l, _ := r.ReadString('\n')
			got.WriteString(l)
		}
		say("250 2.1.0 ok\r\n250 2.1.5 ok\r\n550 5.1.1 no such user\r\n354 go\r\n")
		for {
			l, err := r.ReadString('\n')
			if err != nil {
				break
			}
			got.WriteString(l)
			if l == ".\r\n" {
				break
			}
		}
		say("250 2.0.0 queued as X1\r\n")
		script <- got.String()
	}()
	tm := Timeouts{Connect: time.Second, Command: 5 * time.Second, Data: 5 * time.Second, Idle: time.Second}
	c, err := newSMTPClient(client, "gw.test.invalid", "hop", true, tm)
	if err != nil {
		t.Fatal(err)
	}
	if !c.has("PIPELINING") || c.maxSize() != 1000 || c.has("STARTTLS") {
		t.Fatalf("extensions = %v", c.ext)
	}
	env := pipeline.Envelope{From: "a@example.org", Ret: "HDRS", EnvID: "id+1"}
	rcpts := []pipeline.Recipient{{Addr: "ok@example.test", Notify: []string{"FAILURE"}, ORcpt: "orig@example.test", ORcptType: "rfc822"}, {Addr: "bad@example.test"}}
	tr, err := c.send(env, rcpts, strings.NewReader("Subject: x\r\n\r\n.dot\r\n"), 24, true)
	if err != nil {
		t.Fatal(err)
	}
	if tr.mail.Code != 250 || tr.rcpts[0].Code != 250 || tr.rcpts[1].Status() != "5.1.1" || tr.data.Text != "queued as X1" {
		t.Fatalf("transaction = %+v", tr)
	}
	wire := <-script
	want := "EHLO gw.test.invalid\r\n" +
		"MAIL FROM:<a@example.org> SIZE=24 BODY=8BITMIME RET=HDRS ENVID=id+2B1\r\n" +
		"RCPT TO:<ok@example.test> NOTIFY=FAILURE ORCPT=rfc822;orig@example.test\r\n" +
		"RCPT TO:<bad@example.test>\r\nDATA\r\nSubject: x\r\n\r\n..dot\r\n.\r\n"
	if wire != want {
		t.Errorf("on the wire:\n%q\nwant\n%q", wire, want)
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
