package peers

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// RsyslogRoot is where `make deps` unpacks Debian's rsyslog and
// rsyslog-gnutls: rsyslog conflicts with syslog-ng-core, so it is run from
// the unpacked packages instead of being installed.
const RsyslogRoot = "/usr/local/lib/gatewatch-peers/rsyslog"

// RsyslogBin is the unpacked rsyslogd.
const RsyslogBin = RsyslogRoot + "/usr/sbin/rsyslogd"

// Collector is a syslog daemon running a configuration a test wrote, such
// as a shipped one with loopback ports and temporary paths filled in.
type Collector struct {
	Dir  string
	proc *process
}

// Stop ends the daemon (SIGTERM, by PID) and waits for it.
func (c *Collector) Stop(t testing.TB) { c.proc.stop(t) }

// StartSyslogNGConf checks conf with --syntax-only, starts syslog-ng on it
// and waits until it accepts on every address.
func StartSyslogNGConf(t testing.TB, conf string, addrs ...string) *Collector {
	t.Helper()
	Require(t, SyslogNGBin)
	c := &Collector{Dir: peerDir(t, "syslog-ng-conf")}
	path := filepath.Join(c.Dir, "syslog-ng.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatalf("peers: %v", err)
	}
	if out, err := runTool(t, 30*time.Second, nil, SyslogNGBin, "--syntax-only", "-f", path); err != nil {
		t.Fatalf("peers: syslog-ng --syntax-only: %v\n%s\n%s", err, out, conf)
	}
	c.proc = startProcess(t, c.Dir, "syslog-ng", []string{SyslogNGBin, "-F", "-e", "--no-caps", "-f", path,
		"-p", filepath.Join(c.Dir, "syslog-ng.pid"), "-R", filepath.Join(c.Dir, "syslog-ng.persist"),
		"-c", filepath.Join(c.Dir, "syslog-ng.ctl")})
	c.waitFor(t, addrs)
	return c
}

// StartRsyslog checks conf with -N1, starts rsyslogd in the foreground on
// it and waits until it accepts on every address. conf must set its own
// global(workDirectory=...) (Collector.Dir is a fresh directory for it:
// pass the configuration through a func to know it).
func StartRsyslog(t testing.TB, conf func(dir string) string, addrs ...string) *Collector {
	t.Helper()
	if _, err := os.Stat(RsyslogBin); err != nil {
		unavailable(t, "%s is missing (%v); `make deps` unpacks Debian's rsyslog and rsyslog-gnutls there", RsyslogBin, err)
	}
	mods, _ := filepath.Glob(filepath.Join(RsyslogRoot, "usr/lib/*/rsyslog"))
	if len(mods) == 0 {
		t.Fatalf("peers: no rsyslog module directory under %s", RsyslogRoot)
	}
	c := &Collector{Dir: peerDir(t, "rsyslog")}
	path := filepath.Join(c.Dir, "rsyslog.conf")
	text := conf(c.Dir)
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatalf("peers: %v", err)
	}
	if out, err := runTool(t, 30*time.Second, nil, RsyslogBin, "-N1", "-f", path, "-M", mods[0]); err != nil {
		t.Fatalf("peers: rsyslogd -N1: %v\n%s\n%s", err, out, text)
	}
	c.proc = startProcess(t, c.Dir, "rsyslogd", []string{RsyslogBin, "-n", "-f", path, "-M", mods[0],
		"-i", filepath.Join(c.Dir, "rsyslogd.pid")})
	c.waitFor(t, addrs)
	return c
}

func (c *Collector) waitFor(t testing.TB, addrs []string) {
	t.Helper()
	for _, addr := range addrs {
		if err := dialUntil(addr, 20*time.Second, c.proc.exited()); err != nil {
			t.Fatalf("peers: %v (%s)", err, c.proc.describe())
		}
	}
}
