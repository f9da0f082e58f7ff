package notify

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatewatch/gatewatch/configs"
	"github.com/gatewatch/gatewatch/internal/eventlog"
	"github.com/gatewatch/gatewatch/pipeline"
	"github.com/gatewatch/gatewatch/pipeline/spool"
	"github.com/gatewatch/gatewatch/telemetry"
)

func TestNotifyQueuesEachKind(t *testing.T) {
	e := newEnv(t, Config{Admin: "admin@example.com"})
	m := message("sender@example.org", "Cheap watches")
	e.n.Notify(m, outcome(pipeline.NotifySender, pipeline.NotifyRecipients, pipeline.NotifyAdmin), "0COPYID0000000000001")

	got := e.byKind(t)
	if len(got) != 3 {
		t.Fatalf("queued %d notifications, want 3 (sender, recipients, admin)", len(got))
	}
	wantTo := map[string][]string{
		pipeline.NotifySender:     {"sender@example.org"},
		pipeline.NotifyRecipients: {"alice@example.com", "bob@example.com"},
		pipeline.NotifyAdmin:      {"admin@example.com"},
	}
	for kind, q := range got {
		meta := q.entry.Meta
		if meta.Envelope.From != "" {
			t.Errorf("%s: envelope sender %q, want the null sender", kind, meta.Envelope.From)
		}
		var to []string
		for _, r := range meta.Envelope.Recipients {
			to = append(to, r.Addr)
		}
		if !slices.Equal(to, wantTo[kind]) {
			t.Errorf("%s: envelope recipients %v, want %v", kind, to, wantTo[kind])
		}
		if meta.Kind != pipeline.KindNotification || meta.Parent != "0COPYID0000000000001" {
			t.Errorf("%s: kind %q parent %q", kind, meta.Kind, meta.Parent)
		}
		h := q.header
		checks := map[string]string{
			"Auto-Submitted":            "auto-generated",
			"X-Gatewatch-Parent-ID":     "0COPYID0000000000001",
			"X-Gatewatch-ID":            meta.ID,
			"From":                      "Mail Gateway <postmaster@mx.example.net>",
			"Message-ID":                "<" + meta.ID + ".notify-" + kind + "@mx.example.net>",
			"MIME-Version":              "1.0",
			"Content-Type":              "text/plain; charset=utf-8",
			"Content-Transfer-Encoding": "7bit",
			"Date":                      "Sun, 01 Jun 2025 12:00:00 +0000",
		}
		for name, want := range checks {
			if v := h.Get(name); v != want {
				t.Errorf("%s: %s: %q, want %q", kind, name, v, want)
			}
		}
		for _, a := range wantTo[kind] {
			if !strings.Contains(h.Get("To"), "<"+a+">") {
				t.Errorf("%s: To %q lacks %s", kind, h.Get("To"), a)
			}
		}
		if meta.Subject == "" || q.subject != meta.Subject {
			t.Errorf("%s: Subject field %q, meta subject %q", kind, q.subject, meta.Subject)
		}
		if !strings.Contains(q.body, "0COPYID0000000000001") {
			t.Errorf("%s: body does not quote the copy's ID:\n%s", kind, q.body)
		}
		if bare := regexp.MustCompile(`[^\r]\n`).FindIndex(q.raw); bare != nil {
			t.Errorf("%s: bare LF at %d", kind, bare[0])
		}
	}
	if s := got[pipeline.NotifySender].subject; !strings.Contains(s, "Cheap watches") || !strings.Contains(s, "Held") {
		t.Errorf("sender subject %q: want the original subject and that it was held", s)
	}
	admin := got[pipeline.NotifyAdmin].body
	for _, want := range []string{"192.0.2.99", "antispam=spam(12.5): BAYES_99", "staff", "gatewatch quarantine release 0COPYID0000000000001", "0MSGID00000000000001"} {
		if !strings.Contains(admin, want) {
			t.Errorf("admin body lacks %q:\n%s", want, admin)
		}
	}
	if strings.Contains(got[pipeline.NotifySender].body, "192.0.2.99") || strings.Contains(got[pipeline.NotifySender].body, "BAYES") {
		t.Errorf("sender body shows internals:\n%s", got[pipeline.NotifySender].body)
	}
	sent := e.rec.OfType(telemetry.NotificationSent)
	for _, ev := range sent {
		q := got[ev.Category]
		if ev.Parent != "0COPYID0000000000001" || ev.Size != q.entry.Meta.Size || ev.Recipients != len(wantTo[ev.Category]) ||
			ev.Recipient != strings.Join(wantTo[ev.Category], ",") {
			t.Errorf("event %+v does not match its message", ev)
		}
	}
}

