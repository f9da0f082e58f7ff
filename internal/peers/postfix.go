package peers

import (
	"fmt"
	"io/fs"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// PostfixOptions configures a hand-run Postfix relay.
type PostfixOptions struct {
	// RelayHost is the "host:port" every message is relayed to, typically a
	// Sink's Addr or the gateway's listener. It is required: without it
	// Postfix would look up the recipients' domains, which tests must not do.
	RelayHost string
	// Extra holds further main.cf settings; they override the defaults.
	Extra map[string]string
}

// Postfix is a private Postfix instance listening on 127.0.0.1. It plays a
// real upstream or downstream MTA for the gateway, with a real queue, real
// retries and Postfix's own SMTP client and server.
type Postfix struct {
	Addr      string // smtpd listener, "127.0.0.1:PORT"
	Dir       string // private directory: etc/, spool/, data/, maillog, logs
	ConfigDir string // for postfix -c, sendmail -C, postqueue -c
	QueueDir  string

	// realQueueDir is QueueDir with symlinks resolved, as the kernel reports
	// the daemons' working directories.
	realQueueDir string
	stopOnce     sync.Once
}

// StartPostfix writes a config for a relay-only Postfix in a private
// directory, starts it and stops it at cleanup. It needs root, like any
// Postfix master.
func StartPostfix(t testing.TB, opts PostfixOptions) *Postfix {
	t.Helper()
	Require(t, PostfixBin)
	if os.Geteuid() != 0 {
		unavailable(t, "the Postfix master must run as root")
	}
	relayHost, relayPort, err := net.SplitHostPort(opts.RelayHost)
	if err != nil {
		t.Fatalf("peers: PostfixOptions.RelayHost %q: %v (want host:port)", opts.RelayHost, err)
	}

	dir := peerDir(t, "postfix")
	p := &Postfix{
		Addr:      FreeAddr(t),
		Dir:       dir,
		ConfigDir: filepath.Join(dir, "etc"),
		QueueDir:  filepath.Join(dir, "spool"),
	}
	dataDir := filepath.Join(dir, "data")
	for _, d := range []string{p.ConfigDir, p.QueueDir, dataDir} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatalf("peers: %v", err)
		}
	}
	giveToPostfix(t, dataDir)
	if p.realQueueDir, err = filepath.EvalSymlinks(p.QueueDir); err != nil {
		t.Fatalf("peers: %v", err)
	}
	// The daemons talk over unix sockets under the queue directory, and
	// sun_path holds only 107 bytes.
	if n := len(filepath.Join(p.realQueueDir, "private", "proxywrite")); n > 100 {
		t.Fatalf("peers: queue directory %s is too long for Postfix's unix sockets; set a shorter TMPDIR", p.QueueDir)
	}

	settings := map[string]string{
		"compatibility_level":          "3.6",
		"queue_directory":              p.QueueDir,
		"data_directory":               dataDir,
		"mail_owner":                   "postfix",
		"setgid_group":                 "postdrop",
		"myhostname":                   "relay.test.invalid",
		"mydomain":                     "test.invalid",
		"myorigin":                     "$myhostname",
		"inet_interfaces":              "127.0.0.1",
		"inet_protocols":               "ipv4",
		"mydestination":                "",
		"relay_domains":                "",
		"local_recipient_maps":         "",
		"local_transport":              "error:local delivery disabled",
		"alias_maps":                   "",
		"alias_database":               "",
		"relayhost":                    "[" + relayHost + "]:" + relayPort,
		"mynetworks":                   "127.0.0.0/8",
		"smtpd_relay_restrictions":     "permit_mynetworks, reject",
		"smtpd_recipient_restrictions": "permit_mynetworks, reject",
		"smtp_tls_security_level":      "none",
		"smtpd_tls_security_level":     "none",
		"disable_dns_lookups":          "yes",
		"smtp_host_lookup":             "native",
		"biff":                         "no",
		"append_dot_mydomain":          "no",
		"maillog_file":                 filepath.Join(dir, "maillog"),
		// Postfix refuses a maillog_file outside these prefixes.
		"maillog_file_prefixes": dir,
		// Retry deferred mail within seconds, not minutes, so a test can
		// bring a stopped next hop back and see the mail arrive.
		"queue_run_delay":      "1s",
		"minimal_backoff_time": "1s",
		"maximal_backoff_time": "2s",
	}
	maps.Copy(settings, opts.Extra)
	var mainCf strings.Builder
	for _, key := range slices.Sorted(maps.Keys(settings)) {
		value := settings[key]
		if strings.ContainsAny(key+value, "\n") {
			t.Fatalf("peers: main.cf setting %q = %q contains a newline", key, value)
		}
		fmt.Fprintf(&mainCf, "%s = %s\n", key, value)
	}
	writeFile(t, filepath.Join(p.ConfigDir, "main.cf"), mainCf.String())
	writeFile(t, filepath.Join(p.ConfigDir, "master.cf"), masterCf(p.Addr))

	t.Cleanup(func() {
		p.Stop(t)
		logOnFailure(t, "postfix commands", filepath.Join(dir, "postfix.log"))
		logOnFailure(t, "postfix maillog", filepath.Join(dir, "maillog"))
	})
	// check creates the queue directories with Postfix's ownership and modes.
	for _, verb := range []string{"check", "start"} {
		if err := p.postfix(t, verb); err != nil {
			t.Fatalf("peers: %v", err)
		}
	}
	// "postfix start" returns once the master has opened its listeners, so
	// this normally succeeds on the first attempt.
	WaitTCP(t, p.Addr, 10*time.Second)
	return p
}

