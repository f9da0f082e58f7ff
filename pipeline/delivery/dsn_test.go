package delivery

import (
	"bytes"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/gatewatch/gatewatch/pipeline"
	"github.com/gatewatch/gatewatch/pipeline/spool"
	"github.com/gatewatch/gatewatch/telemetry"
)

// dsnCapture catches generated DSNs as the spool queues them: the
// MessageQueued event comes after the file is in incoming and before
// delivery hears of it, so Load there always finds it.
type dsnCapture struct {
	mu      sync.Mutex
	metas   []pipeline.Meta
	content [][]byte
	errs    []error
}

func captureDSNs(e *env) *dsnCapture {
	c := &dsnCapture{}
	e.rec.setHook(func(ev telemetry.Event) {
		if ev.Type != telemetry.MessageQueued || ev.Sender != "" {
			return
		}
		ent, err := e.sp.Load(spool.Incoming, ev.QueueID)
		var b []byte
		if err == nil {
			var ct *spool.Content
			if ct, err = ent.OpenContent(); err == nil {
				b, err = io.ReadAll(ct)
				ct.Close()
			}
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		if err != nil {
			c.errs = append(c.errs, err)
			return
		}
		c.metas = append(c.metas, ent.Meta)
		c.content = append(c.content, b)
	})
	return c
}

func (c *dsnCapture) get(t testing.TB) ([]pipeline.Meta, [][]byte) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.errs) > 0 {
		t.Fatalf("loading a queued DSN: %v", c.errs)
	}
	return append([]pipeline.Meta(nil), c.metas...), append([][]byte(nil), c.content...)
}

// dsnEnv routes the sender's domain to a directory (where DSNs land) and
// dest.test to hop.
func dsnEnv(t *testing.T, hop *fakeHop) (*env, string) {
	dsnDir := t.TempDir()
	cfg := testConfig(
		Route{Name: "local", Match: "*@origin.test", To: "dir://" + dsnDir},
		Route{Name: "fake", Match: "*@dest.test", To: hop.url()},
	)
	return newEnv(t, cfg), dsnDir
}

func rejectBad(hop *fakeHop) {
	hop.setRcpt(func(to string) error {
		if to == "bad@dest.test" {
			return smtpErr(550, [3]int{5, 1, 1}, "No such user here")
		}
		return nil
	})
}