func TestParentDefaultsToMessage(t *testing.T) {
	e := newEnv(t, Config{Admin: "admin@example.com"})
	e.n.Notify(message("s@example.org", "x"), outcome(pipeline.NotifyAdmin), "")
	q := e.byKind(t)[pipeline.NotifyAdmin]
	if q.entry == nil || q.entry.Meta.Parent != "0MSGID00000000000001" || q.header.Get("X-Gatewatch-Parent-ID") != "0MSGID00000000000001" {
		t.Fatalf("without a copy ID the parent must be the message: %+v", q.entry)
	}
	if strings.Contains(q.body, "a copy of") {
		t.Errorf("admin body calls the message a copy of itself:\n%s", q.body)
	}
}

func TestSenderSuppression(t *testing.T) {
	for _, tc := range []struct {
		name   string
		from   string
		kind   pipeline.Kind
		header []string
		reason telemetry.Reason // "" = sent
	}{
		{name: "null sender", from: "", reason: telemetry.ReasonNullSender},
		{name: "auto-replied", from: "s@example.org", header: []string{"Auto-Submitted", "auto-replied"}, reason: telemetry.ReasonAutoSubmitted},
		{name: "auto-generated with params", from: "s@example.org", header: []string{"Auto-Submitted", " Auto-Generated; owner-email=x@y"}, reason: telemetry.ReasonAutoSubmitted},
		{name: "auto-submitted no", from: "s@example.org", header: []string{"Auto-Submitted", " No ; comment=1"}},
		{name: "precedence bulk", from: "s@example.org", header: []string{"Precedence", "Bulk"}, reason: telemetry.ReasonAutoSubmitted},
		{name: "precedence first-class", from: "s@example.org", header: []string{"Precedence", "first-class"}},
		{name: "list", from: "s@example.org", header: []string{"List-Id", "<l.example.org>"}, reason: telemetry.ReasonAutoSubmitted},
		{name: "dsn", from: "s@example.org", kind: pipeline.KindDSN, reason: telemetry.ReasonAutoSubmitted},
		{name: "notification", from: "s@example.org", kind: pipeline.KindNotification, reason: telemetry.ReasonAutoSubmitted},
		{name: "plain", from: "s@example.org"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, Config{})
			m := message(tc.from, "hello", tc.header...)
			if tc.kind != "" {
				m.Kind = tc.kind
			}
			e.n.Notify(m, outcome(pipeline.NotifySender), "")
			queued := e.incoming(t)
			sup := e.rec.OfType(telemetry.NotificationSuppressed)
			if tc.reason == "" {
				if len(queued) != 1 || len(sup) != 0 {
					t.Fatalf("queued %d, suppressed %v; want it sent", len(queued), reasons(sup))
				}
				return
			}
			if len(queued) != 0 {
				t.Errorf("queued %d notifications, want none", len(queued))
			}
			if len(sup) != 1 || sup[0].Reason != tc.reason || sup[0].Category != pipeline.NotifySender {
				t.Fatalf("suppressed events %+v, want one for the sender with %s", sup, tc.reason)
			}
		})
	}
}

func TestRecipientsSuppressionIsNotSenderRules(t *testing.T) {
	// A list message to our users still tells our users.
	e := newEnv(t, Config{})
	e.n.Notify(message("", "list mail", "List-Id", "<l.example.org>"), outcome(pipeline.NotifyRecipients), "")
	if n := len(e.incoming(t)); n != 1 {
		t.Fatalf("queued %d, want 1", n)
	}
}

