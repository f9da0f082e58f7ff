package peers

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// ClamdBin is clamd's path (package clamav-daemon).
const ClamdBin = "/usr/sbin/clamd"

// clamdStartTimeout bounds the wait for clamd's first PONG. Loading a few
// custom signatures takes well under a second; the margin is for a loaded
// CI machine, not for the official databases, which are never loaded here.
const clamdStartTimeout = 30 * time.Second

// ClamdOptions configures StartClamd.
type ClamdOptions struct {
	// Signatures maps a file name in the database directory ("test.ndb",
	// "test.hdb") to its content. clamd refuses to start with none.
	Signatures map[string]string
	// StreamMaxLength is clamd's limit on one INSTREAM ("1M"); empty keeps
	// 25M, the value the gateway's documentation assumes.
	StreamMaxLength string
}

// Clamd is a running clamd that knows only the test's own signatures, so
// that it starts in a fraction of a second and never needs freshclam or the
// network.
type Clamd struct {
	Addr   string // "127.0.0.1:PORT"
	Socket string // unix socket path
	DBDir  string
	dir    string
	conf   string
	starts int
	proc   *process
}

// StartClamd runs clamd on a free loopback port and a unix socket in a
// private directory, and returns once both answer zPING.
func StartClamd(t testing.TB, opts ClamdOptions) *Clamd {
	t.Helper()
	Require(t, ClamdBin)
	if len(opts.Signatures) == 0 {
		t.Fatal("peers: StartClamd needs at least one signature file; clamd exits on an empty database")
	}
	c := &Clamd{dir: peerDir(t, "clamd")}
	c.DBDir = filepath.Join(c.dir, "db")
	c.Socket = filepath.Join(c.dir, "clamd.sock")
	tmp := filepath.Join(c.dir, "tmp")
	for _, d := range []string{c.DBDir, tmp} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatalf("peers: %v", err)
		}
	}
	for name, content := range opts.Signatures {
		if name != filepath.Base(name) {
			t.Fatalf("peers: signature file %q must be a plain file name", name)
		}
		if err := os.WriteFile(filepath.Join(c.DBDir, name), []byte(content), 0o644); err != nil {
			t.Fatalf("peers: %v", err)
		}
	}
	maxStream := opts.StreamMaxLength
	if maxStream == "" {
		maxStream = "25M"
	}
	port := FreePort(t)
	c.Addr = loopback(port)
	// No LogFile: with Foreground, clamd also logs to stdout, which
	// startProcess already captures and prints on failure.
	conf := fmt.Sprintf(`Foreground yes
LogTime yes
PidFile %s
DatabaseDirectory %s
TemporaryDirectory %s
TCPSocket %d
TCPAddr 127.0.0.1
LocalSocket %s
LocalSocketMode 666
MaxThreads 4
StreamMaxLength %s
ScanMail yes
Bytecode no
SelfCheck 0
`, filepath.Join(c.dir, "clamd.pid"), c.DBDir, tmp, port, c.Socket, maxStream)
	c.conf = filepath.Join(c.dir, "clamd.conf")
	if err := os.WriteFile(c.conf, []byte(conf), 0o644); err != nil {
		t.Fatalf("peers: %v", err)
	}
	c.start(t)
	return c
}

// start runs one clamd process on c's configuration and waits for it.
func (c *Clamd) start(t testing.TB) {
	t.Helper()
	c.starts++
	// A distinct log per run keeps the first run's output (say, why it
	// stopped) when an outage test restarts clamd.
	name := "clamd"
	if c.starts > 1 {
		name = fmt.Sprintf("clamd-%d", c.starts)
	}
	c.proc = startProcess(t, c.dir, name, []string{ClamdBin, "--config-file=" + c.conf})
	deadline := time.Now().Add(clamdStartTimeout)
	for {
		errTCP := clamdPing("tcp", c.Addr)
		errUnix := clamdPing("unix", c.Socket)
		if errTCP == nil && errUnix == nil {
			return
		}
		select {
		case <-c.proc.exited():
			t.Fatalf("peers: clamd exited: %s", c.proc.describe())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("peers: clamd not answering PING after %v (tcp: %v; unix: %v): %s",
				clamdStartTimeout, errTCP, errUnix, c.proc.describe())
		}
		time.Sleep(pollInterval)
	}
}

// Stop stops clamd (cleanup does too), for tests of the scanner going away.
func (c *Clamd) Stop(t testing.TB) { c.proc.stop(t) }

// Restart stops clamd if it runs and starts a new one on the same port,
// socket and database, for tests of recovery after an outage.
func (c *Clamd) Restart(t testing.TB) {
	t.Helper()
	c.proc.stop(t)
	c.start(t)
}

// Reload asks clamd to re-read DBDir. clamd reloads in the background, so
// the caller must poll for the new signature's effect.
func (c *Clamd) Reload(t testing.TB) {
	t.Helper()
	reply, err := clamdCommand("tcp", c.Addr, "RELOAD")
	if err != nil {
		t.Fatalf("peers: clamd RELOAD: %v", err)
	}
	if reply != "RELOADING" {
		t.Fatalf("peers: clamd RELOAD answered %q, want RELOADING", reply)
	}
}

func clamdPing(network, addr string) error {
	reply, err := clamdCommand(network, addr, "PING")
	if err != nil {
		return err
	}
	if reply != "PONG" {
		return fmt.Errorf("PING answered %q", reply)
	}
	return nil
}

// clamdCommand sends one NUL-terminated z-command and returns its reply. It
// is independent of the gateway's client on purpose: the helper must be able
// to tell whether clamd is up even while that client is being debugged.
func clamdCommand(network, addr, cmd string) (string, error) {
	conn, err := net.DialTimeout(network, addr, time.Second)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(5 * time.Second)); err != nil {
		return "", err
	}
	if _, err := conn.Write([]byte("z" + cmd + "\x00")); err != nil {
		return "", fmt.Errorf("sending %s to %s: %w", cmd, addr, err)
	}
	reply, err := bufio.NewReader(conn).ReadString(0)
	if err != nil {
		return "", fmt.Errorf("reading the reply to %s from %s: %w", cmd, addr, err)
	}
	return strings.TrimSuffix(reply, "\x00"), nil
}
