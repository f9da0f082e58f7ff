package peers

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// stopGrace is how long a daemon gets to exit on SIGTERM before SIGKILL. It
// is generous because a stuck cleanup costs far less than a daemon left
// holding a port or writing into the next test's files.
const stopGrace = 5 * time.Second

// process is a long-running daemon that this package started itself and
// therefore must stop and reap itself.
type process struct {
	name     string
	logPath  string
	cmd      *exec.Cmd
	done     chan struct{} // closed once cmd.Wait has returned
	stopOnce sync.Once
}

// startProcess starts argv with stdout and stderr in dir/NAME.log and stops
// it at cleanup. Output goes to a file rather than to a pipe so that nothing
// blocks when the daemon writes a lot and nobody reads.
func startProcess(t testing.TB, dir, name string, argv []string) *process {
	t.Helper()
	logPath := filepath.Join(dir, name+".log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		t.Fatalf("peers: %v", err)
	}
	defer logFile.Close() // the child holds its own descriptor
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	if err := cmd.Start(); err != nil {
		t.Fatalf("peers: starting %s: %v", name, err)
	}
	p := &process{name: name, logPath: logPath, cmd: cmd, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait() // the exit status is read from cmd.ProcessState
		close(p.done)
	}()
	t.Cleanup(func() {
		p.stop(t)
		logOnFailure(t, name+" output", logPath)
	})
	return p
}

// exited is closed when the process has ended, for whatever reason.
func (p *process) exited() <-chan struct{} { return p.done }

// describe says how the process ended and what it printed, for failure
// messages about a daemon that did not come up.
func (p *process) describe() string {
	state := "still running"
	select {
	case <-p.done:
		state = p.cmd.ProcessState.String()
	default:
	}
	out, _ := os.ReadFile(p.logPath)
	return fmt.Sprintf("%s (pid %d, %s), output:\n%s", p.name, p.cmd.Process.Pid, state, out)
}

// stop ends the process with SIGTERM, then SIGKILL, and waits until it has
// been reaped. Calling it again is harmless, so a test may stop a peer early
// and still leave the cleanup in place.
func (p *process) stop(t testing.TB) {
	p.stopOnce.Do(func() {
		for _, sig := range []os.Signal{syscall.SIGTERM, syscall.SIGKILL} {
			select {
			case <-p.done:
				return
			default:
			}
			// An error here means that the process has just exited.
			_ = p.cmd.Process.Signal(sig)
			select {
			case <-p.done:
				return
			case <-time.After(stopGrace):
			}
		}
		t.Errorf("peers: %s (pid %d) still running after SIGKILL", p.name, p.cmd.Process.Pid)
	})
}

// openFiles returns the paths of the files the process has open, as the
// kernel reports them (symlinks resolved). A process that has ended has none;
// should its pid be reused, the newcomer's files are not ours to match.
func (p *process) openFiles() (map[string]bool, error) {
	fdDir := "/proc/" + strconv.Itoa(p.cmd.Process.Pid) + "/fd"
	fds, err := os.ReadDir(fdDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("listing the open files of %s: %w", p.name, err)
	}
	open := make(map[string]bool, len(fds))
	for _, fd := range fds {
		if target, err := os.Readlink(fdDir + "/" + fd.Name()); err == nil {
			open[target] = true
		}
	}
	return open, nil
}

// runTool runs a short-lived program to completion and returns its combined
// output. A run that exceeds timeout, or that could not start at all, is
// reported as such, so that callers can tell "the tool said no" (an
// *exec.ExitError) apart from "the tool did not run".
func runTool(t testing.TB, timeout time.Duration, stdin []byte, bin string, args ...string) (string, error) {
	t.Helper()
	// Not t.Context(): that is cancelled before cleanups run, and cleanups
	// use this to stop Postfix.
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	// A grandchild that keeps the output open must not hang the test.
	cmd.WaitDelay = time.Second
	err := cmd.Run()
	if ctxErr := ctx.Err(); ctxErr != nil {
		return out.String(), fmt.Errorf("%s %q did not finish: %w", bin, args, ctxErr)
	}
	return out.String(), err
}

// isExit reports whether err says that the program ran and exited non-zero.
func isExit(err error) bool {
	var exitErr *exec.ExitError
	return errors.As(err, &exitErr)
}