func TestAdminWithoutAddressIsSilent(t *testing.T) {
	e := newEnv(t, Config{})
	e.n.Notify(message("s@example.org", "x"), outcome(pipeline.NotifyAdmin, pipeline.NotifyAdmin), "")
	if n := len(e.incoming(t)); n != 0 {
		t.Errorf("queued %d, want none", n)
	}
	if evs := e.rec.All(); len(evs) != 0 {
		t.Errorf("events %+v, want none", evs)
	}
}

func TestDuplicateKindsNotifyOnce(t *testing.T) {
	e := newEnv(t, Config{})
	o := outcome(pipeline.NotifyRecipients, pipeline.NotifyRecipients)
	o.Recipients = append(o.Recipients, pipeline.Recipient{Addr: "ALICE@example.com"})
	e.n.Notify(message("s@example.org", "x"), o, "")
	q := e.incoming(t)
	if len(q) != 1 || len(q[0].entry.Meta.Envelope.Recipients) != 2 {
		t.Fatalf("want one notification to 2 distinct addresses, got %d", len(q))
	}
}

func TestRateLimit(t *testing.T) {
	e := newEnv(t, Config{RatePerHour: 2})
	m := message("s@example.org", "x")
	o := outcome(pipeline.NotifySender)
	for range 3 {
		e.n.Notify(m, o, "")
		e.clock.advance(time.Minute)
	}
	if n := len(e.incoming(t)); n != 2 {
		t.Fatalf("queued %d, want 2", n)
	}
	sup := e.rec.OfType(telemetry.NotificationSuppressed)
	if len(sup) != 1 || sup[0].Reason != telemetry.ReasonRateLimited || sup[0].Recipient != "s@example.org" {
		t.Fatalf("suppressed %+v, want one rate_limited for s@example.org", sup)
	}
	// The first two are still within the hour: another one is refused.
	e.clock.advance(56*time.Minute + 59*time.Second) // 59:59 after the first
	e.n.Notify(m, o, "")
	if n := len(e.rec.OfType(telemetry.NotificationSuppressed)); n != 2 {
		t.Fatalf("%d suppressed within the hour, want 2", n)
	}
	e.clock.advance(time.Second) // the first one leaves the hour
	e.n.Notify(m, o, "")
	if n := len(e.incoming(t)); n != 3 {
		t.Fatalf("queued %d after the hour, want 3", n)
	}
}

func TestRateLimitPerRecipientAddress(t *testing.T) {
	e := newEnv(t, Config{RatePerHour: 1})
	m := message("s@example.org", "x")
	first := outcome(pipeline.NotifyRecipients)
	first.Recipients = first.Recipients[:1] // alice only
	e.n.Notify(m, first, "")
	second := outcome(pipeline.NotifyRecipients)
	second.Recipients[0].Addr = "Alice@Example.com" // the same address
	e.n.Notify(m, second, "")

	q := e.incoming(t)
	if len(q) != 2 {
		t.Fatalf("queued %d, want 2", len(q))
	}
	var rcpts []string
	for _, r := range q[1].entry.Meta.Envelope.Recipients {
		rcpts = append(rcpts, r.Addr)
	}
	if !slices.Equal(rcpts, []string{"bob@example.com"}) || strings.Contains(strings.ToLower(q[1].header.Get("To")), "alice") {
		t.Errorf("second notification to %v (To %q), want bob only", rcpts, q[1].header.Get("To"))
	}
	sup := e.rec.OfType(telemetry.NotificationSuppressed)
	if len(sup) != 1 || sup[0].Reason != telemetry.ReasonRateLimited || sup[0].Recipient != "Alice@Example.com" {
		t.Errorf("suppressed %+v, want alice rate limited", sup)
	}
	// With every address over its limit nothing is queued.
	e.n.Notify(m, first, "")
	if n := len(e.incoming(t)); n != 2 {
		t.Errorf("queued %d, want still 2", n)
	}
}

func TestLimiterForgetsIdleAddresses(t *testing.T) {
	l := newLimiter()
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range sweepAbove {
		l.allow("a"+string(rune('a'+i%26))+strings.Repeat("x", i/26)+"@example.com", 1, t0)
	}
	if n := tracked(l); n != sweepAbove {
		t.Fatalf("tracking %d, want %d", n, sweepAbove)
	}
	later := t0.Add(window + time.Second)
	if !l.allow("new@example.com", 1, later) {
		t.Fatal("a new address was refused")
	}
	if n := tracked(l); n != 1 {
		t.Fatalf("after the sweep tracking %d, want 1 (the idle ones forgotten)", n)
	}
}

