package antispam

import (
	"strings"
	"testing"

	"github.com/gatewatch/gatewatch/pipeline"
	"github.com/gatewatch/gatewatch/telemetry"
)

// TestDNSChecksAgainstUnbound runs each DNS-based check against the real
// unbound: listed and unlisted clients, relays and URL domains; reverse
// DNS present, absent and forged; SPF pass, fail, softfail, temperror.
func TestDNSChecksAgainstUnbound(t *testing.T) {
	e := newEnv(t)
	cases := []struct {
		name, ip, helo, from, raw string
		want, not                 []string
		authres                   []string
	}{
		{name: "listed client, confirmed PTR, SPF pass", ip: "127.0.0.2", helo: "mail.good.test", from: "a@pass.spf.test",
			raw: plain("a@pass.spf.test", "hello", "hi"), want: []string{"DNSBL_ZEN", "SPF_PASS"}, not: []string{"RDNS_NONE", "RDNS_MISMATCH"},
			authres: []string{"iprev=pass", "spf=pass"}},
		{name: "unlisted client, forged PTR, SPF fail", ip: "127.0.0.3", helo: "x", from: "a@fail.spf.test",
			raw: plain("a@fail.spf.test", "hello", "hi"), want: []string{"RDNS_MISMATCH", "SPF_FAIL"}, not: []string{"DNSBL_ZEN"},
			authres: []string{"iprev=fail", "spf=fail"}},
		{name: "no PTR, SPF softfail", ip: "127.0.0.4", helo: "x", from: "a@soft.spf.test",
			raw: plain("a@soft.spf.test", "hello", "hi"), want: []string{"RDNS_NONE", "SPF_SOFTFAIL"}, authres: []string{"spf=softfail"}},
		{name: "SPF temperror scores nothing", ip: "127.0.0.4", helo: "x", from: "a@temp.spf.test",
			raw: plain("a@temp.spf.test", "hello", "hi"), not: []string{"SPF_FAIL", "SPF_PASS", "SPF_SOFTFAIL"}, authres: []string{"spf=temperror"}},
		{name: "listed relay in Received", ip: "127.0.0.4", helo: "x", from: "a@pass.spf.test",
			raw:  "Received: from relay ([192.0.2.10]) by mx.example.net;\r\n\tSun, 22 Nov 2026 09:00:00 +0000\r\n" + plain("a@pass.spf.test", "relayed", "hi"),
			want: []string{"DNSBL_ZEN"}},
		{name: "listed and unlisted URL domains", ip: "127.0.0.4", helo: "x", from: "a@pass.spf.test",
			raw:  plain("a@pass.spf.test", "links", "see http://www.spammy-domain.test/offer and https://clean.example.test/"),
			want: []string{"URIBL_MULTI"}},
		{name: "unlisted URL domain", ip: "127.0.0.4", helo: "x", from: "a@pass.spf.test",
			raw: plain("a@pass.spf.test", "links", "see https://clean-domain.test/"), not: []string{"URIBL_MULTI"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := e.scan(t, received(t, tc.ip, tc.helo, tc.from, tc.raw))
			for _, w := range tc.want {
				if !hasTest(v, w) {
					t.Errorf("%s did not fire: %s", w, v.Detail)
				}
			}
			for _, n := range tc.not {
				if hasTest(v, n) {
					t.Errorf("%s fired: %s", n, v.Detail)
				}
			}
			ar := header(v, "Authentication-Results")
			for _, w := range tc.authres {
				if !strings.Contains(ar, w) {
					t.Errorf("Authentication-Results lacks %s:\n%s", w, ar)
				}
			}
			if !strings.HasPrefix(ar, "gw.test.invalid;") {
				t.Errorf("Authentication-Results identity: %q", ar)
			}
		})
	}
	// The relay's answer 127.0.0.4 is scored by its code (2), the
	// client's 127.0.0.2 by the list's score (3).
	v := e.scan(t, received(t, "127.0.0.4", "x", "a@pass.spf.test",
		"Received: from relay ([192.0.2.10]) by mx;\r\n\tSun, 22 Nov 2026 09:00:00 +0000\r\n"+plain("a@pass.spf.test", "relayed", "hi")))
	if !strings.Contains(v.Detail, "DNSBL_ZEN(2)") {
		t.Errorf("relay listing not scored by its code: %s", v.Detail)
	}
	for zone, min := range map[string]uint64{"zen": 3, "multi": 2} {
		if got := e.st.DNSListQueries.With(zone).Load(); got < min {
			t.Errorf("dnslist_queries_total{%s} = %d, want >= %d", zone, got, min)
		}
	}
	if e.st.DNSListHits.With("zen").Load() < 2 || e.st.AntispamCheckHits.With("SPF_FAIL").Load() != 1 {
		t.Errorf("hits: zen %d, SPF_FAIL %d", e.st.DNSListHits.With("zen").Load(), e.st.AntispamCheckHits.With("SPF_FAIL").Load())
	}
	if e.st.AntispamCheckErrs.With("SPF").Load() != 1 {
		t.Errorf("SPF temperror not counted as a check error")
	}
}

