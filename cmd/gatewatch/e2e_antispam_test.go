package main

import (
	"strings"
	"testing"
	"time"

	"github.com/gatewatch/gatewatch/internal/peers"
)

const antispamGateway = `
smtp:
  listen: ["{{.SMTP}}"]
  hostname: gw.test.invalid
  protected_domains: ["example.test"]
  relay_networks: ["127.0.0.1/32"]
  limits: {max_connections: 500, max_connections_per_ip: 500}
resolver: {servers: ["{{.DNS}}"], timeout: 2s}
antispam:
  enabled: true
  dnslists:
    - {name: zen, zone: zen.example, kind: ip, score: 3}
    - {name: multi, zone: uribl.example, kind: domain, score: 4}
policy:
  lists: {senders_black: ["*@blocked.test"], senders_white: ["*@friend.test"]}
  default:
    actions:
      spam: {do: quarantine}
      probable_spam: {mark_subject: "[?? Probable Spam]"}
      formal: {headers: {X-Formal: "yes"}}
store: {dir: "{{.Dir}}/store"}
` + singleRoute

// TestEachSpamStatusThroughSMTP: real messages from clients on loopback
// addresses, judged against a real unbound: spam is quarantined, probable
// spam marked, formal mail tagged, clean mail delivered with its
// Authentication-Results, blacklisted refused, trusted delivered unscanned.
func TestEachSpamStatusThroughSMTP(t *testing.T) {
	dns := peers.StartUnbound(t, peers.SpamTestZones()...)
	sink := peers.StartSink(t, peers.SinkOptions{Dump: true})
	g := startGateway(t, antispamGateway, gwVars{"Sink": sink.Addr, "Name": "sink", "DNS": dns.Addr})
	send := func(from, localIP, subject, body string, extra ...string) (string, error) {
		args := []string{"--server", g.SMTP, "--local-interface", localIP, "--from", from, "--to", "user@example.test",
			"--header", "Subject: " + subject, "--body", body}
		for _, h := range extra {
			args = append(args, "--add-header", h)
		}
		return peers.Swaks(t, args...)
	}
	mustSend := func(from, localIP, subject, body string, extra ...string) {
		if out, err := send(from, localIP, subject, body, extra...); err != nil {
			t.Fatalf("%s: %v\n%s", subject, err, out)
		}
	}
	mustSend("a@pass.spf.test", "127.0.0.2", "spam one", "cheap at http://www.spammy-domain.test/buy")
	mustSend("a@soft.spf.test", "127.0.0.2", "probable one", "hello")
	mustSend("a@pass.spf.test", "127.0.0.4", "formal one", "I am away", "Auto-Submitted: auto-replied")
	mustSend("a@pass.spf.test", "127.0.0.4", "clean one", "hello")
	mustSend("a@friend.test", "127.0.0.2", "trusted one", "hello")
	if out, err := send("a@blocked.test", "127.0.0.4", "blacklisted one", "hello"); err == nil || !strings.Contains(out, "554 5.7.1") {
		t.Errorf("blacklisted sender: %v\n%s", err, out)
	}
	msgs := sink.WaitMessages(t, 4, 30*time.Second)
	bySubject := map[string]peers.SinkMessage{}
	for _, m := range msgs {
		bySubject[m.Header.Get("Subject")] = m
	}
	if len(msgs) != 4 {
		t.Errorf("%d messages at the sink, want 4 (probable, formal, clean, trusted)", len(msgs))
	}
	if _, ok := bySubject["spam one"]; ok {
		t.Error("spam reached the sink")
	}
	probable, ok := bySubject["[?? Probable Spam] probable one"]
	if !ok || !strings.HasPrefix(probable.Header.Get("X-Gatewatch-Spam-Status"), "probable_spam") ||
		!strings.Contains(probable.Header.Get("X-Gatewatch-Spam-Tests"), "DNSBL_ZEN") {
		t.Errorf("probable spam at the sink: %v", probable.Header)
	}
	formal := bySubject["formal one"]
	if formal.Header.Get("X-Formal") != "yes" || !strings.HasPrefix(formal.Header.Get("X-Gatewatch-Spam-Status"), "formal") {
		t.Errorf("formal mail at the sink: %v", formal.Header)
	}
	clean := bySubject["clean one"]
	if !strings.HasPrefix(clean.Header.Get("X-Gatewatch-Spam-Status"), "clean") ||
		!strings.Contains(clean.Header.Get("Authentication-Results"), "spf=pass") {
		t.Errorf("clean mail at the sink: %v", clean.Header)
	}
	trusted := bySubject["trusted one"]
	if trusted.File == "" || trusted.Header.Get("X-Gatewatch-Spam-Status") != "" {
		t.Errorf("trusted mail should skip the stage: %v", trusted.Header)
	}
	code, listing := g.cli("quarantine", "list", "--category", "spam")
	if code != 0 || !strings.Contains(listing, "spam one") || !strings.Contains(listing, "1 message(s)") {
		t.Errorf("quarantine: %d %s", code, listing)
	}
	for series, want := range map[string]float64{
		`gatewatch_antispam_messages_total{status="spam"}`:          1,
		`gatewatch_antispam_messages_total{status="probable_spam"}`: 1,
		`gatewatch_antispam_messages_total{status="formal"}`:        1,
		`gatewatch_antispam_messages_total{status="clean"}`:         1,
		`gatewatch_dnslist_hits_total{zone="multi"}`:                1,
		`gatewatch_antispam_check_hits_total{check="SPF_SOFTFAIL"}`: 1,
	} {
		if got := g.metric(series); got != want {
			t.Errorf("%s = %v, want %v", series, got, want)
		}
	}
	if ev := g.events("antispam.verdict"); len(ev) != 4 {
		t.Errorf("%d antispam.verdict events, want 4", len(ev))
	}
}
