package delivery

import (
	"bytes"
	"crypto/tls"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/gatewatch/gatewatch/pipeline"
	"github.com/gatewatch/gatewatch/pipeline/spool"
	"github.com/gatewatch/gatewatch/telemetry"
)

// TestDeliverEndToEnd: a spooled message with DSN parameters reaches the
// next hop with the envelope and content intact, leaves the spool, and is
// counted and reported.
func TestDeliverEndToEnd(t *testing.T) {
	hop := newFakeHop(t)
	e := newEnv(t, testConfig(Route{Name: "fake", Match: "*@dest.test", To: hop.url()}))

	content := testContent("e2e")
	meta := pipeline.Meta{Envelope: pipeline.Envelope{
		From: testSender,
		Ret:  "HDRS", EnvID: "ENV-42.x",
		Recipients: []pipeline.Recipient{
			{Addr: "a@dest.test", Notify: []string{"SUCCESS", "FAILURE"}, ORcpt: "orig-a@dest.test", ORcptType: "RFC822"},
			{Addr: "b@dest.test", Notify: []string{"FAILURE", "DELAY"}, ORcpt: "orig-b@dest.test"}, // no type: rfc822
			{Addr: "c@dest.test"},
		},
	}}
	id := e.spoolMsg(meta, content)
	e.waitGone(id)

	got := hop.received()
	if len(got) != 1 {
		t.Fatalf("next hop got %d messages, want 1", len(got))
	}
	m := got[0]
	if m.From != testSender {
		t.Errorf("MAIL FROM %q", m.From)
	}
	if m.Helo != testHost {
		t.Errorf("EHLO %q, want %q", m.Helo, testHost)
	}
	if m.Mail.Size != int64(len(content)) {
		t.Errorf("SIZE=%d, want %d", m.Mail.Size, len(content))
	}
	if m.Mail.Return != smtp.DSNReturnHeaders {
		t.Errorf("RET=%q, want HDRS", m.Mail.Return)
	}
	if m.Mail.EnvelopeID != "ENV-42.x" {
		t.Errorf("ENVID=%q", m.Mail.EnvelopeID)
	}
	wantRcpts := []string{"a@dest.test", "b@dest.test", "c@dest.test"}
	if len(m.Rcpts) != 3 {
		t.Fatalf("RCPTs %v, want %v", m.Rcpts, wantRcpts)
	}
	for i, r := range wantRcpts {
		if m.Rcpts[i] != r {
			t.Errorf("RCPT %d = %s, want %s", i, m.Rcpts[i], r)
		}
	}
	o := m.RcptOpts
	if len(o[0].Notify) != 2 || o[0].Notify[0] != smtp.DSNNotifySuccess || o[0].Notify[1] != smtp.DSNNotifyFailure {
		t.Errorf("rcpt a NOTIFY=%v", o[0].Notify)
	}
	if o[0].OriginalRecipientType != smtp.DSNAddressTypeRFC822 || o[0].OriginalRecipient != "orig-a@dest.test" {
		t.Errorf("rcpt a ORCPT=%s;%s", o[0].OriginalRecipientType, o[0].OriginalRecipient)
	}
	if len(o[1].Notify) != 2 || o[1].Notify[0] != smtp.DSNNotifyFailure || o[1].Notify[1] != smtp.DSNNotifyDelayed {
		t.Errorf("rcpt b NOTIFY=%v", o[1].Notify)
	}
	if o[1].OriginalRecipientType != smtp.DSNAddressTypeRFC822 || o[1].OriginalRecipient != "orig-b@dest.test" {
		t.Errorf("rcpt b ORCPT=%s;%s (type should default to rfc822)", o[1].OriginalRecipientType, o[1].OriginalRecipient)
	}
	if len(o[2].Notify) != 0 || o[2].OriginalRecipient != "" {
		t.Errorf("rcpt c has DSN params %+v", o[2])
	}
	if !bytes.Equal(m.Data, content) {
		t.Errorf("content differs:\n got %q\nwant %q", m.Data, content)
	}

	if q := e.queued(); len(q) != 0 {
		t.Errorf("spool still holds %v", q)
	}
	st := e.st
	if n := st.SentMessages.Load(); n != 1 {
		t.Errorf("SentMessages %d, want 1", n)
	}
	if n := st.SentRecipients.Load(); n != 3 {
		t.Errorf("SentRecipients %d, want 3", n)
	}
	if n := st.SentBytes.Load(); n != uint64(len(content)) {
		t.Errorf("SentBytes %d, want %d", n, len(content))
	}
	if n := st.RouteDelivered.With("fake").Load(); n != 1 {
		t.Errorf("RouteDelivered[fake] %d, want 1", n)
	}
	if n := st.RoutingQueries.Load(); n != 3 {
		t.Errorf("RoutingQueries %d, want 3", n)
	}
	if n := st.OutgoingConnectionsTotal.Load(); n != 1 {
		t.Errorf("OutgoingConnectionsTotal %d, want 1", n)
	}
	ev, ok := e.rec.eventFor(telemetry.DeliverySent, id)
	if !ok {
		t.Fatalf("no DeliverySent event; events:\n%s", fmtEvents(e.rec.events(0)))
	}
	if ev.Route != "fake" || ev.Recipients != 3 || ev.Code != 250 || ev.Remote != hop.addr || ev.Attempt != 1 || ev.Size != int64(len(content)) {
		t.Errorf("DeliverySent event %+v", ev)
	}
	// The next hop took the DSN request over (it offers DSN): no SUCCESS
	// report from us.
	if n := st.DSNGenerated.Load(); n != 0 {
		t.Errorf("DSNGenerated %d, want 0: the next hop offers DSN", n)
	}
	if n := e.rec.count(telemetry.DeliveryDeferred) + e.rec.count(telemetry.DeliveryBounced); n != 0 {
		t.Errorf("unexpected deferral/bounce events:\n%s", fmtEvents(e.rec.events(0)))
	}
}

