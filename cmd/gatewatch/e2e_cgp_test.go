package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
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
	if err := os.WriteFile(cfgPath, []byte(strings.ReplaceAll(cgpConfigYAML, "{{.Base}}", base)), 0o600); err != nil {
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
}
