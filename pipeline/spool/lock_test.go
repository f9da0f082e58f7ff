package spool

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/gatewatch/gatewatch/internal/eventlog"
)

func TestLockSameProcess(t *testing.T) {
	dir := t.TempDir()
	if InUse(dir) {
		t.Fatal("InUse before any Open")
	}
	if InUse(filepath.Join(dir, "does-not-exist")) {
		t.Fatal("InUse of a missing directory")
	}
	sp, err := Open(Config{Dir: dir}, &eventlog.Recorder{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !InUse(dir) {
		t.Fatal("InUse = false while open")
	}
	pid, _ := os.ReadFile(filepath.Join(dir, "lock"))
	if strings.TrimSpace(string(pid)) != strconv.Itoa(os.Getpid()) {
		t.Errorf("lock file holds %q, want our pid %d", pid, os.Getpid())
	}
	sp2, err := Open(Config{Dir: dir}, &eventlog.Recorder{}, nil)
	if err == nil {
		sp2.Close()
		t.Fatal("second Open of the same spool succeeded")
	}
	if !strings.Contains(err.Error(), "in use") || !strings.Contains(err.Error(), strconv.Itoa(os.Getpid())) {
		t.Errorf("second Open error = %q, want it to say in use and name pid %d", err, os.Getpid())
	}
	// The refused Open must not have broken the owner's lock.
	if !InUse(dir) {
		t.Fatal("InUse = false after a refused second Open")
	}
	if err := sp.Close(); err != nil {
		t.Fatal(err)
	}
	if InUse(dir) {
		t.Fatal("InUse = true after Close")
	}
	sp3, err := Open(Config{Dir: dir}, &eventlog.Recorder{}, nil)
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	if !InUse(dir) {
		t.Fatal("InUse = false after reopening")
	}
	sp3.Close()
}

const lockHelperEnv = "GATEWATCH_SPOOL_LOCK_HELPER"

// TestMain lets TestLockOtherProcess run the test binary as a second
// process that owns a spool.
func TestMain(m *testing.M) {
	if dir := os.Getenv(lockHelperEnv); dir != "" {
		holdSpool(dir)
	}
	os.Exit(m.Run())
}

// holdSpool opens the spool in dir, says so, and holds it until stdin
// closes.
func holdSpool(dir string) {
	sp, err := Open(Config{Dir: dir}, &eventlog.Recorder{}, nil)
	if err != nil {
		os.Stdout.WriteString("error " + err.Error() + "\n")
		os.Exit(1)
	}
	os.Stdout.WriteString("ready\n")
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n') // until the parent closes stdin
	sp.Close()
	os.Exit(0)
}

func TestLockOtherProcess(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), lockHelperEnv+"="+dir)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		stdin.Close()
		_ = cmd.Wait()
	}()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "ready\n" {
		t.Fatalf("helper said %q, %v", line, err)
	}
	if !InUse(dir) {
		t.Fatal("InUse = false while another process owns the spool")
	}
	_, err = Open(Config{Dir: dir}, &eventlog.Recorder{}, nil)
	if err == nil || !strings.Contains(err.Error(), "in use") || !strings.Contains(err.Error(), strconv.Itoa(cmd.Process.Pid)) {
		t.Fatalf("Open while another process owns the spool = %v, want in use by pid %d", err, cmd.Process.Pid)
	}
	stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("helper: %v", err)
	}
	if InUse(dir) {
		t.Fatal("InUse = true after the owner exited")
	}
	sp, err := Open(Config{Dir: dir}, &eventlog.Recorder{}, nil)
	if err != nil {
		t.Fatalf("Open after the owner exited: %v", err)
	}
	sp.Close()
}
