package main

import (
	"bufio"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatewatch/gatewatch/telemetry"
)

const cgpConfigYAML = `
log: {level: info, format: json}
telemetry: {agentx: {address: ""}}
antivirus: {enabled: true, scanners: [builtin]}
antispam: {enabled: false}
policy:
  lists: {senders_black: ["*@blocked.test"]}
  default:
    actions:
      blacklisted: {do: reject, reply: "Sender refused by gatewatch policy"}
      virus: {do: reject, reply: "Message refused: malware found"}
      probable_spam: {mark_subject: "[?? Probable Spam]"}
cgp: {base_dir: "{{.Base}}", concurrency: 4, timeout: 30s, max_message: 1048576}
admin: {listen: "{{.Admin}}"}
`

// cgpQueueFile writes a message as CommuniGate Pro queues it: envelope
// lines, a blank line, the message.
func cgpQueueFile(t *testing.T, dir, name, from string, rcpts []string, msg string) {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "P I 22-11-2026 10:00:00 0000 ____ ____ <%s>\nS SMTP [203.0.113.7]\n", from)
	for _, r := range rcpts {
		fmt.Fprintf(&b, "R W 22-11-2026 10:00:00 0000 ____ _FY_ <%s>\n", r)
	}
	b.WriteString("\n" + msg)
	if err := os.WriteFile(filepath.Join(dir, name), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestCGPHelperSession plays CommuniGate Pro against the real binary: the
// documented commands, queue files in CGP's format, twelve requests at
// once answered out of order, a malformed line and a missing file; the
// helper answers each and exits only on QUIT.
func TestCGPHelperSession(t *testing.T) {
	base := t.TempDir()
	queue := filepath.Join(base, "Queue")
	if err := os.Mkdir(queue, 0o755); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "gatewatch.yaml")
	// The gateway the helper hands its events to (CGP and gatewatch on one host).
	g := startGateway(t, "", gwVars{})
	helperCfg := strings.NewReplacer("{{.Base}}", base, "{{.Admin}}", g.Admin).Replace(cgpConfigYAML)
	if err := os.WriteFile(cfgPath, []byte(helperCfg), 0o600); err != nil {
		t.Fatal(err)
	}
	cgpQueueFile(t, queue, "1.msg", "ann@example.org", []string{"nif@example.net"}, "From: ann@example.org\r\nSubject: clean\r\n\r\nhello\r\n")
	cgpQueueFile(t, queue, "2.msg", "ann@example.org", []string{"nif@example.net"},
		string(withAttachment("infected", "x.com", "application/octet-stream", "base64", b64([]byte(eicarString)))))
	cgpQueueFile(t, queue, "3.msg", "spam@blocked.test", []string{"nif@example.net"}, "Subject: from a blocked sender\r\n\r\nhi\r\n")
	for i := 10; i < 22; i++ {
		cgpQueueFile(t, queue, fmt.Sprintf("%d.msg", i), "ann@example.org", []string{"nif@example.net"}, fmt.Sprintf("Subject: burst %d\r\n\r\nhello\r\n", i))
	}

	cmd := exec.Command(env.bin, "cgp-helper", "-config", cfgPath)
	cmd.Dir = dir
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var logs strings.Builder
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("helper log:\n%s", logs.String())
		}
	})
	answers := make(chan string, 64)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			answers <- sc.Text()
		}
		close(answers)
	}()
	send := func(lines ...string) {
		for _, l := range lines {
			if _, err := fmt.Fprintln(stdin, l); err != nil {
				t.Fatal(err)
			}
		}
	}
	// next returns the next answer that is not a comment.
	next := func() string {
		t.Helper()
		for {
			select {
			case a, ok := <-answers:
				if !ok {
					t.Fatal("the helper closed its output")
				}
				if !strings.HasPrefix(a, "* ") {
					return a
				}
			case <-time.After(30 * time.Second):
				t.Fatal("no answer in 30 s")
			}
		}
	}
	bySeq := func(n int) map[string]string {
		out := map[string]string{}
		for range n {
			a := next()
			seq, rest, _ := strings.Cut(a, " ")
			out[seq] = rest
		}
		return out
	}

	send("1 INTF 3")
	if a := next(); a != "1 INTF 3" {
		t.Fatalf("INTF: %q", a)
	}
	send("2 FILE Queue/1.msg", "3 FILE Queue/2.msg", "4 FILE Queue/3.msg", "garbage", "5 FILE Queue/missing.msg", "6 FROBNICATE x")
	got := bySeq(5)
	if a := got["2"]; !strings.HasPrefix(a, "ADDHEADER ") || !strings.Contains(a, "X-Gatewatch-ID: ") || !strings.Contains(a, "X-Gatewatch-Virus-Status: clean") || !strings.HasSuffix(a, " OK") {
		t.Errorf("clean message: %q", a)
	}
	if a := got["3"]; a != `REJECTED "Message refused: malware found"` {
		t.Errorf("infected message: %q", a)
	}
	if a := got["4"]; a != `REJECTED "Sender refused by gatewatch policy"` {
		t.Errorf("blacklisted sender: %q", a)
	}
	if a := got["5"]; !strings.HasPrefix(a, "ERROR ") {
		t.Errorf("missing file: %q", a)
	}
	if a := got["6"]; !strings.HasPrefix(a, "ERROR ") {
		t.Errorf("unknown command: %q", a)
	}

	// Twelve at once: every one answered, whole lines, four scanned at a time.
	for i := 10; i < 22; i++ {
		send(fmt.Sprintf("%d FILE Queue/%d.msg", i, i))
	}
	burst := bySeq(12)
	for i := 10; i < 22; i++ {
		if a := burst[fmt.Sprint(i)]; !strings.HasPrefix(a, "ADDHEADER ") || !strings.HasSuffix(a, " OK") {
			t.Errorf("burst request %d: %q", i, a)
		}
	}
	send("99 QUIT")
	if a := next(); a != "99 OK" {
		t.Errorf("QUIT: %q", a)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("helper exit: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the helper did not exit after QUIT")
	}
	if n := strings.Count(logs.String(), `"event":"integration.verdict"`); n != 15 {
		t.Errorf("%d integration.verdict events, want 15 (3 + 12)", n)
	}
	if !strings.Contains(logs.String(), `"mta_queue_id":"1"`) || !strings.Contains(logs.String(), `"mode":"cgp"`) {
		t.Error("the events do not carry CGP's queue ID and the mode")
	}
	// The running gateway took them in: counted for Prometheus (and so the
	// MIB), logged, and in its CEF file.
	waitFor(t, "the helper's events in the gateway", 10*time.Second, func() bool {
		return g.metric(`gatewatch_mode_messages_total{mode="cgp"}`) == 15
	})
	if got := g.metric(`gatewatch_mode_refused_total{mode="cgp"}`); got != 2 {
		t.Errorf("mode_refused_total{cgp} = %v, want 2", got)
	}
	if got := g.metric(`gatewatch_mode_sessions_total{mode="cgp"}`); got != 1 {
		t.Errorf("mode_sessions_total{cgp} = %v, want 1", got)
	}
	if n := len(eventsWith(g.events("integration.verdict"), "mode", "cgp")); n != 15 {
		t.Errorf("%d cgp verdicts in the gateway's log, want 15", n)
	}
	waitFor(t, "the verdicts in the gateway's CEF file", 10*time.Second, func() bool {
		b, _ := os.ReadFile(filepath.Join(g.dir, "var", "log", "cef.log"))
		return strings.Count(string(b), "|Message judged for an MTA|") == 15 && strings.Count(string(b), "app=cgp") == 16
	})
	// Only a helper's own kinds of events are taken in.
	forged := fmt.Sprintf(`[{"Type": %d, "Mode": "cgp", "Outcome": "delivered"}]`, telemetry.MessageCompleted)
	resp, err := http.Post("http://"+g.Admin+"/integration/events", "application/json", strings.NewReader(forged))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("a forged message.completed was answered %s, want 400", resp.Status)
	}
}
