package smtpin

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gatewatch/gatewatch/pipeline"
	"github.com/gatewatch/gatewatch/pipeline/spool"
	"github.com/gatewatch/gatewatch/telemetry"
)

const simpleMessage = "From: <a@example.org>\r\nTo: <b@example.test>\r\nSubject: hello\r\n\r\nbody line 1\r\nbody line 2\r\n"

func TestAcceptedMessageIsSpooledWithTraceHeaders(t *testing.T) {
	h := start(t, nil)
	c := greeted(t, h.addr)
	c.expect(250, "EHLO client.example.org")
	code, text := c.sendMessage("a@example.org", []string{"b@example.test"}, simpleMessage)
	if code != 250 || !strings.Contains(text, "queued as") {
		t.Fatalf("DATA: %d %s", code, text)
	}
	id := queueID(t, text)
	e, err := h.sp.Load(spool.Incoming, id)
	if err != nil {
		t.Fatalf("message %s not in incoming: %v", id, err)
	}
	cont, err := e.OpenContent()
	if err != nil {
		t.Fatal(err)
	}
	defer cont.Close()
	got, _ := io.ReadAll(cont)
	if !bytes.HasSuffix(got, []byte(simpleMessage)) {
		t.Fatalf("content does not end with the message as sent:\n%s", got)
	}
	top := string(got[:len(got)-len(simpleMessage)])
	for _, want := range []string{"Received: from client.example.org ([127.0.0.1])", "by gw.test.invalid (Gatewatch) with ESMTP id " + id,
		"for <b@example.test>;", "X-Gatewatch-ID: " + id + "\r\n"} {
		if !strings.Contains(top, want) {
			t.Errorf("trace header lacks %q:\n%s", want, top)
		}
	}
	if e.Meta.Envelope.From != "a@example.org" || len(e.Meta.Envelope.Recipients) != 1 || e.Meta.Client.Helo != "client.example.org" {
		t.Errorf("meta = %+v", e.Meta)
	}
	acc := h.ev.OfType(telemetry.MessageAccepted)
	if len(acc) != 1 || acc[0].QueueID != id || acc[0].Size != int64(len(simpleMessage)) || acc[0].Recipients != 1 {
		t.Fatalf("accepted events = %+v", acc)
	}
	if v := h.st.ReceivedMessages.Load(); v != 1 {
		t.Errorf("received messages = %d", v)
	}
	if v := h.st.ReceivedBytes.Load(); v != uint64(len(simpleMessage)) {
		t.Errorf("received bytes = %d, want the %d the client sent", v, len(simpleMessage))
	}
}

func TestRelayControl(t *testing.T) {
	cases := []struct {
		name    string
		relay   []string
		rcpt    string
		code    int
		reason  telemetry.Reason
		enhance string
	}{
		{"protected domain from anyone", []string{"10.0.0.0/8"}, "user@example.test", 250, "", ""},
		{"protected subdomain wildcard", []string{"10.0.0.0/8"}, "user@mx.sub.example.test", 250, "", ""},
		{"protected domain case and trailing dot", []string{"10.0.0.0/8"}, "user@EXAMPLE.Test.", 250, "", ""},
		{"foreign domain refused", []string{"10.0.0.0/8"}, "user@elsewhere.example", 554, telemetry.ReasonRelayDenied, "5.7.1"},
		{"lookalike suffix refused", []string{"10.0.0.0/8"}, "user@notexample.test", 554, telemetry.ReasonRelayDenied, "5.7.1"},
		{"percent hack refused", []string{"10.0.0.0/8"}, "user%elsewhere.example@example.test", 554, telemetry.ReasonSenderRouting, "5.7.1"},
		{"bang path refused", []string{"10.0.0.0/8"}, "elsewhere.example!user@example.test", 554, telemetry.ReasonSenderRouting, "5.7.1"},
		{"quoted at refused", []string{"10.0.0.0/8"}, `"user@elsewhere.example"@example.test`, 554, telemetry.ReasonSenderRouting, "5.7.1"},
		{"source route refused", []string{"10.0.0.0/8"}, "@relay.example:user@example.test", 554, telemetry.ReasonSenderRouting, "5.7.1"},
		{"relay network may relay", []string{"127.0.0.0/8"}, "user@elsewhere.example", 250, "", ""},
		{"relay network may route", []string{"127.0.0.0/8"}, "user%elsewhere.example@example.test", 250, "", ""},
		{"relay network source route", []string{"127.0.0.0/8"}, "@relay.example:user@example.test", 250, "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := start(t, func(c *Config) { c.RelayNetworks = tc.relay })
			c := greeted(t, h.addr)
			c.expect(250, "EHLO client.example.org")
			c.expect(250, "MAIL FROM:<a@example.org>")
			code, text := c.cmd("RCPT TO:<%s>", tc.rcpt)
			if code != tc.code {
				t.Fatalf("RCPT %s: %d %s, want %d", tc.rcpt, code, text, tc.code)
			}
			if tc.enhance != "" && !strings.HasPrefix(text, tc.enhance+" ") {
				t.Errorf("reply %q lacks enhanced code %s", text, tc.enhance)
			}
			if tc.reason != "" {
				if n := h.st.Refused.With(string(tc.reason)).Load(); n != 1 {
					t.Errorf("refused{%s} = %d, want 1", tc.reason, n)
				}
			}
			// The session goes on after a refusal.
			c.expect(250, "NOOP")
		})
	}
}