// TestRcptRejectedBounces: 5xx for one of two recipients; the other is
// delivered and the sender gets an RFC 3464 report for the failed one.
func TestRcptRejectedBounces(t *testing.T) {
	for _, ret := range []string{"", "FULL", "HDRS"} {
		t.Run("RET="+ret, func(t *testing.T) {
			hop := newFakeHop(t)
			rejectBad(hop)
			e, dsnDir := dsnEnv(t, hop)
			capt := captureDSNs(e)
			content := testContent("bounce")
			id := e.spoolMsg(pipeline.Meta{Envelope: pipeline.Envelope{From: testSender, Ret: ret, EnvID: "ENV-7",
				Recipients: []pipeline.Recipient{
					{Addr: "good@dest.test"},
					{Addr: "bad@dest.test", ORcpt: "orig-bad@dest.test", ORcptType: "RFC822"},
				}}, Subject: "bounce | test", MessageID: "<b1@sender.test>",
				Client:   pipeline.Client{IP: "192.0.2.9", Port: 4242, Helo: "client.test"},
				Verdicts: []pipeline.Verdict{{Stage: "antivirus", Status: "clean"}}}, content)
			e.waitGone(id)

			// The one record of the message: half delivered, half bounced.
			cev, ok := e.rec.eventFor(telemetry.MessageCompleted, id)
			if !ok || cev.Outcome != telemetry.OutcomePartial || cev.Action != "accept" || cev.Recipients != 2 ||
				cev.Recipient != "good@dest.test,bad@dest.test" || cev.Sender != testSender || cev.Code != 550 ||
				cev.Status != "5.1.1" || cev.Reason != telemetry.ReasonRejected || cev.Subject != "bounce | test" ||
				cev.MessageID != "<b1@sender.test>" || cev.ClientIP != "192.0.2.9" || cev.Helo != "client.test" ||
				cev.Verdicts != "antivirus=clean" || cev.Attempt != 1 || cev.Route != "fake" {
				t.Errorf("message.completed %+v (found %v)", cev, ok)
			}
			n := 0
			for _, ev := range e.rec.events(telemetry.MessageCompleted) {
				if ev.QueueID == id {
					n++
				}
			}
			if n != 1 {
				t.Errorf("%d message.completed events for the message, want 1", n)
			}

			got := hop.received()
			if len(got) != 1 || len(got[0].Rcpts) != 1 || got[0].Rcpts[0] != "good@dest.test" {
				t.Fatalf("next hop got %+v, want the message for good@dest.test only", got)
			}
			if ev, ok := e.rec.eventFor(telemetry.DeliverySent, id); !ok || ev.Recipients != 1 {
				t.Errorf("DeliverySent %+v", ev)
			}
			bev, ok := e.rec.eventFor(telemetry.DeliveryBounced, id)
			if !ok || bev.Recipient != "bad@dest.test" || bev.Status != "5.1.1" || bev.Reason != telemetry.ReasonRejected {
				t.Errorf("DeliveryBounced %+v (found %v)", bev, ok)
			}

			// The DSN as queued.
			name, raw := waitDirFile(t, dsnDir)
			metas, contents := capt.get(t)
			if len(metas) != 1 {
				t.Fatalf("%d DSNs queued, want 1", len(metas))
			}
			dm := metas[0]
			if dm.Kind != pipeline.KindDSN || dm.Parent != id || dm.Envelope.From != "" ||
				len(dm.Envelope.Recipients) != 1 || dm.Envelope.Recipients[0].Addr != testSender {
				t.Errorf("DSN meta %+v", dm)
			}
			if name != dm.ID+".0.eml" {
				t.Errorf("DSN file %s, want %s.0.eml", name, dm.ID)
			}
			if n := e.st.DSNGenerated.Load(); n != 1 {
				t.Errorf("DSNGenerated %d", n)
			}
			gev, ok := e.rec.eventFor(telemetry.DSNGenerated, dm.ID)
			if !ok || gev.Recipient != testSender || gev.Recipients != 1 {
				t.Errorf("DSNGenerated event %+v (found %v)", gev, ok)
			}

			// ... and as delivered to the sender.
			rp, origTo, body := splitDirFile(t, raw)
			if rp != "<>" || len(origTo) != 1 || origTo[0] != "<"+testSender+">" {
				t.Errorf("DSN envelope lines: Return-Path %s, X-Original-To %v", rp, origTo)
			}
			if !bytes.Equal(body, contents[0]) {
				t.Error("DSN in the directory differs from the DSN queued")
			}
			e.waitGone(dm.ID)
			if dev, ok := e.rec.eventFor(telemetry.MessageCompleted, dm.ID); !ok || dev.Outcome != telemetry.OutcomeDelivered || dev.Sender != "" {
				t.Errorf("message.completed of the DSN: %+v (found %v)", dev, ok)
			}

			dsn := parseDSN(t, body)
			if dsn.ReportType != "delivery-status" {
				t.Errorf("report-type=%q", dsn.ReportType)
			}
			if h := dsn.Header.Get("To"); h != "<"+testSender+">" {
				t.Errorf("To: %q", h)
			}
			mustContain(t, dsn.Header.Get("From"), "MAILER-DAEMON@"+testHost)
			if dsn.Header.Get("Auto-Submitted") != "auto-replied" {
				t.Errorf("Auto-Submitted: %q", dsn.Header.Get("Auto-Submitted"))
			}
			if dsn.Parts[0].Type != "text/plain" {
				t.Errorf("part 1 %s", dsn.Parts[0].Type)
			}
			mustContain(t, string(dsn.Parts[0].Body), "<bad@dest.test>: failed")
			pm := dsn.PerMessage
			if pm.Get("Reporting-MTA") != "dns; "+testHost || pm.Get("X-Gatewatch-Queue-ID") != id || pm.Get("Original-Envelope-Id") != "ENV-7" {
				t.Errorf("per-message fields: %v", pm.Map())
			}
			if len(dsn.PerRcpt) != 1 {
				t.Fatalf("%d recipients reported, want only the failed one", len(dsn.PerRcpt))
			}
			r := dsn.rcpt(t, "bad@dest.test")
			if r.Get("Action") != "failed" || r.Get("Status") != "5.1.1" {
				t.Errorf("Action %q Status %q", r.Get("Action"), r.Get("Status"))
			}
			if r.Get("Diagnostic-Code") != "smtp; 550 5.1.1 No such user here" {
				t.Errorf("Diagnostic-Code %q", r.Get("Diagnostic-Code"))
			}
			if r.Get("Original-Recipient") != "RFC822; orig-bad@dest.test" {
				t.Errorf("Original-Recipient %q", r.Get("Original-Recipient"))
			}
			if r.Get("Remote-MTA") != "dns; 127.0.0.1" {
				t.Errorf("Remote-MTA %q", r.Get("Remote-MTA"))
			}

			third := dsn.Parts[2]
			if ret == "HDRS" {
				if third.Type != "text/rfc822-headers" {
					t.Fatalf("RET=HDRS returned %s", third.Type)
				}
				mustContain(t, string(third.Body), "Subject: bounce")
				if strings.Contains(string(third.Body), "Hello,") {
					t.Error("RET=HDRS returned the body")
				}
			} else {
				if third.Type != "message/rfc822" {
					t.Fatalf("RET=%q returned %s", ret, third.Type)
				}
				if !bytes.Equal(third.Body, content) {
					t.Errorf("returned message differs:\n got %q\nwant %q", third.Body, content)
				}
			}
		})
	}
}