// TestConnectionReuse: consecutive messages on a one-worker route share
// one connection.
func TestConnectionReuse(t *testing.T) {
	hop := newFakeHop(t)
	cfg := testConfig(Route{Name: "fake", Match: "*", To: hop.url(), Concurrency: 1})
	cfg.Timeouts.Idle = 2 * time.Second // outlasts the gaps between the messages
	e := newEnv(t, cfg)
	for i := 0; i < 3; i++ {
		id := e.send("reuse", "x@dest.test")
		e.waitGone(id)
	}
	if n := hop.count(); n != 3 {
		t.Fatalf("next hop got %d messages", n)
	}
	if n := e.st.OutgoingConnectionsTotal.Load(); n != 1 {
		t.Errorf("OutgoingConnectionsTotal %d, want 1 (connection kept between messages)", n)
	}
	if n := e.st.OutgoingConnections.Load(); n != 1 {
		t.Errorf("OutgoingConnections %d, want 1 open", n)
	}
	// The idle timeout closes it.
	waitFor(t, 5*time.Second, "the idle connection to close", func() bool { return e.st.OutgoingConnections.Load() == 0 })
	_, _, logouts := hop.counts()
	if logouts == 0 {
		t.Error("next hop saw no end of session after idle close")
	}
}

// TestDeferredOnDataThenDelivered: 451 at DATA defers the message with
// attempts=1 in deferred/, and it is delivered after the backoff.
func TestDeferredOnDataThenDelivered(t *testing.T) {
	hop := newFakeHop(t)
	hop.setData(func(n int) error {
		if n == 1 {
			return smtpErr(451, [3]int{4, 7, 1}, "Try again later")
		}
		return nil
	})
	cfg := testConfig(Route{Name: "fake", Match: "*", To: hop.url()})
	// A backoff long enough that the deferred file can be looked at
	// before the retry takes it; the second attempt is checked to wait
	// at least this long.
	wait := 400 * time.Millisecond
	cfg.Retry.Initial, cfg.Retry.Max = wait, wait
	e := newEnv(t, cfg)
	id := e.send("retry", "a@dest.test", "b@dest.test")

	waitFor(t, 5*time.Second, "the message in deferred/", func() bool {
		_, ok := e.deferredState(id)
		return ok
	})
	st, _ := e.deferredState(id)
	if st.Attempts != 1 {
		t.Errorf("deferred attempts=%d, want 1", st.Attempts)
	}
	if string(st.Rcpts) != "PP" {
		t.Errorf("deferred recipient states %q, want PP", st.Rcpts)
	}
	if next := time.UnixMilli(st.Next); time.Until(next) > wait || time.Until(next) < -wait {
		t.Errorf("next attempt at %s, want about now+%s", next, wait)
	}
	dev, ok := e.rec.eventFor(telemetry.DeliveryDeferred, id)
	if !ok {
		t.Fatal("no DeliveryDeferred event")
	}
	if dev.Code != 451 || dev.Status != "4.7.1" || dev.Recipients != 2 || dev.Route != "fake" || dev.Attempt != 1 {
		t.Errorf("DeliveryDeferred event %+v", dev)
	}

	e.waitGone(id)
	if n := hop.count(); n != 1 {
		t.Fatalf("next hop accepted %d messages, want 1", n)
	}
	mails := hop.mailTimes()
	if len(mails) != 2 {
		t.Fatalf("next hop saw %d MAIL commands, want 2", len(mails))
	}
	if gap := mails[1].Sub(dev.Time); gap < wait*9/10 {
		t.Errorf("retry came %s after the deferral, want at least the backoff %s", gap, wait)
	}
	sent, ok := e.rec.eventFor(telemetry.DeliverySent, id)
	if !ok || sent.Attempt != 2 {
		t.Errorf("DeliverySent %+v (found %v), want attempt 2", sent, ok)
	}
	if n := e.st.DeferredRecipients.Load(); n != 2 {
		t.Errorf("DeferredRecipients %d, want 2", n)
	}
	if n := e.st.DSNGenerated.Load(); n != 0 {
		t.Errorf("DSNGenerated %d for a delay", n)
	}
}