func TestSizeLimitAtMailAndData(t *testing.T) {
	h := start(t, func(c *Config) { c.Limits.MaxMessageSize = 2000 })
	c := greeted(t, h.addr)
	ehlo := c.expect(250, "EHLO client")
	if !strings.Contains(ehlo, "SIZE 2000") {
		t.Fatalf("EHLO does not advertise SIZE 2000:\n%s", ehlo)
	}
	code, text := c.cmd("MAIL FROM:<a@example.org> SIZE=5000")
	if code != 552 || !strings.HasPrefix(text, "5.3.4") {
		t.Fatalf("MAIL SIZE=5000: %d %s", code, text)
	}
	waitFor(t, "refusal at MAIL counted", time.Second, func() bool {
		return h.st.Refused.With(string(telemetry.ReasonMessageSize)).Load() == 1
	})
	big := simpleMessage + strings.Repeat("x", 3000) + "\r\n"
	code, text = c.sendMessage("a@example.org", []string{"b@example.test"}, big)
	if code != 552 || !strings.HasPrefix(text, "5.3.4") {
		t.Fatalf("oversize DATA: %d %s", code, text)
	}
	if n := h.st.Refused.With(string(telemetry.ReasonMessageSize)).Load(); n != 2 {
		t.Errorf("size refusals = %d, want 2", n)
	}
	// Nothing was queued, nothing left behind, and the session still works.
	if ids, _ := h.sp.List(spool.Incoming); len(ids) != 0 {
		t.Errorf("queued after refusal: %v", ids)
	}
	code, _ = c.sendMessage("a@example.org", []string{"b@example.test"}, simpleMessage)
	if code != 250 {
		t.Fatalf("small message after refusal: %d", code)
	}
}

func TestRecipientLimitWithTenThousandPipelined(t *testing.T) {
	h := start(t, func(c *Config) { c.Limits.MaxRecipients = 50 })
	c := greeted(t, h.addr)
	c.expect(250, "EHLO client")
	var b strings.Builder
	b.WriteString("MAIL FROM:<a@example.org>\r\n")
	for i := 0; i < 10000; i++ {
		fmt.Fprintf(&b, "RCPT TO:<user%d@example.test>\r\n", i)
	}
	go c.conn.Write([]byte(b.String())) // pipelined: replies are read meanwhile
	if code, _ := c.reply(); code != 250 {
		t.Fatalf("MAIL: %d", code)
	}
	ok, limited := 0, 0
	for i := 0; i < 10000; i++ {
		code, text := c.reply()
		switch {
		case code == 250:
			ok++
		case code == 452 && strings.HasPrefix(text, "4.5.3"):
			limited++
		default:
			t.Fatalf("reply %d: %d %s", i, code, text)
		}
	}
	if ok != 50 || limited != 9950 {
		t.Fatalf("accepted %d, limited %d; want 50 and 9950", ok, limited)
	}
	c.expect(354, "DATA")
	c.send(simpleMessage + ".\r\n")
	if code, text := c.reply(); code != 250 {
		t.Fatalf("DATA after limit: %d %s", code, text)
	}
	waitFor(t, "recipient refusals counted", time.Second, func() bool {
		return h.st.Refused.With(string(telemetry.ReasonRecipientsLimit)).Load() == 9950
	})
}