// masterCf is Debian's master.cf without the pipe transports and with chroot
// off, because a chroot would need a copy of /etc and the libraries inside
// the temporary queue directory.
func masterCf(addr string) string {
	return addr + ` inet n - n - - smtpd
pickup    unix  n - n 60 1 pickup
cleanup   unix  n - n -  0 cleanup
qmgr      unix  n - n 300 1 qmgr
tlsmgr    unix  - - n 1000? 1 tlsmgr
rewrite   unix  - - n - - trivial-rewrite
bounce    unix  - - n - 0 bounce
defer     unix  - - n - 0 bounce
trace     unix  - - n - 0 bounce
verify    unix  - - n - 1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n - - proxymap
proxywrite unix - - n - 1 proxymap
smtp      unix  - - n - - smtp
relay     unix  - - n - - smtp
showq     unix  n - n - - showq
error     unix  - - n - - error
retry     unix  - - n - - error
discard   unix  - - n - - discard
local     unix  - n n - - local
anvil     unix  - - n - 1 anvil
scache    unix  - - n - 1 scache
postlog   unix-dgram n - n - 1 postlogd
`
}

func writeFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatalf("peers: %v", err)
	}
}

// postfix runs "postfix -c CONFIG_DIR VERB", appending its output to
// Dir/postfix.log so it shows up in the failure log.
func (p *Postfix) postfix(t testing.TB, verb string) error {
	t.Helper()
	out, err := runTool(t, 30*time.Second, nil, PostfixBin, "-c", p.ConfigDir, verb)
	logPath := filepath.Join(p.Dir, "postfix.log")
	if f, ferr := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644); ferr == nil {
		fmt.Fprintf(f, "$ postfix -c %s %s\n%s", p.ConfigDir, verb, out)
		if err != nil {
			fmt.Fprintf(f, "(%v)\n", err)
		}
		f.Close()
	}
	if err != nil {
		return fmt.Errorf("postfix -c %s %s: %v\n%s", p.ConfigDir, verb, err, out)
	}
	return nil
}

// Stop shuts the instance down now instead of at cleanup, e.g. to simulate
// an outage of the gateway's next hop. It returns once every Postfix process
// of the instance has gone. Its queue stays, but a new StartPostfix starts
// from an empty one.
func (p *Postfix) Stop(t testing.TB) {
	t.Helper()
	p.stopOnce.Do(func() { p.stop(t) })
}