// TestDKIMAndDMARC: a valid signature aligned with From passes DMARC; a
// broken one fails, and the From domain's policy decides the check;
// alignment through SPF passes too.
func TestDKIMAndDMARC(t *testing.T) {
	e := newEnv(t)
	good := e.signed(t, plain("a@dkim.test", "signed", "a signed body"))
	v := e.scan(t, received(t, "127.0.0.4", "x", "bounce@pass.spf.test", good))
	if !hasTest(v, "DKIM_VALID") || hasTest(v, "DMARC_REJECT") {
		t.Errorf("valid aligned signature: %s", v.Detail)
	}
	if ar := header(v, "Authentication-Results"); !strings.Contains(ar, "dkim=pass") || !strings.Contains(ar, "header.d=dkim.test") || !strings.Contains(ar, "dmarc=pass") {
		t.Errorf("Authentication-Results:\n%s", ar)
	}
	tampered := strings.Replace(good, "a signed body", "a changed body", 1)
	v = e.scan(t, received(t, "127.0.0.4", "x", "bounce@pass.spf.test", tampered))
	if !hasTest(v, "DKIM_INVALID") || !hasTest(v, "DMARC_REJECT") {
		t.Errorf("broken signature, unaligned SPF: %s", v.Detail)
	}
	for domain, want := range map[string]string{"quarantine.dmarc.test": "DMARC_QUARANTINE", "none.dmarc.test": "DMARC_NONE"} {
		v = e.scan(t, received(t, "127.0.0.4", "x", "bounce@pass.spf.test", plain("a@"+domain, "unaligned", "x")))
		if !hasTest(v, want) {
			t.Errorf("From %s, SPF for another domain: want %s, got %s", domain, want, v.Detail)
		}
	}
	v = e.scan(t, received(t, "127.0.0.4", "x", "a@reject.dmarc.test", plain("a@reject.dmarc.test", "aligned", "x")))
	if hasTest(v, "DMARC_REJECT") || !strings.Contains(header(v, "Authentication-Results"), "dmarc=pass") {
		t.Errorf("SPF-aligned: %s\n%s", v.Detail, header(v, "Authentication-Results"))
	}
}