func TestMessagesPerSessionLimit(t *testing.T) {
	h := start(t, func(c *Config) { c.Limits.MaxMessagesPerSession = 2 })
	c := greeted(t, h.addr)
	c.expect(250, "EHLO client")
	for i := 0; i < 2; i++ {
		if code, _ := c.sendMessage("a@example.org", []string{"b@example.test"}, simpleMessage); code != 250 {
			t.Fatalf("message %d: %d", i, code)
		}
	}
	code, text := c.cmd("MAIL FROM:<a@example.org>")
	if code != 451 || !strings.HasPrefix(text, "4.7.0") {
		t.Fatalf("third MAIL: %d %s", code, text)
	}
	if n := h.st.Refused.With(string(telemetry.ReasonMessagesPerSession)).Load(); n != 1 {
		t.Errorf("refusals = %d", n)
	}
	// A new connection may send again.
	c2 := greeted(t, h.addr)
	c2.expect(250, "EHLO client")
	if code, _ := c2.sendMessage("a@example.org", []string{"b@example.test"}, simpleMessage); code != 250 {
		t.Fatalf("new session: %d", code)
	}
}

func TestConnectionLimits(t *testing.T) {
	t.Run("total", func(t *testing.T) {
		h := start(t, func(c *Config) { c.Limits.MaxConnections = 3 })
		for i := 0; i < 3; i++ {
			greeted(t, h.addr)
		}
		c := dial(t, h.addr)
		code, text := c.reply()
		if code != 421 || !strings.HasPrefix(text, "4.7.0") {
			t.Fatalf("4th connection: %d %s", code, text)
		}
		if !c.closed() {
			t.Error("refused connection left open")
		}
		if n := h.st.Refused.With(string(telemetry.ReasonConnectionLimit)).Load(); n != 1 {
			t.Errorf("refusals = %d", n)
		}
	})
	t.Run("per IP, trusted exempt", func(t *testing.T) {
		h := start(t, func(c *Config) { c.Limits.MaxConnectionsPerIP = 2; c.RelayNetworks = []string{"10.0.0.0/8"} })
		first := greeted(t, h.addr)
		greeted(t, h.addr)
		c := dial(t, h.addr)
		if code, text := c.reply(); code != 421 || !strings.Contains(text, "from 127.0.0.1") {
			t.Fatalf("3rd connection from one IP: %d %s", code, text)
		}
		// Closing one frees its slot.
		first.cmd("QUIT")
		first.conn.Close()
		waitFor(t, "slot released", 2*time.Second, func() bool { return h.st.IncomingConnections.Load() == 1 })
		greeted(t, h.addr)

		h2 := start(t, func(c *Config) { c.Limits.MaxConnectionsPerIP = 1; c.Clients.Trust = []string{"127.0.0.1"} })
		for i := 0; i < 3; i++ {
			greeted(t, h2.addr)
		}
	})
}

func TestBlockedClient(t *testing.T) {
	h := start(t, func(c *Config) { c.Clients.Block = []string{"127.0.0.0/8"} })
	c := dial(t, h.addr)
	code, text := c.reply()
	if code != 554 || !strings.HasPrefix(text, "5.7.1") {
		t.Fatalf("blocked client: %d %s", code, text)
	}
	if !c.closed() {
		t.Error("blocked connection left open")
	}
	refused := h.ev.OfType(telemetry.SessionRefused)
	if len(refused) != 1 || refused[0].Reason != telemetry.ReasonBlockedClient || refused[0].ClientIP != "127.0.0.1" {
		t.Fatalf("refusal events = %+v", refused)
	}
}

