package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatewatch/gatewatch/internal/peers"
	"github.com/gatewatch/gatewatch/pipeline"
	"github.com/gatewatch/gatewatch/pipeline/spool"
)

func runCLI(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func writeFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "gatewatch.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCheckConfig(t *testing.T) {
	code, out, _ := runCLI("check-config")
	if code != exitOK || !strings.Contains(out, "(embedded default): configuration OK") {
		t.Fatalf("embedded default: %d %s", code, out)
	}
	cases := []struct {
		name, yaml string
		want       []string
	}{
		{"unknown key", "smtp:\n  hostname: gw.test\n  lisen: [\"127.0.0.1:25\"]\n", []string{"gatewatch.yaml:3: unknown key smtp.lisen"}},
		{"unknown section", "smtpd:\n  listen: []\n", []string{"gatewatch.yaml:1: unknown key smtpd"}},
		{"bad value", "smtp:\n  limits:\n    max_connections: 0\n", []string{"gatewatch.yaml:3: smtp.limits.max_connections: must be greater than 0"}},
		{"bad CIDR in list", "smtp:\n  relay_networks:\n    - 127.0.0.0/8\n    - 10.0.0/8\n", []string{"gatewatch.yaml:4: smtp.relay_networks[1]:"}},
		{"wrong type", "smtp:\n  limits:\n    max_recipients: many\n", []string{"gatewatch.yaml:3: cannot unmarshal"}},
		{"bad route", "delivery:\n  routes:\n    - {match: \"*\", to: \"ftp://x\"}\n", []string{"gatewatch.yaml:3: delivery.routes[0].to:"}},
		{"bad duration", "smtp:\n  timeouts:\n    data: soon\n", []string{"gatewatch.yaml:3:"}},
		{"unknown status", "policy:\n  default:\n    actions:\n      spamm: {do: deliver}\n", []string{"gatewatch.yaml:4: policy.default.actions.spamm: unknown status"}},
		{"unknown action", "policy:\n  groups:\n    - name: staff\n      actions:\n        spam: {do: bounce}\n", []string{"gatewatch.yaml:5: policy.groups[0].actions.spam.do: \"bounce\""}},
		{"bad group name", "policy:\n  groups:\n    - name: Staff!\n", []string{"gatewatch.yaml:3: policy.groups[0].name:"}},
		{"unknown check", "policy:\n  default:\n    checks: {antispan: true}\n", []string{"gatewatch.yaml:3: policy.default.checks.antispan"}},
		{"bad notification kind", "policy:\n  default:\n    actions:\n      spam: {notify: [boss]}\n", []string{"gatewatch.yaml:4: policy.default.actions.spam.notify[0]"}},
		{"bad retention", "store:\n  quarantine: {max_age: -1h}\n", []string{"gatewatch.yaml:2: store.quarantine.max_age"}},
		{"several problems", "smtp:\n  hostname: \"\"\nlog:\n  level: chatty\n", []string{"gatewatch.yaml:2: smtp.hostname", "gatewatch.yaml:4: log.level"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errOut := runCLI("check-config", "-config", writeFile(t, tc.yaml))
			if code != exitConfig {
				t.Errorf("exit %d, want %d", code, exitConfig)
			}
			for _, w := range tc.want {
				if !strings.Contains(errOut, w) {
					t.Errorf("error output lacks %q:\n%s", w, errOut)
				}
			}
		})
	}
	if code, _, errOut := runCLI("check-config", "-config", "/nonexistent/gw.yaml"); code != exitConfig || !strings.Contains(errOut, "no such file") {
		t.Errorf("missing file: %d %s", code, errOut)
	}
}

func TestEnvironmentOverrides(t *testing.T) {
	t.Setenv("GATEWATCH_SMTP_HOSTNAME", "from-env.example")
	t.Setenv("GATEWATCH_SMTP_LIMITS_MAXRECIPIENTS", "7")
	l, err := loadConfig(writeFile(t, "smtp:\n  hostname: from-file.example\n"))
	if err != nil {
		t.Fatal(err)
	}
	if l.cfg.SMTP.Hostname != "from-env.example" || l.cfg.SMTP.Limits.MaxRecipients != 7 {
		t.Fatalf("env overrides not applied: %+v", l.cfg.SMTP)
	}
	// Keys the file does not set keep the embedded default.
	if l.cfg.SMTP.Limits.MaxConnections != 1000 || l.cfg.Spool.Dir != "var/spool" {
		t.Fatalf("defaults lost: %+v", l.cfg)
	}
	t.Setenv("GATEWATCH_SMTP_LIMITS_MAXRECIPIENTS", "0")
	if _, err := loadConfig(""); err == nil || !strings.Contains(err.Error(), "smtp.limits.max_recipients") {
		t.Fatalf("invalid env override not reported: %v", err)
	}
}

