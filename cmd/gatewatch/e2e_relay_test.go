package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-smtp"

	"github.com/gatewatch/gatewatch/internal/peers"
)

// testMessage has lines that need dot-stuffing, 8-bit text and a long line
// (within RFC 5322's 998), so that an intact arrival means the whole path is
// transparent.
func testMessage(subject string) []byte {
	return []byte("From: Alice <alice@senders.test>\r\nTo: bob@sink.test\r\nSubject: " + subject + "\r\n" +
		"Message-ID: <" + subject + "@senders.test>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" +
		"first line\r\n.\r\n..two dots\r\n.leading dot\r\nnon-ASCII: caf\xc3\xa9\r\n" + strings.Repeat("long ", 190) + "\r\nlast line\r\n")
}

const sinkAndDirRoutes = `
delivery:
  concurrency: 4
  retry: {initial: 300ms, max: 1s, lifetime: 1h, route_down: 200ms}
  timeouts: {connect: 5s, command: 30s, data: 60s, idle: 5s}
  routes:
    - {name: sink, match: "*@sink.test", to: "smtp://{{.Sink}}"}
    - {name: outbox, match: "*", to: "dir://{{.Dir}}/outbox"}
`

func TestSwaksThroughGatewayToSinkAndDirectory(t *testing.T) {
	sink := peers.StartSink(t, peers.SinkOptions{Dump: true})
	g := startGateway(t, sinkAndDirRoutes, gwVars{"Sink": sink.Addr})
	msg := testMessage("swaks-e2e")
	msgFile := filepath.Join(t.TempDir(), "msg.eml")
	if err := os.WriteFile(msgFile, msg, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := peers.Swaks(t, "--server", g.SMTP, "--from", "alice@senders.test", "--to", "bob@sink.test,carol@example.test",
		"--data", "@"+msgFile)
	if err != nil {
		t.Fatalf("swaks: %v\n%s", err, out)
	}
	if !strings.Contains(out, "queued as") {
		t.Fatalf("swaks transcript lacks the queue ID:\n%s", out)
	}
	id := ""
	for _, l := range strings.Split(out, "\n") {
		if i := strings.Index(l, "queued as "); i >= 0 {
			id = strings.TrimSpace(l[i+len("queued as "):])
		}
	}

	got := sink.WaitMessages(t, 1, 20*time.Second)[0]
	if h := got.Header.Get("X-Gatewatch-Id"); h != id {
		t.Errorf("X-Gatewatch-ID at sink = %q, want %q", h, id)
	}
	if rcv := got.Header.Get("Received"); !strings.Contains(rcv, "by gw.test.invalid (Gatewatch) with ESMTP id "+id) {
		t.Errorf("Received at sink = %q", rcv)
	}
	if bodyHash(got.Raw) != bodyHash(msg) {
		t.Errorf("body changed on the way to the sink:\n%s", got.Body)
	}
	if !strings.Contains(got.RcptArgs[0], "<bob@sink.test>") || len(got.RcptArgs) != 1 {
		t.Errorf("sink got recipients %q, want only bob", got.RcptArgs)
	}

	var file []byte
	waitFor(t, "outbox file", 20*time.Second, func() bool {
		file, _ = os.ReadFile(filepath.Join(g.dir, "outbox", id+".1.eml"))
		return len(file) > 0
	})
	if bodyHash(file) != bodyHash(msg) {
		t.Error("body changed on the way to the outbox")
	}
	for _, want := range []string{"Return-Path: <alice@senders.test>\r\n", "X-Original-To: <carol@example.test>\r\n", "X-Gatewatch-ID: " + id + "\r\n"} {
		if !bytes.Contains(file, []byte(want)) {
			t.Errorf("outbox file lacks %q", want)
		}
	}
	waitFor(t, "queue empty", 10*time.Second, func() bool { return g.stat("mta_stored_messages_current") == 0 })
}

func TestPostfixRelaysThroughGateway(t *testing.T) {
	sink := peers.StartSink(t, peers.SinkOptions{Dump: true})
	g := startGateway(t, sinkAndDirRoutes, gwVars{"Sink": sink.Addr})
	pf := peers.StartPostfix(t, peers.PostfixOptions{RelayHost: g.SMTP})
	msg := testMessage("postfix-e2e")
	pf.Sendmail(t, "alice@senders.test", []string{"bob@sink.test"}, msg)

	got := sink.WaitMessages(t, 1, 60*time.Second)[0]
	if bodyHash(got.Raw) != bodyHash(msg) {
		t.Errorf("body changed through Postfix and the gateway:\n%s", got.Body)
	}
	if got.Header.Get("X-Gatewatch-Id") == "" {
		t.Error("no X-Gatewatch-ID at the sink")
	}
	// Postfix spoke ESMTP with DSN to us; we pass its ORCPT on.
	if !strings.Contains(strings.ToLower(strings.Join(got.RcptArgs, " ")), "orcpt=rfc822;bob@sink.test") {
		t.Errorf("ORCPT from Postfix not passed on: %q", got.RcptArgs)
	}
	pf.WaitQueueEmpty(t, 30*time.Second)
	if log := pf.Maillog(t); !strings.Contains(log, "relay="+g.SMTP) && !strings.Contains(log, "status=sent") {
		t.Errorf("Postfix did not relay through the gateway:\n%s", log)
	}
	if n := g.stat("mta_received_messages"); n != 1 {
		t.Errorf("mta_received_messages = %d", n)
	}
}

// The ESMTP extensions, end to end with the real sink as next hop.
func TestESMTPExtensionsEndToEnd(t *testing.T) {
	sink := peers.StartSink(t, peers.SinkOptions{Dump: true})
	rejecting := peers.StartSink(t, peers.SinkOptions{HardReject: []string{"RCPT"}})
	g := startGateway(t, `
smtp:
  listen: ["{{.SMTP}}"]
  hostname: gw.test.invalid
  relay_networks: ["127.0.0.0/8"]
  limits: {max_message_size: 20000}
delivery:
  concurrency: 2
  retry: {initial: 300ms, max: 1s, lifetime: 1h, route_down: 200ms}
  timeouts: {connect: 5s, command: 30s, data: 60s, idle: 5s}
  routes:
    - {name: rejecting, match: "*@reject.test", to: "smtp://{{.Reject}}"}
    - {name: bounces, match: "*@senders.test", to: "dir://{{.Dir}}/bounces"}
    - {name: sink, match: "*", to: "smtp://{{.Sink}}"}
`, gwVars{"Sink": sink.Addr, "Reject": rejecting.Addr})

	t.Run("SIZE refused at MAIL", func(t *testing.T) {
		_, err := sendMail(g.SMTP, "alice@senders.test", []string{"bob@sink.test"}, testMessage("x"), &smtp.MailOptions{Size: 50000}, nil)
		assertSMTPError(t, err, 552, "5.3.4")
	})
	t.Run("SIZE refused at DATA", func(t *testing.T) {
		big := append(testMessage("big"), bytes.Repeat([]byte("0123456789\r\n"), 3000)...)
		_, err := sendMail(g.SMTP, "alice@senders.test", []string{"bob@sink.test"}, big, nil, nil)
		assertSMTPError(t, err, 552, "5.3.4")
		if n := g.stat("mta_receivings_refused_for_message_size_limit"); n != 2 {
			t.Errorf("size refusals = %d, want 2", n)
		}
	})
	t.Run("DSN parameters reach the next hop", func(t *testing.T) {
		reply, err := sendMail(g.SMTP, "alice@senders.test", []string{"dsn@sink.test"}, testMessage("dsn-params"),
			&smtp.MailOptions{Return: smtp.DSNReturnHeaders, EnvelopeID: "env-42"},
			func(string) *smtp.RcptOptions {
				return &smtp.RcptOptions{Notify: []smtp.DSNNotify{smtp.DSNNotifySuccess, smtp.DSNNotifyFailure},
					OriginalRecipientType: smtp.DSNAddressTypeRFC822, OriginalRecipient: "orig@sink.test"}
			})
		if err != nil {
			t.Fatal(err)
		}
		id := queueIDOf(t, reply)
		var got peers.SinkMessage
		waitFor(t, "message at sink", 20*time.Second, func() bool {
			for _, m := range sink.Messages(t) {
				if m.Header.Get("X-Gatewatch-Id") == id {
					got = m
					return true
				}
			}
			return false
		})
		// smtp-sink offers no SIZE, so SIZE= is not passed on here (the
		// delivery package's tests check it against a next hop that does).
		for _, want := range []string{"RET=HDRS", "ENVID=env-42"} {
			if !strings.Contains(got.MailArgs, want) {
				t.Errorf("MAIL args at next hop %q lack %s", got.MailArgs, want)
			}
		}
		if r := strings.ToUpper(strings.Join(got.RcptArgs, " ")); !strings.Contains(r, "NOTIFY=SUCCESS,FAILURE") || !strings.Contains(r, "ORCPT=RFC822;ORIG@SINK.TEST") {
			t.Errorf("RCPT args at next hop = %q", r)
		}
	})
	t.Run("5xx from the next hop bounces to the sender", func(t *testing.T) {
		reply, err := sendMail(g.SMTP, "alice@senders.test", []string{"nobody@reject.test"}, testMessage("bounce-me"), &smtp.MailOptions{EnvelopeID: "env-bounce"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		id := queueIDOf(t, reply)
		var report []byte
		waitFor(t, "bounce in the sender's mailbox", 20*time.Second, func() bool {
			files, _ := filepath.Glob(filepath.Join(g.dir, "bounces", "*.eml"))
			for _, f := range files {
				b, _ := os.ReadFile(f)
				if bytes.Contains(b, []byte("X-Gatewatch-Queue-ID: "+id)) {
					report = b
					return true
				}
			}
			return false
		})
		checkBounce(t, report, "nobody@reject.test", "env-bounce")
		if n := g.stat("mta_dsn_generated"); n < 1 {
			t.Errorf("mta_dsn_generated = %d", n)
		}
		if n := g.stat("mta_sendings_failed_for_rejected"); n < 1 {
			t.Errorf("mta_sendings_failed_for_rejected = %d", n)
		}
	})
}

// checkBounce parses an RFC 3464 report and checks the failed recipient.
func checkBounce(t *testing.T, report []byte, rcpt, envid string) {
	t.Helper()
	// The dir route adds Return-Path/X-Original-To; the report follows.
	mr, err := mail.CreateReader(bytes.NewReader(report))
	if err != nil {
		t.Fatalf("bounce is not a MIME message: %v\n%s", err, report)
	}
	if rp := mr.Header.Get("Return-Path"); rp != "<>" {
		t.Errorf("bounce envelope sender = %q, want <>", rp)
	}
	ct, params, _ := mr.Header.ContentType()
	if ct != "multipart/report" || params["report-type"] != "delivery-status" {
		t.Fatalf("bounce content type %s %v", ct, params)
	}
	var types []string
	var status string
	for {
		p, err := mr.NextPart()
		if err != nil {
			break
		}
		pt, _, _ := p.Header.(interface {
			ContentType() (string, map[string]string, error)
		}).ContentType()
		types = append(types, pt)
		if pt == "message/delivery-status" {
			b := new(bytes.Buffer)
			b.ReadFrom(p.Body)
			status = b.String()
		}
	}
	if strings.Join(types, ",") != "text/plain,message/delivery-status,message/rfc822" {
		t.Errorf("bounce parts = %v", types)
	}
	for _, want := range []string{"Final-Recipient: rfc822; " + rcpt, "Action: failed", "Status: 5.", "Diagnostic-Code: smtp; 5",
		"Original-Envelope-Id: " + envid, "Reporting-MTA: dns; gw.test.invalid"} {
		if !strings.Contains(status, want) {
			t.Errorf("delivery-status lacks %q:\n%s", want, status)
		}
	}
}

func assertSMTPError(t *testing.T, err error, code int, enhanced string) {
	t.Helper()
	se, ok := err.(*smtp.SMTPError)
	if !ok {
		t.Fatalf("want SMTP error %d %s, got %v", code, enhanced, err)
	}
	if got := fmt.Sprintf("%d.%d.%d", se.EnhancedCode[0], se.EnhancedCode[1], se.EnhancedCode[2]); se.Code != code || got != enhanced {
		t.Fatalf("got %d %s %s, want %d %s", se.Code, got, se.Message, code, enhanced)
	}
}