func tracked(l *limiter) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.sent)
}

func TestHeaderInjection(t *testing.T) {
	e := newEnv(t, Config{Admin: "admin@example.com"})
	m := message("s@example.org", "hi\r\nBcc: evil@x", "X-Other", "y")
	m.MessageID = "<a@b>\r\nCc: evil2@x"
	o := outcome(pipeline.NotifySender, pipeline.NotifyRecipients, pipeline.NotifyAdmin)
	o.Group = "g\nReply-To: evil3@x"
	e.n.Notify(m, o, "")
	q := e.incoming(t)
	if len(q) != 3 {
		t.Fatalf("queued %d, want 3", len(q))
	}
	for _, n := range q {
		for _, f := range []string{"Bcc", "Cc", "Reply-To"} {
			if n.header.Has(f) {
				t.Errorf("%s: header has %s: %q", n.entry.Meta.ID, f, n.header.Get(f))
			}
		}
		head, _, _ := strings.Cut(string(n.raw), "\r\n\r\n")
		if regexp.MustCompile(`(?im)^(bcc|cc|reply-to):`).MatchString(head) {
			t.Errorf("injected field in\n%s", head)
		}
		if n.entry.Meta.Envelope.Recipients[0].Addr == "evil@x" {
			t.Error("injected recipient")
		}
	}
	if s := e.byKind(t)[pipeline.NotifySender].subject; !strings.Contains(s, "hi  Bcc: evil@x") {
		t.Errorf("sender subject %q: want the original subject on one line", s)
	}
}

func TestNonASCII(t *testing.T) {
	e := newEnv(t, Config{})
	e.n.Notify(message("s@example.org", "Grüße aus Köln"), outcome(pipeline.NotifySender), "")
	q := e.incoming(t)
	if len(q) != 1 {
		t.Fatalf("queued %d", len(q))
	}
	if !strings.Contains(q[0].subject, "=?utf-8?q?") {
		t.Errorf("Subject %q is not RFC 2047 encoded", q[0].subject)
	}
	if !strings.Contains(q[0].entry.Meta.Subject, "Grüße aus Köln") {
		t.Errorf("meta subject %q, want it decoded", q[0].entry.Meta.Subject)
	}
	// The shipped sender template quotes the subject in the body.
	if q[0].header.Get("Content-Transfer-Encoding") != "8bit" || !q[0].entry.Meta.EightBit {
		t.Errorf("8-bit body marked %q, eightbit %v", q[0].header.Get("Content-Transfer-Encoding"), q[0].entry.Meta.EightBit)
	}
}

func TestOverrideTemplatesAndExtraFields(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "sender.tmpl", "Subject: custom {{.Status}}\nX-Custom: yes\nFrom: evil@x\nAuto-Submitted: no\nReply-To: helpdesk@example.com\n\nline one\nline two\n")
	e := newEnv(t, Config{Templates: dir, From: "notices@example.com", Admin: "admin@example.com"})
	e.n.Notify(message("s@example.org", "x"), outcome(pipeline.NotifySender, pipeline.NotifyAdmin), "")
	got := e.byKind(t)
	s := got[pipeline.NotifySender]
	if s.subject != "custom spam" || s.header.Get("X-Custom") != "yes" || s.header.Get("Reply-To") != "helpdesk@example.com" {
		t.Errorf("override not used: subject %q, X-Custom %q, Reply-To %q", s.subject, s.header.Get("X-Custom"), s.header.Get("Reply-To"))
	}
	if froms := s.header.Values("From"); len(froms) != 1 || froms[0] != "Mail Gateway <notices@example.com>" {
		t.Errorf("From %q: the template must not set it", froms)
	}
	if v := s.header.Values("Auto-Submitted"); len(v) != 1 || v[0] != "auto-generated" {
		t.Errorf("Auto-Submitted %q: the template must not set it", v)
	}
	if s.body != "line one\r\nline two\r\n" {
		t.Errorf("body %q, want CRLF lines", s.body)
	}
	if !strings.Contains(got[pipeline.NotifyAdmin].subject, "[gatewatch]") {
		t.Errorf("admin subject %q: a missing override must fall back to the shipped template", got[pipeline.NotifyAdmin].subject)
	}
}