// TestNoDSNWhenNotWanted: NOTIFY=NEVER and the null sender get no report.
func TestNoDSNWhenNotWanted(t *testing.T) {
	cases := map[string]pipeline.Envelope{
		"notify never":        {From: testSender, Recipients: []pipeline.Recipient{{Addr: "good@dest.test"}, {Addr: "bad@dest.test", Notify: []string{"NEVER"}}}},
		"notify success only": {From: testSender, Recipients: []pipeline.Recipient{{Addr: "bad@dest.test", Notify: []string{"SUCCESS"}}}},
		"null sender":         {From: "", Recipients: rcpts("good@dest.test", "bad@dest.test")},
	}
	for name, envl := range cases {
		t.Run(name, func(t *testing.T) {
			hop := newFakeHop(t)
			rejectBad(hop)
			e, dsnDir := dsnEnv(t, hop)
			id := e.spoolMsg(pipeline.Meta{Envelope: envl}, testContent("nodsn"))
			e.waitGone(id)
			// A DSN is queued before the original leaves the spool, so
			// by now there would be one.
			if _, ok := e.rec.eventFor(telemetry.DeliveryBounced, id); !ok {
				t.Fatal("bad@dest.test did not bounce")
			}
			if n := e.st.DSNGenerated.Load(); n != 0 {
				t.Errorf("DSNGenerated %d, want 0", n)
			}
			if q := e.queued(); len(q) != 0 {
				t.Errorf("spool holds %v", q)
			}
			if fs := dirFiles(t, dsnDir); len(fs) != 0 {
				t.Errorf("DSN files %v", fs)
			}
		})
	}
}