// TestRouteDownCacheAndRecovery: an unreachable next hop marks the route
// down once; mail meanwhile is deferred without dialing; when the next hop
// comes up the mail goes and the route is reported recovered.
func TestRouteDownCacheAndRecovery(t *testing.T) {
	addr := closedAddr(t)
	cfg := testConfig(Route{Name: "down", Match: "*", To: "smtp://" + addr})
	// Long enough that the second message, spooled right after the route
	// went down, surely meets the cache.
	cfg.Retry.RouteDown = 500 * time.Millisecond
	e := newEnv(t, cfg)
	st := e.st

	id1 := e.send("down1", "a@dest.test")
	waitFor(t, 5*time.Second, "RouteUnreachable", func() bool { return e.rec.count(telemetry.RouteUnreachable) > 0 })
	ev := e.rec.events(telemetry.RouteUnreachable)[0]
	if ev.Route != "down" || ev.Remote != "smtp://"+addr || ev.Err == "" {
		t.Errorf("RouteUnreachable event %+v", ev)
	}
	if g := st.RouteUp.With("down").Load(); g != 0 {
		t.Errorf("RouteUp[down] = %d, want 0", g)
	}

	id2 := e.send("down2", "b@dest.test")
	waitFor(t, 5*time.Second, "message 2 deferred", func() bool {
		_, ok := e.rec.eventFor(telemetry.DeliveryDeferred, id2)
		return ok
	})
	d2, _ := e.rec.eventFor(telemetry.DeliveryDeferred, id2)
	mustContain(t, d2.Text, "Next hop recently unreachable")
	if d2.Duration != 0 || d2.Status != "4.4.1" {
		t.Errorf("cached deferral event %+v", d2)
	}
	if n := st.OutgoingConnectionsFailedByCache.Load(); n == 0 {
		t.Error("OutgoingConnectionsFailedByCache did not move")
	}
	// Every deferral either dialed (and failed) or met the cache.
	if f, c, dd := st.OutgoingConnectionsFailed.Load(), st.OutgoingConnectionsFailedByCache.Load(), e.rec.count(telemetry.DeliveryDeferred); int(f+c) != dd {
		t.Errorf("failed %d + by cache %d != deferrals %d", f, c, dd)
	}

	// Let the cache expire at least once with the hop still down: that
	// dials again, fails, and must not announce the route down again.
	waitFor(t, 10*time.Second, "a second failed dial", func() bool { return st.OutgoingConnectionsFailed.Load() >= 2 })
	if n := e.rec.count(telemetry.RouteUnreachable); n != 1 {
		t.Errorf("%d RouteUnreachable events, want 1", n)
	}
	if n := st.OutgoingConnectionsTotal.Load(); n != 0 {
		t.Errorf("OutgoingConnectionsTotal %d while down", n)
	}

	hop := newFakeHopAt(t, addr)
	e.waitGone(id1)
	e.waitGone(id2)
	if n := hop.count(); n != 2 {
		t.Errorf("next hop got %d messages, want 2", n)
	}
	rec := e.rec.events(telemetry.RouteRecovered)
	if len(rec) != 1 || rec[0].Route != "down" {
		t.Errorf("RouteRecovered events %+v, want one for route down", rec)
	}
	if g := st.RouteUp.With("down").Load(); g != 1 {
		t.Errorf("RouteUp[down] = %d after recovery, want 1", g)
	}
	if n := e.rec.count(telemetry.DeliveryBounced); n != 0 {
		t.Errorf("bounces while the route was down:\n%s", fmtEvents(e.rec.events(telemetry.DeliveryBounced)))
	}
}

