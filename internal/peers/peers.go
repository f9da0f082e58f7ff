// Package peers runs real Debian mail programs (smtp-sink, Postfix, swaks,
// promtool) on loopback for the gateway's integration tests.
//
// The gateway's job is to interoperate with other MTAs and with Prometheus,
// so its integration tests talk to the real programs: a Go fake would only
// encode our own reading of SMTP. Each peer gets a private temporary
// directory and a free 127.0.0.1 port, so tests can run in parallel and never
// touch the system's own Postfix instance, and every process is stopped by
// PID in t.Cleanup so a failing test cannot leak daemons into the next one.
//
// A missing program makes the test skip, so `go test ./...` stays usable on a
// developer machine without the packages. CI sets GATEWATCH_REQUIRE_PEERS=1,
// which turns the skip into a failure: an integration suite that silently
// skips everything would otherwise look green.
package peers

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// Paths of the Debian programs. They are absolute so that a test never picks
// up a same-named binary from somewhere else on PATH.
const (
	SMTPSinkBin   = "/usr/sbin/smtp-sink"   // package postfix
	SMTPSourceBin = "/usr/sbin/smtp-source" // package postfix
	PostfixBin    = "/usr/sbin/postfix"     // package postfix
	SendmailBin   = "/usr/sbin/sendmail"    // package postfix
	SwaksBin      = "/usr/bin/swaks"        // package swaks
	PromtoolBin   = "/usr/bin/promtool"     // package prometheus
)

// RequireEnv names the environment variable that makes missing peers fatal.
const RequireEnv = "GATEWATCH_REQUIRE_PEERS"

// pollInterval is how often readiness and completion are re-checked. It is
// short because every test waits on it, and polling a loopback port or a few
// files is cheap.
const pollInterval = 20 * time.Millisecond

// Require skips the test (or fails it, with GATEWATCH_REQUIRE_PEERS=1) when
// one of the given programs is not installed. Integration tests call it first
// so that a missing package is reported as such instead of as a confusing
// start-up error further down.
func Require(t testing.TB, binaries ...string) {
	t.Helper()
	for _, bin := range binaries {
		if _, err := exec.LookPath(bin); err != nil {
			unavailable(t, "%s is not usable (%v); install Debian package %s",
				bin, err, debianPackage(bin))
		}
	}
}

// unavailable applies the skip-or-fail policy of Require to any missing
// precondition, so that tests needing root behave like tests needing a binary.
func unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv(RequireEnv) == "1" {
		t.Fatalf("peers: %s (fatal because %s=1)", msg, RequireEnv)
	}
	t.Skipf("peers: %s (set %s=1 to make this fatal)", msg, RequireEnv)
}

// debianPackage names the package to install, so the skip message is
// actionable.
func debianPackage(bin string) string {
	switch filepath.Base(bin) {
	case "smtp-sink", "smtp-source", "postfix", "sendmail", "postconf", "postqueue":
		return "postfix"
	case "swaks":
		return "swaks"
	case "promtool", "prometheus":
		return "prometheus"
	case "unbound", "unbound-checkconf":
		return "unbound"
	case "clamd":
		return "clamav-daemon"
	default:
		return "providing it"
	}
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago. The
// kernel picks it, which avoids fixed ports colliding between parallel tests
// or with other peers on a shared machine. The port is released before it is
// returned, so another process could take it in between; the Start functions
// fail fast with the daemon's own bind error if that happens.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("peers: finding a free port: %v", err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	if err := l.Close(); err != nil {
		t.Fatalf("peers: releasing port %d: %v", port, err)
	}
	return port
}

// FreeUDPPort returns a UDP port on 127.0.0.1 that was free a moment ago.
func FreeUDPPort(t testing.TB) int {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("peers: finding a free UDP port: %v", err)
	}
	port := c.LocalAddr().(*net.UDPAddr).Port
	if err := c.Close(); err != nil {
		t.Fatalf("peers: releasing UDP port %d: %v", port, err)
	}
	return port
}

// freeTCPUDPPort finds a port free for both TCP and UDP, for receivers
// that listen on both (syslog).
func freeTCPUDPPort(t testing.TB) int {
	t.Helper()
	for i := 0; i < 50; i++ {
		port := FreePort(t)
		if c, err := net.ListenPacket("udp", loopback(port)); err == nil {
			c.Close()
			return port
		}
	}
	t.Fatal("peers: no port free for both TCP and UDP")
	return 0
}

// FreeAddr is FreePort as a dialable "127.0.0.1:PORT".
func FreeAddr(t testing.TB) string {
	t.Helper()
	return loopback(FreePort(t))
}

func loopback(port int) string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
}

// WaitTCP fails the test unless addr accepts a TCP connection within timeout.
// Daemons report readiness by listening, so a successful connect is the
// earliest reliable signal; a fixed sleep would be both slower and flaky.
func WaitTCP(t testing.TB, addr string, timeout time.Duration) {
	t.Helper()
	if err := dialUntil(addr, timeout, nil); err != nil {
		t.Fatalf("peers: %v", err)
	}
}

// dialUntil polls addr until it accepts a connection. It gives up early when
// exited is closed, so a daemon that died on start-up (say, on a port that
// was taken after FreePort) is reported at once rather than after timeout.
func dialUntil(addr string, timeout time.Duration, exited <-chan struct{}) error {
	deadline := time.Now().Add(timeout)
	for {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			return conn.Close()
		}
		if !time.Now().Before(deadline) {
			return fmt.Errorf("%s accepted no connection within %v: %v", addr, timeout, err)
		}
		select {
		case <-exited:
			return fmt.Errorf("the process exited before %s accepted a connection", addr)
		case <-time.After(pollInterval):
		}
	}
}

// peerDir makes the private directory of one peer and removes it at cleanup.
// It is 0755, not the 0700 of t.TempDir, because Postfix and smtp-sink drop
// root privileges to user postfix and must still reach files below it.
func peerDir(t testing.TB, kind string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "gw-"+kind+"-")
	if err != nil {
		t.Fatalf("peers: %v", err)
	}
	t.Cleanup(func() {
		if err := os.RemoveAll(dir); err != nil {
			t.Errorf("peers: removing %s: %v", dir, err)
		}
	})
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatalf("peers: %v", err)
	}
	return dir
}

// giveToPostfix hands dir to user postfix, the user the daemons run as, so
// that they can write in it.
func giveToPostfix(t testing.TB, dir string) {
	t.Helper()
	u, err := user.Lookup("postfix")
	if err != nil {
		unavailable(t, "user postfix: %v; install Debian package postfix", err)
	}
	uid, errU := strconv.Atoi(u.Uid)
	gid, errG := strconv.Atoi(u.Gid)
	if errU != nil || errG != nil {
		t.Fatalf("peers: user postfix has non-numeric ids %q/%q", u.Uid, u.Gid)
	}
	if err := os.Chown(dir, uid, gid); err != nil {
		t.Fatalf("peers: %v", err)
	}
}

// logOnFailure prints a peer's captured output when the test has failed,
// because the daemon's own complaint is usually the quickest diagnosis and
// the temporary directory is gone after the test.
func logOnFailure(t testing.TB, label, path string) {
	t.Helper()
	if !t.Failed() {
		return
	}
	data, err := os.ReadFile(path)
	switch {
	case os.IsNotExist(err):
	case err != nil:
		t.Logf("peers: %s (%s): %v", label, path, err)
	case len(data) == 0:
		t.Logf("peers: %s (%s): empty", label, path)
	default:
		t.Logf("peers: %s (%s):\n%s", label, path, data)
	}
}