// TestSuccessDSNWithoutOnwardDSN: NOTIFY=SUCCESS through a next hop that
// does not offer DSN gets a "relayed" report from us.
func TestSuccessDSNWithoutOnwardDSN(t *testing.T) {
	hop := newFakeHop(t, func(s *smtp.Server) { s.EnableDSN = false })
	e, dsnDir := dsnEnv(t, hop)
	id := e.spoolMsg(pipeline.Meta{Envelope: pipeline.Envelope{From: testSender, Ret: "HDRS", EnvID: "E1",
		Recipients: []pipeline.Recipient{{Addr: "a@dest.test", Notify: []string{"SUCCESS"}}, {Addr: "b@dest.test"}}}},
		testContent("relayed"))
	e.waitGone(id)
	got := hop.received()
	if len(got) != 1 || got[0].Mail.Return != "" || got[0].Mail.EnvelopeID != "" || len(got[0].RcptOpts[0].Notify) != 0 {
		t.Fatalf("DSN parameters sent to a next hop without DSN: %+v", got)
	}
	_, raw := waitDirFile(t, dsnDir)
	_, _, body := splitDirFile(t, raw)
	dsn := parseDSN(t, body)
	if len(dsn.PerRcpt) != 1 {
		t.Fatalf("%d recipients reported, want a@ only", len(dsn.PerRcpt))
	}
	r := dsn.rcpt(t, "a@dest.test")
	if r.Get("Action") != "relayed" || r.Get("Status") != "2.0.0" {
		t.Errorf("Action %q Status %q", r.Get("Action"), r.Get("Status"))
	}
	if dsn.Header.Get("Subject") != "Delivery Status Notification (Success)" {
		t.Errorf("Subject %q", dsn.Header.Get("Subject"))
	}
}

// TestNoRouteBounces: a recipient no route matches fails with 5.4.4.
func TestNoRouteBounces(t *testing.T) {
	hop := newFakeHop(t)
	e, dsnDir := dsnEnv(t, hop)
	id := e.send("noroute", "a@dest.test", "x@nowhere.test")
	e.waitGone(id)
	if n := hop.count(); n != 1 {
		t.Errorf("next hop got %d", n)
	}
	_, raw := waitDirFile(t, dsnDir)
	_, _, body := splitDirFile(t, raw)
	dsn := parseDSN(t, body)
	r := dsn.rcpt(t, "x@nowhere.test")
	if r.Get("Status") != "5.4.4" || r.Get("Action") != "failed" {
		t.Errorf("no-route status %q action %q", r.Get("Status"), r.Get("Action"))
	}
	mustContain(t, r.Get("Diagnostic-Code"), "No route")
}

// TestLifetimeExpiry: with a next hop that always defers, the recipient
// fails with 4.4.7 once the queue lifetime is over, and the message leaves
// the spool.
func TestLifetimeExpiry(t *testing.T) {
	hop := newFakeHop(t)
	hop.setRcpt(func(string) error { return smtpErr(451, [3]int{4, 3, 2}, "Not now") })
	dsnDir := t.TempDir()
	cfg := testConfig(
		Route{Name: "local", Match: "*@origin.test", To: "dir://" + dsnDir},
		Route{Name: "fake", Match: "*@dest.test", To: hop.url()},
	)
	cfg.Retry.Lifetime = 150 * time.Millisecond
	e := newEnv(t, cfg)
	id := e.send("expire", "a@dest.test")
	e.waitGone(id)
	if hop.mailCount() < 1 {
		t.Error("never tried")
	}
	var bev telemetry.Event
	for _, ev := range e.rec.events(telemetry.DeliveryBounced) {
		if ev.QueueID == id && ev.Reason == telemetry.ReasonExpired {
			bev = ev
		}
	}
	if bev.Status != "4.4.7" || bev.Recipient != "a@dest.test" {
		t.Errorf("expiry event %+v", bev)
	}
	if n := e.st.SendFailed.With(string(telemetry.ReasonExpired)).Load(); n != 1 {
		t.Errorf("SendFailed[expired] %d", n)
	}
	_, raw := waitDirFile(t, dsnDir)
	_, _, body := splitDirFile(t, raw)
	dsn := parseDSN(t, body)
	r := dsn.rcpt(t, "a@dest.test")
	if r.Get("Status") != "4.4.7" || r.Get("Action") != "failed" {
		t.Errorf("Status %q Action %q", r.Get("Status"), r.Get("Action"))
	}
	mustContain(t, r.Get("Diagnostic-Code"), "Delivery time expired")
	mustContain(t, r.Get("Diagnostic-Code"), "451 4.3.2 Not now")
	if n := hop.count(); n != 0 {
		t.Errorf("next hop accepted %d", n)
	}
}