// TestBrokenKeptConnectionRetried: a kept connection the next hop dropped
// meanwhile (idle timeout, 421) costs no deferral: the job goes again on a
// fresh connection.
func TestBrokenKeptConnectionRetried(t *testing.T) {
	hop := newFakeHop(t, func(s *smtp.Server) { s.ReadTimeout = 300 * time.Millisecond })
	cfg := testConfig(Route{Name: "fake", Match: "*", To: hop.url(), Concurrency: 1})
	cfg.Timeouts.Idle = time.Minute
	e := newEnv(t, cfg)
	e.waitGone(e.send("first", "a@dest.test"))
	waitFor(t, 5*time.Second, "the next hop to drop the idle connection", func() bool {
		_, _, logouts := hop.counts()
		return logouts > 0
	})
	id := e.send("second", "a@dest.test")
	e.waitGone(id)
	if n := hop.count(); n != 2 {
		t.Fatalf("next hop got %d messages", n)
	}
	if n := e.rec.count(telemetry.DeliveryDeferred); n != 0 {
		t.Errorf("deferred although only a stale connection failed:\n%s", fmtEvents(e.rec.events(telemetry.DeliveryDeferred)))
	}
	if n := e.st.OutgoingConnectionErrors.Load(); n != 1 {
		t.Errorf("OutgoingConnectionErrors %d, want 1", n)
	}
	if n := e.st.OutgoingConnectionsTotal.Load(); n != 2 {
		t.Errorf("OutgoingConnectionsTotal %d, want 2", n)
	}
}

// TestEightBitAfterResetOnStaleConnection: after a transaction that ended
// in RSET the client greets again on the next use; when the next hop has
// dropped the kept connection meanwhile, that greeting fails, and the
// next hop's extensions must not then look absent (which would bounce
// 8-bit mail for want of 8BITMIME).
func TestEightBitAfterResetOnStaleConnection(t *testing.T) {
	hop := newFakeHop(t, func(s *smtp.Server) { s.ReadTimeout = 300 * time.Millisecond })
	hop.setRcpt(func(to string) error {
		if to == "nobody@dest.test" {
			return smtpErr(550, [3]int{5, 1, 1}, "No such user")
		}
		return nil
	})
	cfg := testConfig(Route{Name: "fake", Match: "*", To: hop.url(), Concurrency: 1})
	cfg.Timeouts.Idle = time.Minute
	e := newEnv(t, cfg)
	// All recipients refused: the transaction ends with RSET and the
	// connection is kept.
	e.waitGone(e.spoolMsg(pipeline.Meta{Envelope: pipeline.Envelope{From: "", Recipients: rcpts("nobody@dest.test")}}, testContent("refused")))
	waitFor(t, 5*time.Second, "the next hop to drop the idle connection", func() bool {
		_, _, logouts := hop.counts()
		return logouts > 0
	})
	id := e.spoolMsg(pipeline.Meta{EightBit: true, Envelope: pipeline.Envelope{From: "", Recipients: rcpts("a@dest.test")}},
		[]byte("Subject: caf\xc3\xa9\r\n\r\n8-bit body \xc3\xa9\r\n"))
	e.waitGone(id)
	if _, ok := e.rec.eventFor(telemetry.DeliveryBounced, id); ok {
		t.Fatalf("8-bit message bounced on a stale connection:\n%s", fmtEvents(e.rec.events(0)))
	}
	if n := hop.count(); n != 1 {
		t.Errorf("next hop got %d messages, want the 8-bit one", n)
	}
	if n := e.st.SendFailed.With(string(telemetry.ReasonNo8BitMIME)).Load(); n != 0 {
		t.Errorf("SendFailed[8bitmime] = %d", n)
	}
}