// TestEventTemplatesOverrideTheKind: <kind>.<event>.tmpl is used for its
// event only; other events keep <kind>.tmpl.
func TestEventTemplatesOverrideTheKind(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "sender.reject.tmpl", "Subject: refused {{.ID}}\n\nRefused.\n")
	writeFile(t, dir, "sender.tmpl", "Subject: generic {{.Action}}\n\nSomething happened.\n")
	e := newEnv(t, Config{Templates: dir})
	refused := outcome(pipeline.NotifySender)
	refused.Action = pipeline.ActionReject
	e.n.Notify(message("s@example.org", "x"), refused, "0REJECTED0000001")
	if got := e.byKind(t)[pipeline.NotifySender].subject; got != "refused 0REJECTED0000001" {
		t.Errorf("reject notification subject %q, want the event's template", got)
	}
	e2 := newEnv(t, Config{Templates: dir})
	dropped := outcome(pipeline.NotifySender)
	dropped.Action = pipeline.ActionDiscard
	e2.n.Notify(message("s@example.org", "x"), dropped, "")
	if got := e2.byKind(t)[pipeline.NotifySender].subject; got != "generic drop" {
		t.Errorf("drop notification subject %q, want the kind's template", got)
	}
	writeFile(t, dir, "admin.quarantine.tmpl", "Subject: q\n\n{{.Nope}}\n")
	if err := Check(Config{Templates: dir}, configs.NotifyTemplates()); err == nil || !strings.Contains(err.Error(), "admin.quarantine.tmpl:3:") {
		t.Errorf("Check of a broken event template: %v", err)
	}
}

func TestRuntimeTemplateFailureFallsBack(t *testing.T) {
	dir := t.TempDir()
	// Both pass Check (the samples are spam) and fail for a virus.
	writeFile(t, dir, "sender.tmpl", "Subject: s\n\n{{if eq .Status \"virus\"}}{{index .Recipients 7}}{{end}}\n")
	writeFile(t, dir, "admin.tmpl", "{{if ne .Status \"virus\"}}Subject: a\n{{end}}\nbody for {{.ID}}\n")
	e := newEnv(t, Config{Templates: dir, Admin: "admin@example.com"})
	o := outcome(pipeline.NotifySender, pipeline.NotifyAdmin)
	o.Status = pipeline.StatusVirus
	e.n.Notify(message("s@example.org", "x"), o, "0COPYID0000000000001")
	got := e.byKind(t)
	if len(got) != 2 {
		t.Fatalf("queued %d, want 2", len(got))
	}
	for kind, q := range got {
		if q.subject != "Message 0COPYID0000000000001: virus" {
			t.Errorf("%s: subject %q, want the built-in one", kind, q.subject)
		}
	}
	if !strings.Contains(got[pipeline.NotifyAdmin].body, "body for 0COPYID0000000000001") {
		t.Errorf("admin body %q: want the template's output", got[pipeline.NotifyAdmin].body)
	}
	if !strings.Contains(got[pipeline.NotifySender].body, "status virus") {
		t.Errorf("sender body %q: want the built-in text", got[pipeline.NotifySender].body)
	}
	for _, ev := range e.rec.OfType(telemetry.NotificationSent) {
		if !strings.Contains(ev.Text, filepath.Join(dir, ev.Category+".tmpl")) {
			t.Errorf("%s: event text %q does not name the template", ev.Category, ev.Text)
		}
	}
}

func TestSpoolFailureIsReported(t *testing.T) {
	e := newEnv(t, Config{})
	if err := os.RemoveAll(filepath.Join(e.dir, "tmp")); err != nil {
		t.Fatal(err)
	}
	e.n.Notify(message("s@example.org", "x"), outcome(pipeline.NotifySender), "")
	sup := e.rec.OfType(telemetry.NotificationSuppressed)
	if len(sup) != 1 || sup[0].Err == "" || sup[0].Reason != telemetry.ReasonSpoolError || sup[0].Category != pipeline.NotifySender {
		t.Fatalf("suppressed %+v, want one with the spool error", sup)
	}
	if n := len(e.rec.OfType(telemetry.NotificationSent)); n != 0 {
		t.Errorf("%d sent events for a failed write", n)
	}
}

