package peers

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// Debian ships no IETF base MIBs in main (snmp-mibs-downloader is
// non-free), but erlang-snmp carries plain SMIv2 copies of them. Its .deb
// is fetched with apt-get download and unpacked, never installed (that
// would pull in Erlang), once per machine into a cache directory.

// BaseMIBModules are the modules GATEWATCH-MIB and the test tools need.
func BaseMIBModules() []string {
	return []string{"SNMPv2-SMI", "SNMPv2-TC", "SNMPv2-CONF", "SNMPv2-MIB", "SNMP-FRAMEWORK-MIB", "INET-ADDRESS-MIB"}
}

// BaseMIBs returns a directory holding the base modules as NAME.mib (the
// file names smilint and net-snmp both find by module name).
func BaseMIBs(t testing.TB) string {
	t.Helper()
	Require(t, "/usr/bin/apt-get", "/usr/bin/dpkg")
	cache := os.Getenv("GATEWATCH_MIB_CACHE")
	if cache == "" {
		cache = filepath.Join(os.TempDir(), "gatewatch-base-mibs")
	}
	// A file lock serialises the download between parallel tests and
	// between the test binaries of several packages.
	lock, err := os.OpenFile(cache+".lock", os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		t.Fatalf("peers: %v", err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatalf("peers: lock %s: %v", lock.Name(), err)
	}
	if haveAll(cache) {
		return cache
	}
	work, err := os.MkdirTemp("", "gw-erlang-snmp-")
	if err != nil {
		t.Fatalf("peers: %v", err)
	}
	defer os.RemoveAll(work)
	dl := exec.Command("apt-get", "download", "erlang-snmp")
	dl.Dir = work
	if out, err := dl.CombinedOutput(); err != nil {
		unavailable(t, "apt-get download erlang-snmp (for the base MIBs): %v\n%s", err, out)
	}
	debs, _ := filepath.Glob(filepath.Join(work, "erlang-snmp_*.deb"))
	if len(debs) != 1 {
		t.Fatalf("peers: apt-get download erlang-snmp left %v", debs)
	}
	if out, err := exec.Command("dpkg", "-x", debs[0], filepath.Join(work, "x")).CombinedOutput(); err != nil {
		t.Fatalf("peers: dpkg -x: %v\n%s", err, out)
	}
	found, _ := filepath.Glob(filepath.Join(work, "x", "usr", "lib", "erlang", "lib", "snmp-*", "mibs"))
	if len(found) != 1 {
		t.Fatalf("peers: no mibs directory in erlang-snmp (%v)", found)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(cache), ".gatewatch-base-mibs-")
	if err != nil {
		t.Fatalf("peers: %v", err)
	}
	for _, m := range BaseMIBModules() {
		b, err := os.ReadFile(filepath.Join(found[0], m+".mib"))
		if err != nil {
			t.Fatalf("peers: erlang-snmp lacks %s: %v", m, err)
		}
		if err := os.WriteFile(filepath.Join(tmp, m+".mib"), b, 0o644); err != nil {
			t.Fatalf("peers: %v", err)
		}
	}
	// Renaming a complete directory into place keeps other processes from
	// seeing a half-filled cache.
	_ = os.RemoveAll(cache)
	if err := os.Rename(tmp, cache); err != nil && !haveAll(cache) {
		t.Fatalf("peers: %v", err)
	}
	return cache
}

func haveAll(dir string) bool {
	for _, m := range BaseMIBModules() {
		if _, err := os.Stat(filepath.Join(dir, m+".mib")); err != nil {
			return false
		}
	}
	return true
}

// MIBPath joins MIB directories for SMIPATH or net-snmp's -M.
func MIBPath(dirs ...string) string { return strings.Join(dirs, ":") }