func TestDSNParametersKeptWithTheMessage(t *testing.T) {
	h := start(t, nil)
	c := greeted(t, h.addr)
	ehlo := c.expect(250, "EHLO client")
	for _, ext := range []string{"PIPELINING", "8BITMIME", "SMTPUTF8", "ENHANCEDSTATUSCODES", "SIZE", "DSN", "CHUNKING"} {
		if !strings.Contains(ehlo, ext) {
			t.Errorf("EHLO lacks %s:\n%s", ext, ehlo)
		}
	}
	c.expect(250, "MAIL FROM:<a@example.org> RET=HDRS ENVID=abc+2Bdef BODY=8BITMIME")
	c.expect(250, "RCPT TO:<b@example.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;orig+40example.test")
	c.expect(250, "RCPT TO:<c@example.test> NOTIFY=NEVER")
	c.expect(354, "DATA")
	c.send("Subject: caf\xc3\xa9\r\n\r\n8-bit body \xc3\xa9\r\n.\r\n")
	code, text := c.reply()
	if code != 250 {
		t.Fatalf("DATA: %d %s", code, text)
	}
	e, err := h.sp.Load(spool.Incoming, queueID(t, text))
	if err != nil {
		t.Fatal(err)
	}
	env := e.Meta.Envelope
	if env.Ret != "HDRS" || env.EnvID != "abc+def" || env.Body != "8BITMIME" {
		t.Errorf("envelope = %+v", env)
	}
	r0, r1 := env.Recipients[0], env.Recipients[1]
	if strings.Join(r0.Notify, ",") != "SUCCESS,FAILURE" || r0.ORcpt != "orig@example.test" || r0.ORcptType != "rfc822" {
		t.Errorf("first recipient = %+v", r0)
	}
	if strings.Join(r1.Notify, ",") != "NEVER" || r1.Notifies("FAILURE") {
		t.Errorf("second recipient = %+v", r1)
	}
	if !e.Meta.EightBit {
		t.Error("8-bit content not flagged")
	}
}

func TestHostileInput(t *testing.T) {
	t.Run("overlong command line", func(t *testing.T) {
		h := start(t, nil)
		c := greeted(t, h.addr)
		c.send("EHLO " + strings.Repeat("a", 10000) + "\r\n")
		code, text := c.reply()
		if code != 500 || !strings.HasPrefix(text, "5.4.0") {
			t.Fatalf("overlong line: %d %s", code, text)
		}
		if !c.closed() {
			t.Error("connection left open")
		}
		waitFor(t, "counted", time.Second, func() bool {
			return h.st.Refused.With(string(telemetry.ReasonMalformed)).Load() == 1
		})
	})
	t.Run("NUL in command and in content", func(t *testing.T) {
		h := start(t, nil)
		c := greeted(t, h.addr)
		c.expect(250, "EHLO client")
		if code, _ := c.cmd("MAIL FROM:<a\x00b@example.org>"); code < 500 {
			t.Fatalf("NUL in address accepted: %d", code)
		}
		code, text := c.sendMessage("a@example.org", []string{"b@example.test"}, "Subject: x\r\n\r\nnul \x00 here\r\n")
		if code != 554 || !strings.HasPrefix(text, "5.6.0") {
			t.Fatalf("NUL content: %d %s", code, text)
		}
		if n := h.st.MalformedMessages.Load(); n != 1 {
			t.Errorf("malformed = %d", n)
		}
		c.expect(250, "NOOP")
	})
	t.Run("bare LF normalised", func(t *testing.T) {
		h := start(t, nil)
		c := greeted(t, h.addr)
		c.expect(250, "EHLO client")
		code, text := c.sendMessage("a@example.org", []string{"b@example.test"}, "Subject: x\nX-A: y\r\n\r\nline one\nline two\r\n")
		if code != 250 {
			t.Fatalf("bare LF: %d %s", code, text)
		}
		e, _ := h.sp.Load(spool.Incoming, queueID(t, text))
		cont, _ := e.OpenContent()
		got, _ := io.ReadAll(cont)
		cont.Close()
		if !bytes.HasSuffix(got, []byte("Subject: x\r\nX-A: y\r\n\r\nline one\r\nline two\r\n")) {
			t.Fatalf("not normalised: %q", got)
		}
	})
	t.Run("pipelined garbage", func(t *testing.T) {
		h := start(t, nil)
		c := greeted(t, h.addr)
		c.send("\x16\x03\x01garbage\r\nFOO bar\r\n\xff\xfe\r\nBAZ\r\n")
		var codes []int
		for {
			code, _ := c.reply()
			if code == 0 {
				break
			}
			codes = append(codes, code)
		}
		if len(codes) < 3 || codes[len(codes)-1] != 500 {
			t.Fatalf("replies to garbage: %v", codes)
		}
		// The server survived and serves the next client.
		c2 := greeted(t, h.addr)
		c2.expect(250, "EHLO client")
	})
	t.Run("slow client in DATA", func(t *testing.T) {
		h := start(t, func(c *Config) { c.Timeouts.Data = 300 * time.Millisecond })
		c := greeted(t, h.addr)
		c.expect(250, "EHLO client")
		c.expect(250, "MAIL FROM:<a@example.org>")
		c.expect(250, "RCPT TO:<b@example.test>")
		c.expect(354, "DATA")
		c.send("Subject: slow\r\n\r\n")
		code, text := c.reply() // nothing more is sent
		if code != 421 || !strings.HasPrefix(text, "4.4.2") {
			t.Fatalf("DATA timeout: %d %s", code, text)
		}
		if !c.closed() {
			t.Error("connection left open after DATA timeout")
		}
		if n := h.st.Refused.With(string(telemetry.ReasonTimeout)).Load(); n != 1 {
			t.Errorf("timeouts = %d", n)
		}
	})
	t.Run("idle client at command", func(t *testing.T) {
		h := start(t, func(c *Config) { c.Timeouts.Command = 200 * time.Millisecond })
		c := greeted(t, h.addr)
		code, text := c.reply() // the client says nothing
		if code != 421 || !strings.HasPrefix(text, "4.4.2") {
			t.Fatalf("command timeout: %d %s", code, text)
		}
		waitFor(t, "session closed with error", 2*time.Second, func() bool {
			cl := h.ev.OfType(telemetry.SessionClosed)
			return len(cl) == 1 && cl[0].Err == "timeout"
		})
		if n := h.st.IncomingConnectionErrors.Load(); n != 1 {
			t.Errorf("connection errors = %d", n)
		}
	})
	t.Run("malformed header", func(t *testing.T) {
		h := start(t, nil)
		c := greeted(t, h.addr)
		c.expect(250, "EHLO client")
		code, text := c.sendMessage("a@example.org", []string{"b@example.test"}, "this is not a header\r\n\r\nbody\r\n")
		if code != 554 || !strings.HasPrefix(text, "5.6.0") {
			t.Fatalf("malformed header: %d %s", code, text)
		}
	})
	t.Run("too many hops", func(t *testing.T) {
		h := start(t, func(c *Config) { c.Limits.MaxHops = 3 })
		c := greeted(t, h.addr)
		c.expect(250, "EHLO client")
		msg := strings.Repeat("Received: from x by y; Sun, 22 Nov 2026 00:00:00 +0000\r\n", 3) + simpleMessage
		code, text := c.sendMessage("a@example.org", []string{"b@example.test"}, msg)
		if code != 554 || !strings.HasPrefix(text, "5.4.6") {
			t.Fatalf("hops: %d %s", code, text)
		}
	})
	t.Run("non-ASCII address without SMTPUTF8", func(t *testing.T) {
		h := start(t, nil)
		c := greeted(t, h.addr)
		c.expect(250, "EHLO client")
		if code, text := c.cmd("MAIL FROM:<jos\xc3\xa9@example.org>"); code != 553 || !strings.HasPrefix(text, "5.6.7") {
			t.Fatalf("UTF-8 sender without SMTPUTF8: %d %s", code, text)
		}
		c.expect(250, "MAIL FROM:<jos\xc3\xa9@example.org> SMTPUTF8")
		c.expect(250, "RCPT TO:<m\xc3\xbcller@example.test>")
	})
}