// TestOpportunisticTLS: a next hop offering STARTTLS gets the message over
// TLS (self-signed certificate, not verified); one without STARTTLS gets
// it in plaintext; one whose TLS is broken gets it in plaintext after a
// fallback.
func TestOpportunisticTLS(t *testing.T) {
	t.Run("starttls", func(t *testing.T) {
		hop := newFakeHop(t, func(s *smtp.Server) { s.TLSConfig = selfSigned(t) })
		e := newEnv(t, testConfig(Route{Name: "tls", Match: "*", To: hop.url()}))
		content := testContent("tls")
		id := e.spoolMsg(pipeline.Meta{Envelope: pipeline.Envelope{From: testSender, Recipients: rcpts("a@dest.test")}}, content)
		e.waitGone(id)
		got := hop.received()
		if len(got) != 1 {
			t.Fatalf("next hop got %d messages", len(got))
		}
		if !got[0].TLS {
			t.Error("the transaction did not run over TLS")
		}
		if got[0].Helo != testHost {
			t.Errorf("EHLO after STARTTLS %q", got[0].Helo)
		}
		if !bytes.Equal(got[0].Data, content) {
			t.Errorf("content over TLS differs: %q", got[0].Data)
		}
		if _, tlsSess, _ := hop.counts(); tlsSess != 1 {
			t.Errorf("%d TLS sessions, want 1", tlsSess)
		}
	})
	t.Run("plaintext", func(t *testing.T) {
		hop := newFakeHop(t)
		e := newEnv(t, testConfig(Route{Name: "plain", Match: "*", To: hop.url()}))
		e.waitGone(e.send("plain", "a@dest.test"))
		got := hop.received()
		if len(got) != 1 || got[0].TLS {
			t.Fatalf("got %+v, want one plaintext message", got)
		}
	})
	t.Run("broken tls falls back", func(t *testing.T) {
		// No certificate: the handshake fails on the server side.
		hop := newFakeHop(t, func(s *smtp.Server) { s.TLSConfig = &tls.Config{} })
		e := newEnv(t, testConfig(Route{Name: "badtls", Match: "*", To: hop.url()}))
		id := e.send("badtls", "a@dest.test")
		e.waitGone(id)
		got := hop.received()
		if len(got) != 1 || got[0].TLS {
			t.Fatalf("got %d messages (tls=%v), want one in plaintext", len(got), len(got) == 1 && got[0].TLS)
		}
		if n := e.rec.count(telemetry.DeliveryDeferred); n != 0 {
			t.Errorf("TLS failure deferred the message:\n%s", fmtEvents(e.rec.events(0)))
		}
		if n := e.rec.count(telemetry.RouteUnreachable); n != 0 {
			t.Error("TLS failure marked the route down")
		}
		// The failure is remembered: the next connection does not try.
		e.d.mu.Lock()
		var p *pool
		for _, pp := range e.d.pools {
			p = pp
		}
		e.d.mu.Unlock()
		if p == nil || p.noTLSUntil.Load() <= time.Now().UnixMilli() {
			t.Error("pool does not remember the failed STARTTLS")
		}
	})
}

// TestSizeLimit: a next hop whose SIZE is smaller than the message fails
// the recipients with 5.3.4 before MAIL, counted as message_size_limit.
func TestSizeLimit(t *testing.T) {
	hop := newFakeHop(t, func(s *smtp.Server) { s.MaxMessageBytes = 64 })
	dsnDir := t.TempDir()
	e := newEnv(t, testConfig(
		Route{Name: "local", Match: "*@origin.test", To: "dir://" + dsnDir},
		Route{Name: "small", Match: "*", To: hop.url()},
	))
	id := e.send("a message that is longer than sixty-four bytes in total", "a@dest.test", "b@dest.test")
	e.waitGone(id)
	ev, ok := e.rec.eventFor(telemetry.DeliveryBounced, id)
	if !ok {
		t.Fatalf("no DeliveryBounced event:\n%s", fmtEvents(e.rec.events(0)))
	}
	if ev.Status != "5.3.4" || ev.Code != 552 || ev.Reason != telemetry.ReasonMessageSize || ev.Recipients != 2 {
		t.Errorf("bounce event %+v", ev)
	}
	if n := e.st.SendFailed.With(string(telemetry.ReasonMessageSize)).Load(); n != 1 {
		t.Errorf("SendFailed[message_size_limit] = %d, want 1", n)
	}
	if n := hop.mailCount(); n != 0 {
		t.Errorf("MAIL was sent %d times although the size was known too big", n)
	}
	_, raw := waitDirFile(t, dsnDir)
	_, _, content := splitDirFile(t, raw)
	dsn := parseDSN(t, content)
	for _, r := range []string{"a@dest.test", "b@dest.test"} {
		h := dsn.rcpt(t, r)
		if h.Get("Status") != "5.3.4" || h.Get("Action") != "failed" {
			t.Errorf("%s: Status %q Action %q", r, h.Get("Status"), h.Get("Action"))
		}
	}
}