func TestReload(t *testing.T) {
	e := newEnv(t, Config{RatePerHour: 1})
	m := message("s@example.org", "x")
	e.n.Notify(m, outcome(pipeline.NotifySender), "")

	dir := t.TempDir()
	writeFile(t, dir, "sender.tmpl", "Subject: reloaded\n\nbody\n")
	if err := e.n.Reload(Config{RatePerHour: 1, Templates: dir}); err != nil {
		t.Fatal(err)
	}
	e.n.Notify(m, outcome(pipeline.NotifySender), "")
	if sup := e.rec.OfType(telemetry.NotificationSuppressed); len(sup) != 1 || sup[0].Reason != telemetry.ReasonRateLimited {
		t.Fatalf("suppressed %v: the reload must keep the rate limit state", reasons(sup))
	}
	if err := e.n.Reload(Config{Templates: dir}); err != nil { // back to 20 an hour
		t.Fatal(err)
	}
	e.n.Notify(m, outcome(pipeline.NotifySender), "")
	q := e.incoming(t)
	if len(q) != 2 || q[1].subject != "reloaded" {
		t.Fatalf("queued %d, want the second with the reloaded template", len(q))
	}

	writeFile(t, dir, "sender.tmpl", "Subject: {{.Nope}}\n\n")
	if err := e.n.Reload(Config{Templates: dir}); err == nil {
		t.Fatal("Reload accepted a broken template")
	}
	if err := e.n.Reload(Config{RatePerHour: -1}); err == nil || !strings.Contains(err.Error(), "notify.rate_per_hour") {
		t.Fatalf("Reload with a negative rate: %v", err)
	}
	e.n.Notify(m, outcome(pipeline.NotifySender), "")
	if q := e.incoming(t); len(q) != 3 || q[2].subject != "reloaded" {
		t.Fatalf("after failed reloads: %d queued; want the last good setup kept", len(q))
	}
}

func TestNewRefusesBadSetup(t *testing.T) {
	sp, err := spool.Open(spool.Config{Dir: t.TempDir()}, &eventlog.Recorder{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	good := Deps{Spool: sp, Emit: &eventlog.Recorder{}, Hostname: "mx.example.net", Shipped: configs.NotifyTemplates()}
	dir := t.TempDir()
	path := writeFile(t, dir, "recipients.tmpl", "Subject: x\n\n{{if .Quarantined}}\n")
	if _, err := New(Config{Templates: dir}, good); err == nil || !strings.Contains(err.Error(), path+":4: unexpected EOF") {
		t.Errorf("New with a broken template: %v", err)
	}
	noHost := good
	noHost.Hostname = ""
	if _, err := New(Config{}, noHost); err == nil {
		t.Error("New without a hostname succeeded")
	}
	if _, err := New(Config{Admin: "not an address"}, good); err == nil || !strings.Contains(err.Error(), "notify.admin") {
		t.Errorf("New with a bad admin address: %v", err)
	}
}

func TestConcurrentNotifyAndReload(t *testing.T) {
	e := newEnv(t, Config{})
	dir := t.TempDir()
	writeFile(t, dir, "sender.tmpl", "Subject: other\n\nbody\n")
	const workers, each = 8, 5
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			m := message(fmt.Sprintf("s%d@example.org", w), "x")
			for range each {
				e.n.Notify(m, outcome(pipeline.NotifySender), "")
			}
		})
	}
	wg.Go(func() {
		for i := range 20 {
			cfg := Config{}
			if i%2 == 0 {
				cfg.Templates = dir
			}
			if err := e.n.Reload(cfg); err != nil {
				t.Error(err)
			}
		}
	})
	wg.Wait()
	if n := len(e.incoming(t)); n != workers*each {
		t.Fatalf("queued %d, want %d", n, workers*each)
	}
}
