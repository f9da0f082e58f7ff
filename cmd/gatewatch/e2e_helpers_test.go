package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"text/template"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/gatewatch/gatewatch/internal/peers"
)

// binPath is the gateway binary the end-to-end tests run; TestMain builds it
// once (with the race detector, so races in the real process fail tests).
type testEnv struct{ bin string }

var env testEnv

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "gatewatch-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	env.bin = filepath.Join(dir, "gatewatch")
	build := exec.Command("go", "build", "-race", "-o", env.bin, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build gatewatch:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// gwProc is a gateway process started by a test, on free loopback ports,
// in a temporary working directory.
type gwProc struct {
	t       testing.TB
	dir     string
	cfgPath string
	SMTP    string
	Admin   string
	cmd     *exec.Cmd
	logPath string
	mu      sync.Mutex
	waitErr chan error
}

// gwVars fill a config template: {{.SMTP}} {{.Admin}} {{.Dir}} and any
// extras the test passes.
type gwVars map[string]string

const baseConfig = `
smtp:
  listen: ["{{.SMTP}}"]
  hostname: gw.test.invalid
  postmaster: postmaster@example.test
  protected_domains: ["example.test", "*.example.test"]
  relay_networks: ["127.0.0.0/8"]
  limits: {max_connections: 500, max_connections_per_ip: 500}
  timeouts: {command: 30s, data: 60s, write: 30s}
spool: {dir: {{.Dir}}/spool}
admin: {listen: "{{.Admin}}"}
log: {level: info, format: json}
telemetry: {agentx: {address: ""}}
delivery:
  concurrency: 10
  retry: {initial: 300ms, max: 1s, lifetime: 1h, route_down: 200ms}
  timeouts: {connect: 5s, command: 30s, data: 60s, idle: 5s}
`

// startGateway writes the config (baseConfig plus extra YAML, rendered with
// vars) and starts the binary; it returns once /readyz answers.
func startGateway(t testing.TB, extra string, vars gwVars) *gwProc {
	t.Helper()
	dir := t.TempDir()
	g := &gwProc{t: t, dir: dir, SMTP: peers.FreeAddr(t), Admin: peers.FreeAddr(t), cfgPath: filepath.Join(dir, "gatewatch.yaml"),
		logPath: filepath.Join(dir, "gatewatch.log")}
	g.writeConfig(extra, vars)
	g.start()
	t.Cleanup(func() {
		g.stop()
		if t.Failed() {
			b, _ := os.ReadFile(g.logPath)
			if len(b) > 20000 {
				b = b[len(b)-20000:]
			}
			t.Logf("gateway log (tail):\n%s", b)
		}
	})
	return g
}

func (g *gwProc) writeConfig(extra string, vars gwVars) {
	g.t.Helper()
	all := map[string]string{"SMTP": g.SMTP, "Admin": g.Admin, "Dir": g.dir}
	for k, v := range vars {
		all[k] = v
	}
	tmpl, err := template.New("cfg").Option("missingkey=error").Parse(mergeYAML(baseConfig, extra))
	if err != nil {
		g.t.Fatal(err)
	}
	var b bytes.Buffer
	if err := tmpl.Execute(&b, all); err != nil {
		g.t.Fatal(err)
	}
	if err := os.WriteFile(g.cfgPath, b.Bytes(), 0o600); err != nil {
		g.t.Fatal(err)
	}
}

// mergeYAML appends extra top-level sections; a section named in both is
// taken from extra (the base's copy is dropped).
func mergeYAML(base, extra string) string {
	override := map[string]bool{}
	for _, l := range strings.Split(extra, "\n") {
		if l != "" && l[0] != ' ' && l[0] != '#' && strings.Contains(l, ":") {
			override[strings.SplitN(l, ":", 2)[0]] = true
		}
	}
	var out []string
	skip := false
	for _, l := range strings.Split(base, "\n") {
		if l != "" && l[0] != ' ' {
			skip = override[strings.SplitN(l, ":", 2)[0]]
		}
		if !skip {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n") + "\n" + extra
}

func (g *gwProc) start() {
	g.t.Helper()
	logf, err := os.OpenFile(g.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		g.t.Fatal(err)
	}
	cmd := exec.Command(env.bin, "serve", "-config", g.cfgPath)
	cmd.Dir = g.dir
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		g.t.Fatal(err)
	}
	logf.Close()
	waitErr := make(chan error, 1)
	go func() { waitErr <- cmd.Wait() }()
	g.mu.Lock()
	g.cmd, g.waitErr = cmd, waitErr
	g.mu.Unlock()
	deadline := time.Now().Add(20 * time.Second)
	for {
		select {
		case err := <-waitErr:
			b, _ := os.ReadFile(g.logPath)
			g.t.Fatalf("gateway exited at start: %v\n%s", err, b)
		default:
		}
		if resp, err := http.Get("http://" + g.Admin + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			g.t.Fatal("gateway not ready after 20s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop ends the process with SIGTERM (SIGKILL after 20 s).
func (g *gwProc) stop() {
	g.mu.Lock()
	cmd, waitErr := g.cmd, g.waitErr
	g.cmd = nil
	g.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-waitErr:
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Kill()
		<-waitErr
		g.t.Error("gateway did not stop within 20s of SIGTERM")
	}
}

// kill9 ends the process with SIGKILL, as a crash would.
func (g *gwProc) kill9() {
	g.mu.Lock()
	cmd, waitErr := g.cmd, g.waitErr
	g.cmd = nil
	g.mu.Unlock()
	_ = cmd.Process.Kill()
	<-waitErr
}

func (g *gwProc) signal(s syscall.Signal) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if err := g.cmd.Process.Signal(s); err != nil {
		g.t.Fatal(err)
	}
}

// get fetches an admin URL path.
func (g *gwProc) get(path string) string {
	g.t.Helper()
	resp, err := http.Get("http://" + g.Admin + path)
	if err != nil {
		g.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		g.t.Fatalf("GET %s: %s\n%s", path, resp.Status, b)
	}
	return string(b)
}

// stats parses /stats into name -> value (split at the last "=").
func (g *gwProc) stats() map[string]string {
	g.t.Helper()
	out := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(g.get("/stats")), "\n") {
		i := strings.LastIndexByte(l, '=')
		if i < 0 {
			g.t.Fatalf("bad /stats line %q", l)
		}
		out[l[:i]] = l[i+1:]
	}
	return out
}

func (g *gwProc) stat(name string) int64 {
	g.t.Helper()
	v, ok := g.stats()[name]
	if !ok {
		g.t.Fatalf("/stats has no %s", name)
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		g.t.Fatalf("/stats %s=%q", name, v)
	}
	return n
}

// metric returns one sample of /metrics by its full series text, e.g.
// `gatewatch_received_messages_total` or `gatewatch_refused_total{reason="relay_denied"}`.
func (g *gwProc) metric(series string) float64 {
	g.t.Helper()
	sc := bufio.NewScanner(strings.NewReader(g.get("/metrics")))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		l := sc.Text()
		if strings.HasPrefix(l, series+" ") {
			v, err := strconv.ParseFloat(strings.TrimSpace(l[len(series):]), 64)
			if err != nil {
				g.t.Fatal(err)
			}
			return v
		}
	}
	g.t.Fatalf("/metrics has no series %s", series)
	return 0
}

// waitFor polls cond until it holds or timeout passes.
func waitFor(t testing.TB, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// sendMail sends one message over SMTP with go-smtp's client and returns
// the server's reply to the end of data (which carries the queue ID).
func sendMail(addr, from string, to []string, msg []byte, mo *smtp.MailOptions, ro func(rcpt string) *smtp.RcptOptions) (string, error) {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return "", err
	}
	c := smtp.NewClient(conn)
	defer c.Close()
	if err := c.Hello("client.test.invalid"); err != nil {
		return "", err
	}
	if err := c.Mail(from, mo); err != nil {
		return "", err
	}
	for _, r := range to {
		var o *smtp.RcptOptions
		if ro != nil {
			o = ro(r)
		}
		if err := c.Rcpt(r, o); err != nil {
			return "", err
		}
	}
	w, err := c.Data()
	if err != nil {
		return "", err
	}
	if _, err := w.Write(msg); err != nil {
		return "", err
	}
	resp, err := w.CloseWithResponse()
	if err != nil {
		return "", err
	}
	_ = c.Quit()
	return resp.StatusText, nil
}

// bodyHash hashes a message body (after the first empty line) with line
// ends normalised, so a copy dumped with LF compares with one sent in CRLF.
// Trailing empty lines are ignored: swaks adds one to what it sends.
func bodyHash(msg []byte) string {
	msg = bytes.ReplaceAll(msg, []byte("\r\n"), []byte("\n"))
	if i := bytes.Index(msg, []byte("\n\n")); i >= 0 {
		msg = msg[i+2:]
	}
	msg = bytes.TrimRight(msg, "\n")
	sum := sha256.Sum256(msg)
	return hex.EncodeToString(sum[:])
}

// queueIDOf extracts the queue ID from "Ok: queued as ID".
func queueIDOf(t testing.TB, reply string) string {
	t.Helper()
	f := strings.Fields(reply)
	if len(f) == 0 || !strings.Contains(reply, "queued as") {
		t.Fatalf("no queue ID in %q", reply)
	}
	return f[len(f)-1]
}