// TestFormalAndStatuses: header checks, look-alike and forged protected
// domains, auto-generated mail, and the thresholds giving each status.
func TestFormalAndStatuses(t *testing.T) {
	e := newEnv(t)
	v := e.scan(t, received(t, "127.0.0.4", "x", "a@pass.spf.test", "Subject: no date\r\n\r\nbody\r\n"))
	for _, w := range []string{"MISSING_FROM", "MISSING_DATE", "MISSING_MESSAGE_ID"} {
		if !hasTest(v, w) {
			t.Errorf("%s did not fire: %s", w, v.Detail)
		}
	}
	v = e.scan(t, received(t, "127.0.0.4", "x", "a@pass.spf.test", plain("ceo@exаmple.test", "urgent", "pay now")))
	if !hasTest(v, "UNICODE_SPOOF") || v.Status != pipeline.StatusSpam {
		t.Errorf("Cyrillic look-alike of a protected domain: %s %s", v.Status, v.Detail)
	}
	v = e.scan(t, received(t, "127.0.0.4", "x", "ceo@example.test", plain("ceo@example.test", "urgent", "pay now")))
	if !hasTest(v, "SPOOFED_PROTECTED") {
		t.Errorf("protected domain from outside: %s", v.Detail)
	}
	internal := received(t, "127.0.0.4", "x", "ceo@example.test", plain("ceo@example.test", "internal", "fine"))
	internal.Client.RelayAllowed = true
	if v = e.scan(t, internal); hasTest(v, "SPOOFED_PROTECTED") || header(v, "Authentication-Results") != "" {
		t.Errorf("internal sender judged as external: %s", v.Detail)
	}
	auto := "Auto-Submitted: auto-replied\r\n" + plain("a@pass.spf.test", "out of office", "away")
	v = e.scan(t, received(t, "127.0.0.4", "x", "a@pass.spf.test", auto))
	if v.Status != pipeline.StatusFormal || !hasTest(v, "AUTO_GENERATED") {
		t.Errorf("auto-reply: %s %s", v.Status, v.Detail)
	}
	// The listed client alone (3 + 1 for no PTR... confirmed here) is probable spam.
	v = e.scan(t, received(t, "127.0.0.2", "mail.good.test", "a@soft.spf.test", plain("a@soft.spf.test", "probably", "x")))
	if v.Status != pipeline.StatusProbableSpam {
		t.Errorf("listed client + softfail = %g: status %s (%s)", v.Score, v.Status, v.Detail)
	}
	v = e.scan(t, received(t, "127.0.0.4", "x", "a@pass.spf.test", plain("a@pass.spf.test", "clean", "x")))
	if v.Status != pipeline.StatusClean {
		t.Errorf("clean message: %s %g %s", v.Status, v.Score, v.Detail)
	}
	if st := header(v, "X-Gatewatch-Spam-Status"); !strings.HasPrefix(st, "clean, score=") || !strings.Contains(st, "spam=6.0 probable=3.5") {
		t.Errorf("X-Gatewatch-Spam-Status %q", st)
	}
	if n := len(e.rec.OfType(telemetry.AntispamVerdict)); n != 7 {
		t.Errorf("%d antispam.verdict events, want one per message (7)", n)
	}
	if e.st.AntispamMessages.With("spam").Load() < 1 || e.st.AntispamMessages.With("formal").Load() != 1 {
		t.Error("antispam_messages_total by status not counted")
	}
}

// TestDNSListDownAndUp: a list that stops answering raises its trap
// after dnslist_down_after failures, scores nothing meanwhile, and clears
// when it answers again.
func TestDNSListDownAndUp(t *testing.T) {
	e := newEnv(t)
	e.dns.Stop(t)
	for i := 0; i < 3; i++ {
		v := e.scan(t, received(t, "127.0.0.2", "x", "a@pass.spf.test", plain("a@pass.spf.test", "down", "x")))
		if hasTest(v, "DNSBL_ZEN") {
			t.Fatalf("a dead list scored: %s", v.Detail)
		}
	}
	down := e.rec.OfType(telemetry.DNSListDown)
	if len(down) != 1 || down[0].Category != "zen" || e.st.DNSListUp.With("zen").Load() != 0 {
		t.Fatalf("dnslist.down events %+v, up gauge %d", down, e.st.DNSListUp.With("zen").Load())
	}
	pubDNS := newEnv(t) // a live unbound again
	d := e.deps
	d.Resolver = pubDNS.deps.Resolver
	if err := e.stage.Reload(e.cfg, d); err != nil {
		t.Fatal(err)
	}
	v := e.scan(t, received(t, "127.0.0.2", "x", "a@pass.spf.test", plain("a@pass.spf.test", "back", "x")))
	if !hasTest(v, "DNSBL_ZEN") || len(e.rec.OfType(telemetry.DNSListUp)) != 1 || e.st.DNSListUp.With("zen").Load() != 1 {
		t.Errorf("after recovery: %s, up events %d", v.Detail, len(e.rec.OfType(telemetry.DNSListUp)))
	}
}