func TestUsageAndExitCodes(t *testing.T) {
	if code, _, errOut := runCLI("frobnicate"); code != exitUsage || !strings.Contains(errOut, "unknown command") {
		t.Errorf("unknown command: %d %s", code, errOut)
	}
	if code, _, _ := runCLI("serve", "-nope"); code != exitUsage {
		t.Errorf("unknown flag: %d", code)
	}
	if code, out, _ := runCLI("help"); code != exitOK || !strings.Contains(out, "Exit codes:") {
		t.Errorf("help: %d", code)
	}
	if code, out, _ := runCLI("version"); code != exitOK || !strings.HasPrefix(out, "gatewatch ") {
		t.Errorf("version: %d %s", code, out)
	}
	for _, args := range [][]string{{"queue"}, {"queue", "hold"}, {"queue", "list", "extra"}, {"queue", "show", "../../etc/passwd"}, {"queue", "delete", "abc"}} {
		if code, _, _ := runCLI(args...); code != exitUsage {
			t.Errorf("%v: exit %d, want %d", args, code, exitUsage)
		}
	}
}

// The queue commands work against a running gateway (through its admin
// listener) and on a stopped one's spool.
func TestQueueCommands(t *testing.T) {
	down := peers.StartSink(t, peers.SinkOptions{SoftReject: []string{"RCPT"}})
	g := startGateway(t, singleRoute, gwVars{"Sink": down.Addr, "Name": "down"})
	reply, err := sendMail(g.SMTP, "a@senders.test", []string{"r@example.test"}, numbered("queued", 1), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	id := queueIDOf(t, reply)
	cli := func(args ...string) (int, string) {
		cmd := exec.Command(env.bin, append([]string{"queue", "-config", g.cfgPath}, args...)...)
		cmd.Dir = g.dir
		out, err := cmd.CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
		return code, string(out)
	}
	state := func() string {
		code, out := cli("-json", "list")
		if code != 0 {
			t.Fatalf("queue list: %d %s", code, out)
		}
		var items []queued
		if err := json.Unmarshal([]byte(out), &items); err != nil {
			t.Fatalf("queue list -json: %v\n%s", err, out)
		}
		for _, q := range items {
			if q.ID == id {
				return q.State
			}
		}
		return "gone"
	}
	waitFor(t, "message deferred", 20*time.Second, func() bool { return state() == "deferred" })
	if code, out := cli("show", id); code != 0 || !strings.Contains(out, `"from": "a@senders.test"`) {
		t.Fatalf("queue show: %d %s", code, out)
	}
	if code, out := cli("hold", id); code != 0 {
		t.Fatalf("queue hold: %d %s", code, out)
	}
	if s := state(); s != "hold" {
		t.Fatalf("after hold: %s", s)
	}
	if code, out := cli("hold", "0000000000000000"); code != exitNotFound || !strings.Contains(out, "no such queued message") {
		t.Fatalf("hold of an unknown ID: %d %s", code, out)
	}
	if code, out := cli("release", id); code != 0 {
		t.Fatalf("queue release: %d %s", code, out)
	}
	waitFor(t, "released message tried again and deferred", 20*time.Second, func() bool { return state() == "deferred" })
	if code, out := cli("flush"); code != 0 || !strings.Contains(out, "flushed") {
		t.Fatalf("queue flush: %d %s", code, out)
	}
	// With the gateway stopped, the commands work on the spool directly.
	g.stop()
	if code, out := cli("hold", id); code != 0 {
		t.Fatalf("offline hold: %d %s", code, out)
	}
	if code, out := cli("delete", id); code != 0 {
		t.Fatalf("offline delete: %d %s", code, out)
	}
	if s := state(); s != "gone" {
		t.Fatalf("after delete: %s", s)
	}
}

// A gateway that stopped between picking a message up and trying it
// leaves it in active; with no gateway running, the queue commands treat
// it as queued (as the next start would) instead of "being delivered".
func TestQueueOfflineLeftoverActive(t *testing.T) {
	dir := t.TempDir()
	sp, err := spool.Open(spool.Config{Dir: filepath.Join(dir, "spool")}, discard{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	id := sp.NewID()
	d, err := sp.NewDraft(id, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Write(numbered("leftover", 1)); err != nil {
		t.Fatal(err)
	}
	meta := pipeline.Meta{ID: id, Kind: pipeline.KindMail, Received: time.Now(),
		Envelope: pipeline.Envelope{From: "a@senders.test", Recipients: []pipeline.Recipient{{Addr: "r@example.test"}}}}
	if err := d.Commit(&meta); err != nil {
		t.Fatal(err)
	}
	if err := sp.Move(id, spool.Incoming, spool.Active); err != nil {
		t.Fatal(err)
	}
	sp.Close()
	cfg := filepath.Join(dir, "gatewatch.yaml")
	if err := os.WriteFile(cfg, []byte("spool: {dir: "+filepath.Join(dir, "spool")+"}\nadmin: {listen: \"\"}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(env.bin, "queue", "-config", cfg, "hold", id).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "hold done") {
		t.Fatalf("offline hold of a leftover active message: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(dir, "spool", "hold", id)); err != nil {
		entries, _ := filepath.Glob(filepath.Join(dir, "spool", "*", id+"*"))
		t.Errorf("message not in hold after the command: %v (files: %v)", err, entries)
	}
}