// stop shuts the instance down with "postfix stop" and then makes sure that
// none of its processes is left. The master daemonizes, so it is not our
// child and cannot be waited for; its processes are found instead by their
// working directory, which every Postfix daemon sets to its own queue
// directory. That also covers a master that "postfix stop" could not reach.
func (p *Postfix) stop(t testing.TB) {
	t.Helper()
	if err := p.postfix(t, "stop"); err != nil && len(p.processes()) > 0 {
		// A master that is there but does not answer "postfix stop".
		p.signalAll(syscall.SIGTERM)
	}
	if p.waitGone(stopGrace) {
		return
	}
	p.signalAll(syscall.SIGKILL)
	if !p.waitGone(stopGrace) {
		t.Errorf("peers: Postfix processes %v of %s survived SIGKILL", p.processes(), p.Dir)
	}
}

func (p *Postfix) signalAll(sig syscall.Signal) {
	for _, pid := range p.processes() {
		_ = syscall.Kill(pid, sig) // it may have exited meanwhile
	}
}

func (p *Postfix) waitGone(timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for len(p.processes()) > 0 {
		if !time.Now().Before(deadline) {
			return false
		}
		time.Sleep(pollInterval)
	}
	return true
}

// processes lists the live processes working in this instance's queue
// directory. Zombies have no working directory and are not listed: they are
// already dead, and on a machine whose PID 1 does not reap orphans they stay
// zombies forever.
func (p *Postfix) processes() []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if cwd, err := os.Readlink("/proc/" + e.Name() + "/cwd"); err == nil && cwd == p.realQueueDir {
			pids = append(pids, pid)
		}
	}
	return pids
}

// Maillog returns Postfix's log so far, e.g. to look for "status=sent" or a
// rejection reason. It is empty until Postfix has logged something.
func (p *Postfix) Maillog(t testing.TB) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(p.Dir, "maillog"))
	if err != nil && !os.IsNotExist(err) {
		t.Fatalf("peers: %v", err)
	}
	return string(data)
}

// WaitQueueEmpty polls until Postfix holds no mail that it still has to
// deliver, i.e. everything injected so far has been delivered or bounced.
// Mail that Postfix accepted is already in a queue file by the time the
// client sees 250 (SMTP) or sendmail returns, so an empty queue cannot be
// observed before the mail has entered it.
func (p *Postfix) WaitQueueEmpty(t testing.TB, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		files, err := p.queueFiles()
		if err != nil {
			t.Fatalf("peers: %v", err)
		}
		if len(files) == 0 {
			return
		}
		if !time.Now().Before(deadline) {
			t.Fatalf("peers: Postfix queue not empty after %v: %v\nmaillog:\n%s", timeout, files, p.Maillog(t))
		}
		time.Sleep(pollInterval)
	}
}

func (p *Postfix) queueFiles() ([]string, error) {
	var files []string
	// The queues of mail that Postfix still has to deliver; "hold" is left
	// out because held mail waits for a human.
	for _, q := range []string{"maildrop", "incoming", "active", "deferred"} {
		err := filepath.WalkDir(filepath.Join(p.QueueDir, q), func(path string, d fs.DirEntry, err error) error {
			if os.IsNotExist(err) {
				return nil // a queue file that was just moved on, or a hashed subdirectory
			}
			if err != nil {
				return err
			}
			if !d.IsDir() {
				files = append(files, strings.TrimPrefix(path, p.QueueDir+"/"))
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return files, nil
}

// Sendmail injects msg through this instance's own sendmail(1), as a local
// program on a gateway host would. "-i" keeps a line holding a single "."
// in the message instead of ending it there.
func (p *Postfix) Sendmail(t testing.TB, from string, to []string, msg []byte) {
	t.Helper()
	Require(t, SendmailBin)
	args := append([]string{"-C", p.ConfigDir, "-i", "-f", from, "--"}, to...)
	if out, err := runTool(t, 30*time.Second, msg, SendmailBin, args...); err != nil {
		t.Fatalf("peers: sendmail %q: %v\n%s", args, err, out)
	}
}