// TestNo8BitMIME: 8-bit content to a next hop that does not offer
// 8BITMIME fails with 5.6.3 without MAIL. go-smtp's server always offers
// 8BITMIME, so a scripted next hop stands in.
func TestNo8BitMIME(t *testing.T) {
	hop := newScriptHop(t, "PIPELINING", "SIZE", "ENHANCEDSTATUSCODES")
	e := newEnv(t, testConfig(Route{Name: "seven", Match: "*", To: "smtp://" + hop.addr}))
	id := e.spoolMsg(pipeline.Meta{EightBit: true, Envelope: pipeline.Envelope{From: "", Recipients: rcpts("a@dest.test")}},
		[]byte("Subject: caf\xc3\xa9\r\n\r\n\xc3\xa9\r\n"))
	e.waitGone(id)
	ev, ok := e.rec.eventFor(telemetry.DeliveryBounced, id)
	if !ok {
		t.Fatalf("no bounce:\n%s", fmtEvents(e.rec.events(0)))
	}
	if ev.Status != "5.6.3" || ev.Reason != telemetry.ReasonNo8BitMIME {
		t.Errorf("bounce event %+v", ev)
	}
	if n := e.st.SendFailed.With(string(telemetry.ReasonNo8BitMIME)).Load(); n != 1 {
		t.Errorf("SendFailed[8bitmime] = %d", n)
	}
	for _, v := range hop.verbs() {
		if v == "MAIL" {
			t.Errorf("MAIL sent for 8-bit content to a 7-bit next hop: %v", hop.verbs())
		}
	}

	// 7-bit content goes to the same next hop fine.
	id = e.spoolMsg(pipeline.Meta{Envelope: pipeline.Envelope{From: "", Recipients: rcpts("a@dest.test")}}, testContent("seven"))
	e.waitGone(id)
	if _, ok := e.rec.eventFor(telemetry.DeliverySent, id); !ok {
		t.Errorf("7-bit message not delivered:\n%s", fmtEvents(e.rec.events(0)))
	}
}

// TestNoSMTPUTF8: a message needing SMTPUTF8 to a next hop without it
// fails with 5.6.7; with it, the MAIL carries SMTPUTF8.
func TestNoSMTPUTF8(t *testing.T) {
	plain := newFakeHop(t)
	utf := newFakeHop(t, func(s *smtp.Server) { s.EnableSMTPUTF8 = true })
	e := newEnv(t, testConfig(
		Route{Name: "utf", Match: "*@utf.test", To: utf.url()},
		Route{Name: "plain", Match: "*", To: plain.url()},
	))
	meta := func(to string) pipeline.Meta {
		return pipeline.Meta{Envelope: pipeline.Envelope{From: "", SMTPUTF8: true, Recipients: rcpts(to)}}
	}
	id := e.spoolMsg(meta("ü@plain.test"), testContent("utf8"))
	e.waitGone(id)
	ev, ok := e.rec.eventFor(telemetry.DeliveryBounced, id)
	if !ok || ev.Status != "5.6.7" || ev.Code != 553 {
		t.Errorf("bounce %+v (found %v), want 553 5.6.7", ev, ok)
	}
	if n := plain.mailCount(); n != 0 {
		t.Errorf("MAIL sent to the next hop without SMTPUTF8")
	}
	id = e.spoolMsg(meta("ü@utf.test"), testContent("utf8"))
	e.waitGone(id)
	got := utf.received()
	if len(got) != 1 || !got[0].Mail.UTF8 || got[0].Rcpts[0] != "ü@utf.test" {
		t.Errorf("SMTPUTF8 next hop got %+v", got)
	}
}

