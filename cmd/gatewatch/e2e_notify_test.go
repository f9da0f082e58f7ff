package main

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatewatch/gatewatch/internal/peers"
)

const notifyAll = singleRoute + `
policy:
  groups:
    - name: held
      recipients: ["*@held.test"]
      actions: # the auto-submitted message is formal mail to the anti-spam stage
        clean: {do: quarantine, notify: [sender, recipients, admin]}
        formal: {do: quarantine, notify: [sender, recipients, admin]}
notify: {admin: "ops@admin.test"}
store: {dir: "{{.Dir}}/store"}
`

// TestNotificationsReachTheSink: a quarantined message notifies its
// sender, its recipient and the administrator, each a message from <>
// marked auto-generated; a message from <> or an auto-submitted one gets
// no sender notification, and the suppressions are counted.
func TestNotificationsReachTheSink(t *testing.T) {
	sink := peers.StartSink(t, peers.SinkOptions{Dump: true})
	g := startGateway(t, notifyAll, gwVars{"Sink": sink.Addr, "Name": "sink"})

	send := func(from string, extraHeader ...string) {
		args := []string{"--server", g.SMTP, "--from", from, "--to", "u@held.test", "--header", "Subject: held for review", "--body", "hello"}
		for _, h := range extraHeader {
			args = append(args, "--add-header", h)
		}
		if out, err := peers.Swaks(t, args...); err != nil {
			t.Fatalf("swaks: %v\n%s", err, out)
		}
	}
	send("alice@senders.test")
	send("<>")
	send("bob@senders.test", "Auto-Submitted: auto-replied")
	// 3 for alice's message, recipient and admin for each of the two others.
	msgs := sink.WaitMessages(t, 7, 30*time.Second)
	if len(msgs) != 7 {
		t.Errorf("%d messages at the sink, want 7", len(msgs))
	}
	for _, m := range msgs {
		if mailFrom(m) != "" || m.Header.Get("Auto-Submitted") != "auto-generated" || m.Header.Get("X-Gatewatch-Parent-Id") == "" {
			t.Errorf("notification %s: MAIL FROM %q, Auto-Submitted %q, parent %q", m.File, mailFrom(m),
				m.Header.Get("Auto-Submitted"), m.Header.Get("X-Gatewatch-Parent-Id"))
		}
	}
	if n := len(to(msgs, "alice@senders.test")); n != 1 {
		t.Errorf("alice got %d notifications, want 1", n)
	}
	if n := len(to(msgs, "bob@senders.test")); n != 0 {
		t.Errorf("the auto-submitted sender got %d notifications", n)
	}
	if n := len(to(msgs, "u@held.test")); n != 3 {
		t.Errorf("the recipient got %d notifications, want 3", n)
	}
	if n := len(to(msgs, "ops@admin.test")); n != 3 {
		t.Errorf("the administrator got %d notifications, want 3", n)
	}
	for series, want := range map[string]float64{
		`gatewatch_notifications_sent_total{kind="sender"}`:                 1,
		`gatewatch_notifications_sent_total{kind="recipients"}`:             3,
		`gatewatch_notifications_sent_total{kind="admin"}`:                  3,
		`gatewatch_notifications_suppressed_total{reason="null_sender"}`:    1,
		`gatewatch_notifications_suppressed_total{reason="auto_submitted"}`: 1,
	} {
		if got := g.metric(series); got != want {
			t.Errorf("%s = %v, want %v", series, got, want)
		}
	}
	if ev := g.events("notify.suppressed"); len(ev) != 2 {
		t.Errorf("notify.suppressed events: %v", ev)
	}
}

// TestTemplateErrorsCaughtByCheckConfig: a broken override template is
// reported with its file and line, and the gateway refuses to reload it.
func TestTemplateErrorsCaughtByCheckConfig(t *testing.T) {
	dir := t.TempDir()
	tmpl := filepath.Join(dir, "templates")
	if err := os.MkdirAll(tmpl, 0o700); err != nil {
		t.Fatal(err)
	}
	good := "Subject: held {{.ID}}\n\nYour message {{.ID}} is {{.Status}}.\n"
	if err := os.WriteFile(filepath.Join(tmpl, "sender.tmpl"), []byte(good), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "gw.yaml")
	if err := os.WriteFile(cfg, []byte("notify: {templates: "+tmpl+"}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := runCLI("check-config", "-config", cfg); code != exitOK {
		t.Fatalf("good template: %d %s", code, stderr)
	}
	unknownField := "Subject: x\n\nfine\n{{.NoSuchField}}\n"
	for name, bad := range map[string]string{
		"unterminated action": "Subject: x\n\nline two\n{{if .Quarantined}}\nno end\n",
		"unknown field":       unknownField,
	} {
		if err := os.WriteFile(filepath.Join(tmpl, "sender.tmpl"), []byte(bad), 0o600); err != nil {
			t.Fatal(err)
		}
		code, _, stderr := runCLI("check-config", "-config", cfg)
		if code != exitConfig || !strings.Contains(stderr, filepath.Join(tmpl, "sender.tmpl")+":") {
			t.Errorf("%s: exit %d, stderr %q; want %d naming the file", name, code, stderr, exitConfig)
		}
	}
	if err := os.WriteFile(filepath.Join(tmpl, "sender.tmpl"), []byte(unknownField), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runCLI("check-config", "-config", cfg)
	if !strings.Contains(stderr, "sender.tmpl:4:") {
		t.Errorf("the line of the unknown field is not reported: %d %s", code, stderr)
	}
}

// TestQuarantineRefusesBadIDs: every verb refuses traversal and malformed
// IDs with a clear error, from the command line and at the admin API.
func TestQuarantineRefusesBadIDs(t *testing.T) {
	g := startGateway(t, singleRoute+"store: {dir: \"{{.Dir}}/store\"}\n", gwVars{"Sink": "127.0.0.1:9", "Name": "none"})
	bad := []string{"../../etc/passwd", "..", "0123456789ABCDE/", "0123456789abcdef", "%2e%2e%2f", "1K0W5FZXR2RSAXN8/../x", "IIIIIIIIIIIIIIII"}
	for _, id := range bad {
		for _, verb := range [][]string{{"show", id}, {"delete", id}, {"release", id}, {"release", id, "--to", "a@b.test"}} {
			code, out := g.cli(append([]string{"quarantine"}, verb...)...)
			if code != exitUsage || !strings.Contains(out, "invalid ID") {
				t.Errorf("quarantine %v: exit %d %q, want %d and \"invalid ID\"", verb, code, out, exitUsage)
			}
		}
		resp, err := http.Post("http://"+g.Admin+"/quarantine/release?id="+id, "text/plain", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("admin release of %q: %d, want 400", id, resp.StatusCode)
		}
	}
	for _, args := range [][]string{{"list", "--category", "junk"}, {"list", "--since", "yesterday"}, {"release", "1K0W5FZXR2RSAXN8", "--to", "not an address"}, {"frobnicate"}} {
		if code, out := g.cli(append([]string{"quarantine"}, args...)...); code != exitUsage {
			t.Errorf("quarantine %v: exit %d %q, want %d", args, code, out, exitUsage)
		}
	}
	if code, out := g.cli("quarantine", "show", "1K0W5FZXR2RSAXN8"); code != exitNotFound || !strings.Contains(out, "not in the quarantine") {
		t.Errorf("show of a well-formed unknown ID: %d %q", code, out)
	}
}
