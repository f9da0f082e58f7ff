package bench

import (
	"bufio"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatewatch/gatewatch/internal/peers"
)

// gateway is a gatewatch process built without the race detector.
type gateway struct {
	cmd   *exec.Cmd
	smtp  string
	admin string
	done  chan error
}

func buildGatewatch(b *testing.B) string {
	b.Helper()
	bin := filepath.Join(b.TempDir(), "gatewatch")
	out, err := exec.Command("go", "build", "-o", bin, "../../cmd/gatewatch").CombinedOutput()
	if err != nil {
		b.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

// startGateway runs bin with the given delivery route and extra YAML.
func startGateway(b *testing.B, bin, route, extra string) *gateway {
	b.Helper()
	dir := b.TempDir()
	g := &gateway{smtp: peers.FreeAddr(b), admin: peers.FreeAddr(b), done: make(chan error, 1)}
	cfg := fmt.Sprintf(`smtp:
  listen: ["%s"]
  limits: {max_connections: 10000, max_connections_per_ip: 10000}
spool: {dir: %s/spool}
admin: {listen: "%s"}
log: {level: info, format: json}
delivery:
  concurrency: 20
  routes:
    - {name: sink, match: "*", to: "%s"}
%s`, g.smtp, dir, g.admin, route, extra)
	path := filepath.Join(dir, "gatewatch.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		b.Fatal(err)
	}
	logf, err := os.Create(filepath.Join(dir, "gatewatch.log"))
	if err != nil {
		b.Fatal(err)
	}
	g.cmd = exec.Command(bin, "serve", "-config", path)
	g.cmd.Dir = dir // relative paths of the default config (var/...) land here
	g.cmd.Stdout, g.cmd.Stderr = logf, logf
	if err := g.cmd.Start(); err != nil {
		b.Fatal(err)
	}
	go func() { g.done <- g.cmd.Wait(); logf.Close() }()
	b.Cleanup(func() {
		_ = g.cmd.Process.Kill()
		<-g.done
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		if resp, err := http.Get("http://" + g.admin + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return g
			}
		}
		if time.Now().After(deadline) {
			b.Fatal("gateway not ready")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stat reads one name=value figure from /stats.
func (g *gateway) stat(b *testing.B, name string) int64 {
	b.Helper()
	resp, err := http.Get("http://" + g.admin + "/stats")
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		l := sc.Text()
		if i := strings.LastIndexByte(l, '='); i > 0 && l[:i] == name {
			v, _ := strconv.ParseInt(l[i+1:], 10, 64)
			return v
		}
	}
	b.Fatalf("/stats has no %s", name)
	return 0
}

// processCPU is the CPU time (user and system) a process has used.
func processCPU(b *testing.B, pid int) time.Duration {
	b.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	// Fields after the command name, which may contain spaces.
	f := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+2:]))
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	const ticksPerSecond = 100 // USER_HZ on Linux
	return time.Duration(utime+stime) * time.Second / ticksPerSecond
}

// rssBytes is the resident set size of a process.
func rssBytes(b *testing.B, pid int) int64 {
	b.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for _, l := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(l, "VmRSS:") {
			f := strings.Fields(l)
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb * 1024
		}
	}
	b.Fatal("no VmRSS")
	return 0
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// waitUntil polls cond with a deadline.
func waitUntil(b *testing.B, what string, timeout time.Duration, cond func() bool) {
	b.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			b.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