// TestMailRejected: 5xx at MAIL fails every recipient of the transaction;
// 4xx at MAIL defers them.
func TestMailRejected(t *testing.T) {
	hop := newFakeHop(t)
	hop.setMail(func(n int) error {
		if n == 1 {
			return smtpErr(450, [3]int{4, 2, 0}, "Mailbox busy")
		}
		return smtpErr(554, [3]int{5, 7, 1}, "Sender refused")
	})
	e := newEnv(t, testConfig(Route{Name: "fake", Match: "*", To: hop.url()}))
	id := e.spoolMsg(pipeline.Meta{Envelope: pipeline.Envelope{From: "", Recipients: rcpts("a@dest.test", "b@dest.test")}}, testContent("mail"))
	e.waitGone(id)
	if ev, ok := e.rec.eventFor(telemetry.DeliveryDeferred, id); !ok || ev.Status != "4.2.0" || ev.Recipients != 2 {
		t.Errorf("deferral %+v (found %v)", ev, ok)
	}
	ev, ok := e.rec.eventFor(telemetry.DeliveryBounced, id)
	if !ok || ev.Status != "5.7.1" || ev.Recipients != 2 || ev.Reason != telemetry.ReasonRejected || ev.Attempt != 2 {
		t.Errorf("bounce %+v (found %v)", ev, ok)
	}
	if n := e.st.SendFailed.With(string(telemetry.ReasonRejected)).Load(); n != 1 {
		t.Errorf("SendFailed[rejected] = %d", n)
	}
	if n := hop.count(); n != 0 {
		t.Errorf("next hop accepted %d messages", n)
	}
}

// TestStartSchedulesFromSpool: messages found at start go at once
// (incoming) or when their recorded next attempt is due (deferred).
func TestStartSchedulesFromSpool(t *testing.T) {
	hop := newFakeHop(t)
	e := openEnv(t, testConfig(Route{Name: "fake", Match: "*", To: hop.url()}))
	e.sp.OnQueued(nil) // not started: nothing to tell yet
	ready := e.send("ready", "a@dest.test")
	later := e.send("later", "b@dest.test")
	if err := e.sp.Move(later, spool.Incoming, spool.Deferred); err != nil {
		t.Fatal(err)
	}
	ent, err := e.sp.Load(spool.Deferred, later)
	if err != nil {
		t.Fatal(err)
	}
	due := time.Now().Add(500 * time.Millisecond)
	ent.State.Attempts, ent.State.Next = 1, due.UnixMilli()
	if err := e.sp.SaveState(ent, true); err != nil {
		t.Fatal(err)
	}
	readyIDs, deferredIDs, err := e.sp.Recover()
	if err != nil {
		t.Fatal(err)
	}
	e.sp.OnQueued(e.d.EnqueueEntry)
	e.d.Start(readyIDs, deferredIDs)

	e.waitGone(ready)
	if time.Until(due) > 100*time.Millisecond {
		if w := e.where(later); w != spool.Deferred {
			t.Errorf("deferred message is in %q before it is due", w)
		}
	}
	e.waitGone(later)
	got := hop.received()
	if len(got) != 2 {
		t.Fatalf("next hop got %d messages", len(got))
	}
	if got[1].Rcpts[0] != "b@dest.test" || got[1].At.Before(due.Add(-5*time.Millisecond)) {
		t.Errorf("deferred message delivered at %s, due %s", got[1].At, due)
	}
	if ev, ok := e.rec.eventFor(telemetry.DeliverySent, later); !ok || ev.Attempt != 2 {
		t.Errorf("DeliverySent for the deferred one %+v, want attempt 2", ev)
	}
}

// TestStopIsIdempotentAndLeavesQueue: Stop twice is fine; a message
// spooled after Stop stays queued.
func TestStopIsIdempotentAndLeavesQueue(t *testing.T) {
	hop := newFakeHop(t)
	e := newEnv(t, testConfig(Route{Name: "fake", Match: "*", To: hop.url()}))
	e.waitGone(e.send("before", "a@dest.test"))
	e.d.Stop()
	e.d.Stop()
	id := e.send("after", "a@dest.test")
	holdsFor(t, 200*time.Millisecond, "message stays incoming after Stop", func() bool { return e.where(id) == spool.Incoming })
	if n := hop.count(); n != 1 {
		t.Errorf("next hop got %d messages, want 1", n)
	}
	if n := e.st.OutgoingConnections.Load(); n != 0 {
		t.Errorf("%d connections open after Stop", n)
	}
}