// TestBuildDSN checks the report builder directly: both kinds of
// recipient, the subject, and that a big message is returned as headers.
func TestBuildDSN(t *testing.T) {
	orig := pipeline.Meta{ID: "0123456789ABCDEF", Received: time.Now().Add(-time.Minute),
		Envelope: pipeline.Envelope{From: testSender, EnvID: "id\r\nInjected: yes"}}
	content := testContent("build")
	orig.Size = int64(len(content))
	reports := []dsnReport{
		{rcpt: pipeline.Recipient{Addr: "f@dest.test"}, action: "failed", reply: pipeline.Reply{Code: 554, Enhanced: [3]int{5, 7, 1}, Text: "line one\r\nline two"}, remote: "192.0.2.1:25"},
		{rcpt: pipeline.Recipient{Addr: "ü@dest.test"}, action: "failed", reply: pipeline.Reply{Code: 550}},
		{rcpt: pipeline.Recipient{Addr: "d@dest.test"}, action: "delivered", reply: pipeline.Reply{Code: 250, Enhanced: [3]int{2, 0, 0}, Text: "ok"}},
	}
	b, err := buildDSN(testHost, orig, bytes.NewReader(content), reports, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	dsn := parseDSN(t, b)
	if dsn.Header.Get("Subject") != "Undelivered Mail Returned to Sender" {
		t.Errorf("Subject %q", dsn.Header.Get("Subject"))
	}
	if got := dsn.PerMessage.Get("Original-Envelope-Id"); got != "idInjected: yes" {
		t.Errorf("Original-Envelope-Id %q: control characters must go", got)
	}
	if dsn.PerMessage.Get("Injected") != "" {
		t.Error("ENVID injected a header field")
	}
	f := dsn.rcpt(t, "f@dest.test")
	if f.Get("Diagnostic-Code") != "smtp; 554 5.7.1 line one line two" || f.Get("Remote-MTA") != "dns; 192.0.2.1" {
		t.Errorf("f: %v", f.Map())
	}
	var u bool
	for _, h := range dsn.PerRcpt {
		if h.Get("Final-Recipient") == "utf-8; ü@dest.test" {
			u = true
			if h.Get("Status") != "5.0.0" {
				t.Errorf("status without enhanced code %q, want 5.0.0", h.Get("Status"))
			}
		}
	}
	if !u {
		t.Error("no utf-8 Final-Recipient for the non-ASCII address")
	}
	if d := dsn.rcpt(t, "d@dest.test"); d.Get("Status") != "2.0.0" || d.Get("Action") != "delivered" {
		t.Errorf("d: %v", d.Map())
	}
	if !bytes.Equal(dsn.ReturnedRaw, content) {
		t.Error("full message not returned")
	}

	// Too big to return whole: headers only.
	big := append(append([]byte(nil), content...), bytes.Repeat([]byte("x"), maxReturnedContent)...)
	orig.Size = int64(len(big))
	b, err = buildDSN(testHost, orig, bytes.NewReader(big), reports[:1], time.Now())
	if err != nil {
		t.Fatal(err)
	}
	dsn = parseDSN(t, b)
	if dsn.Parts[2].Type != "text/rfc822-headers" {
		t.Errorf("big message returned as %s", dsn.Parts[2].Type)
	}
}

func TestDSNStatus(t *testing.T) {
	cases := []struct {
		r    dsnReport
		want string
	}{
		{dsnReport{action: "failed", reply: pipeline.Reply{Code: 550, Enhanced: [3]int{5, 1, 1}}}, "5.1.1"},
		{dsnReport{action: "failed", reply: pipeline.Reply{Code: 554, Enhanced: [3]int{4, 4, 7}}}, "4.4.7"},
		{dsnReport{action: "failed", reply: pipeline.Reply{Code: 550}}, "5.0.0"},
		{dsnReport{action: "failed", reply: pipeline.Reply{Code: 450}}, "4.0.0"},
		{dsnReport{action: "relayed", reply: pipeline.Reply{Code: 250, Enhanced: [3]int{2, 1, 5}}}, "2.0.0"},
		{dsnReport{action: "delivered"}, "2.0.0"},
	}
	for _, tc := range cases {
		if got := dsnStatus(tc.r); got != tc.want {
			t.Errorf("dsnStatus(%+v) = %s, want %s", tc.r, got, tc.want)
		}
	}
}