func TestChunking(t *testing.T) {
	h := start(t, nil)
	c := greeted(t, h.addr)
	c.expect(250, "EHLO client")
	c.expect(250, "MAIL FROM:<a@example.org>")
	c.expect(250, "RCPT TO:<b@example.test>")
	part1, part2 := "Subject: bdat\r\n\r\n", "chunked body\r\n"
	c.send(fmt.Sprintf("BDAT %d\r\n%s", len(part1), part1))
	if code, _ := c.reply(); code != 250 {
		t.Fatalf("first chunk: %d", code)
	}
	c.send(fmt.Sprintf("BDAT %d LAST\r\n%s", len(part2), part2))
	code, text := c.reply()
	if code != 250 {
		t.Fatalf("last chunk: %d %s", code, text)
	}
	e, err := h.sp.Load(spool.Incoming, queueID(t, text))
	if err != nil {
		t.Fatal(err)
	}
	cont, _ := e.OpenContent()
	got, _ := io.ReadAll(cont)
	cont.Close()
	if !bytes.HasSuffix(got, []byte(part1+part2)) {
		t.Fatalf("BDAT content: %q", got)
	}
}

func TestSTARTTLS(t *testing.T) {
	dir := t.TempDir()
	cert, key := selfSigned(t, dir)
	h := start(t, func(c *Config) { c.TLS = TLSConfig{Cert: cert, Key: key} })
	c := greeted(t, h.addr)
	if ehlo := c.expect(250, "EHLO client"); !strings.Contains(ehlo, "STARTTLS") {
		t.Fatalf("no STARTTLS offered:\n%s", ehlo)
	}
	c.expect(220, "STARTTLS")
	tc := tls.Client(c.conn, &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // test against a self-signed certificate
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	c.conn = tc
	c.r.Reset(tc)
	c.expect(250, "EHLO client")
	code, text := c.sendMessage("a@example.org", []string{"b@example.test"}, simpleMessage)
	if code != 250 {
		t.Fatalf("over TLS: %d %s", code, text)
	}
	e, _ := h.sp.Load(spool.Incoming, queueID(t, text))
	if !e.Meta.Client.TLS {
		t.Error("message not marked as received over TLS")
	}
	cont, _ := e.OpenContent()
	got, _ := io.ReadAll(cont)
	cont.Close()
	if !bytes.Contains(got, []byte("with ESMTPS id")) {
		t.Errorf("Received does not say ESMTPS:\n%s", got)
	}
}

// discardAll is a stage whose verdict drops every message.
type discardAll struct{}

func (discardAll) Name() string { return "discard-all" }
func (discardAll) Scan(context.Context, *pipeline.Message) (pipeline.Verdict, error) {
	return pipeline.Verdict{Status: "spam", Score: 12.5, Suggest: pipeline.ActionDiscard}, nil
}

func TestDiscardedMessageCompletes(t *testing.T) {
	h := start(t, nil, discardAll{})
	c := greeted(t, h.addr)
	c.expect(250, "EHLO client")
	msg := "Subject: =?UTF-8?Q?caf=C3=A9_offer?=\r\nMessage-ID: <d1@example.org>\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n" +
		"--b\r\nContent-Disposition: attachment; filename=\"x.exe\"\r\n\r\nMZ\r\n--b--\r\n"
	code, text := c.sendMessage("a@example.org", []string{"b@example.test", "c@example.test"}, msg)
	if code != 250 || !strings.Contains(text, "discarded as") {
		t.Fatalf("discard: %d %s", code, text)
	}
	if ids, _ := h.sp.List(spool.Incoming); len(ids) != 0 {
		t.Fatalf("discarded message was queued: %v", ids)
	}
	got := h.ev.OfType(telemetry.MessageCompleted)
	if len(got) != 1 {
		t.Fatalf("%d message.completed events, want 1", len(got))
	}
	ev := got[0]
	if ev.Outcome != telemetry.OutcomeDiscarded || ev.Action != "discard" || ev.Subject != "café offer" ||
		ev.MessageID != "<d1@example.org>" || len(ev.Attachments) != 1 || ev.Attachments[0] != "x.exe" ||
		ev.Verdicts != "discard-all=spam(12.5)" || ev.Recipient != "b@example.test,c@example.test" || ev.Size == 0 {
		t.Errorf("message.completed = %+v", ev)
	}
}

// rejectAll is a stage that refuses every message, to check the scan hook.
type rejectAll struct{ err error }

func (rejectAll) Name() string { return "reject-all" }
func (s rejectAll) Scan(context.Context, *pipeline.Message) (pipeline.Verdict, error) {
	if s.err != nil {
		return pipeline.Verdict{}, s.err
	}
	return pipeline.Verdict{Status: "banned", Suggest: pipeline.ActionReject}, nil
}

func TestScanStagesDecideBeforeQueueing(t *testing.T) {
	h := start(t, nil, rejectAll{})
	c := greeted(t, h.addr)
	c.expect(250, "EHLO client")
	code, text := c.sendMessage("a@example.org", []string{"b@example.test"}, simpleMessage)
	if code != 554 || !strings.HasPrefix(text, "5.7.1") {
		t.Fatalf("rejecting stage: %d %s", code, text)
	}
	if ids, _ := h.sp.List(spool.Incoming); len(ids) != 0 {
		t.Fatalf("rejected message was queued: %v", ids)
	}
	if got := h.ev.OfType(telemetry.ScanStageDone); len(got) != 1 || got[0].Stage != "reject-all" {
		t.Fatalf("stage events = %+v", got)
	}
	// The refusal is the message's one record: it says what the message
	// was and what the stages found.
	if got := h.ev.OfType(telemetry.MessageRefused); len(got) != 1 || got[0].Verdicts != "reject-all=banned" ||
		got[0].Action != "reject" || got[0].Outcome != "refused" || got[0].Recipient != "b@example.test" ||
		got[0].Recipients != 1 || got[0].Reason != telemetry.ReasonScanReject {
		t.Fatalf("message.refused = %+v", got)
	}

	h2 := start(t, nil, rejectAll{err: fmt.Errorf("scanner down")})
	c2 := greeted(t, h2.addr)
	c2.expect(250, "EHLO client")
	code, text = c2.sendMessage("a@example.org", []string{"b@example.test"}, simpleMessage)
	if code != 451 || !strings.HasPrefix(text, "4.7.1") {
		t.Fatalf("failing stage must tempfail, got %d %s", code, text)
	}
	if strings.Contains(text, "scanner down") {
		t.Errorf("internal error text leaked to the client: %s", text)
	}
}

func TestReloadKeepsOpenSessions(t *testing.T) {
	h := start(t, func(c *Config) { c.Limits.MaxRecipients = 1 })
	old := greeted(t, h.addr)
	old.expect(250, "EHLO client")

	cfg := testConfig()
	cfg.Listen = []string{"127.0.0.1:0", "localhost:0"}
	cfg.Limits.MaxRecipients = 3
	cfg.ProtectedDomains = []string{"example.test", "new.example"}
	cfg.RelayNetworks = []string{"10.0.0.0/8"}
	if err := h.r.Reload(cfg); err != nil {
		t.Fatal(err)
	}
	if n := len(h.r.Addrs()); n != 2 {
		t.Fatalf("listeners after reload: %d", n)
	}
	// The open session keeps its configuration: one recipient, relay allowed.
	old.expect(250, "MAIL FROM:<a@example.org>")
	old.expect(250, "RCPT TO:<x@elsewhere.example>")
	if code, _ := old.cmd("RCPT TO:<y@example.test>"); code != 452 {
		t.Fatalf("old session lost its limit: %d", code)
	}
	// A new session gets the new one.
	c := greeted(t, h.addr)
	c.expect(250, "EHLO client")
	c.expect(250, "MAIL FROM:<a@example.org>")
	c.expect(250, "RCPT TO:<x@new.example>")
	c.expect(554, "RCPT TO:<x@elsewhere.example>")
	c.expect(250, "RCPT TO:<z@example.test>")

	bad := cfg
	bad.Listen = []string{"not-an-address"}
	if err := h.r.Reload(bad); err == nil || !strings.Contains(err.Error(), "smtp.listen[0]") {
		t.Fatalf("bad reload error = %v", err)
	}
	c2 := greeted(t, h.addr)
	c2.expect(250, "EHLO still-serving")
}

func TestConfigValidateNamesKeys(t *testing.T) {
	cfg := testConfig()
	cfg.Listen = []string{"nope"}
	cfg.RelayNetworks = []string{"10.0.0/8"}
	cfg.ProtectedDomains = []string{"bad domain"}
	cfg.Limits.MaxConnections = 0
	cfg.Timeouts.Data = 0
	cfg.TLS.Cert = "x"
	err := cfg.Validate()
	for _, key := range []string{"smtp.listen[0]", "smtp.relay_networks[0]", "smtp.protected_domains[0]",
		"smtp.limits.max_connections", "smtp.timeouts.data", "smtp.tls"} {
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("error does not name %s: %v", key, err)
		}
	}
}

func TestShutdownWaitsForSessions(t *testing.T) {
	h := start(t, nil)
	c := greeted(t, h.addr)
	c.expect(250, "EHLO client")
	done := make(chan error, 1)
	go func() { done <- h.r.Shutdown(context.Background()) }()
	// New connections are refused once the listener closed...
	waitFor(t, "listener closed", 2*time.Second, func() bool {
		conn, err := net.DialTimeout("tcp", h.addr, 100*time.Millisecond)
		if err == nil {
			conn.Close()
		}
		return err != nil
	})
	// ...while the open session finishes its message.
	if code, _ := c.sendMessage("a@example.org", []string{"b@example.test"}, simpleMessage); code != 250 {
		t.Fatalf("open session during shutdown: %d", code)
	}
	c.cmd("QUIT")
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("shutdown did not return after the last session ended")
	}
}
