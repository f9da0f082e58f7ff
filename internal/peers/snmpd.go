package peers

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// net-snmp programs (Debian packages snmpd and snmp).
const (
	SnmpdBin        = "/usr/sbin/snmpd"
	SnmpgetBin      = "/usr/bin/snmpget"
	SnmpwalkBin     = "/usr/bin/snmpwalk"
	SnmpbulkwalkBin = "/usr/bin/snmpbulkwalk"
	SnmpsetBin      = "/usr/bin/snmpset"
)

// SysName is sysName.0, which StartSnmpd polls to see that snmpd is up.
const SysName = "1.3.6.1.2.1.1.5.0"

// snmpdStartTimeout bounds snmpd's start-up (0.3-0.4 s when measured).
const snmpdStartTimeout = 15 * time.Second

// SNMPv3User is an authPriv user (SHA authentication, AES privacy).
type SNMPv3User struct {
	Name     string
	AuthPass string // at least 8 characters
	PrivPass string // at least 8 characters
}

// SnmpdOptions configures a private snmpd acting as AgentX master.
type SnmpdOptions struct {
	// ReadWrite adds "rwcommunity private 127.0.0.1", so that a set reaches
	// the subagent's TestSet instead of being refused by snmpd's access
	// control; Set then uses community private.
	ReadWrite bool
	// V3, if set, is created (createUser) and given read-only access
	// (rouser ... priv). V3Args returns the matching client arguments.
	V3 *SNMPv3User
	// Extra holds further snmpd.conf lines, e.g. "trap2sink 127.0.0.1:PORT public".
	Extra []string
}

// Snmpd is a running /usr/sbin/snmpd on loopback: SNMP agent on a free UDP
// port, AgentX master on a unix socket in its directory and on a free TCP
// port. A restarted snmpd keeps all three addresses, like a real one.
type Snmpd struct {
	Dir string // private directory: config, persistent data, logs

	addr      string // "127.0.0.1:PORT" (UDP)
	unixPath  string
	tcpAddr   string
	opts      SnmpdOptions
	conf      string
	clientDir string // SNMP_PERSISTENT_DIR and SNMPCONFPATH of the tools
	starts    int
	proc      *process
}

// SNMPValue is one value as the net-snmp tools print it: Type as they name
// it ("STRING", "Hex-STRING", "INTEGER", "OID", "Timeticks", "Counter32",
// "Counter64", "Gauge32", ...) or one of "noSuchObject", "noSuchInstance",
// "endOfMibView"; Value without quotes (STRING), the bare number
// (Timeticks) or as printed (Hex-STRING: "07 EA 0B ...", OID: ".1.3...").
type SNMPValue struct {
	Type  string
	Value string
}

// SNMPVar is an OID (dotted, no leading dot) with its value.
type SNMPVar struct {
	OID   string
	Type  string
	Value string
}

// StartSnmpd writes a config into a private directory, starts snmpd and
// waits until it answers SNMP, and stops it (SIGTERM, by PID) at cleanup.
func StartSnmpd(t testing.TB, opts SnmpdOptions) *Snmpd {
	t.Helper()
	requireSNMP(t, SnmpdBin, SnmpgetBin)
	dir := peerDir(t, "snmpd")
	s := &Snmpd{
		Dir:       dir,
		addr:      loopback(FreeUDPPort(t)),
		unixPath:  filepath.Join(dir, "agentx.sock"),
		tcpAddr:   FreeAddr(t),
		opts:      opts,
		conf:      filepath.Join(dir, "snmpd.conf"),
		clientDir: filepath.Join(dir, "client"),
	}
	for _, d := range []string{filepath.Join(dir, "persist"), s.clientDir} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatalf("peers: %v", err)
		}
	}
	if err := os.WriteFile(s.conf, []byte(s.config()), 0o644); err != nil {
		t.Fatalf("peers: %v", err)
	}
	s.start(t)
	return s
}

// requireSNMP is Require with the Debian package named in the message.
func requireSNMP(t testing.TB, bins ...string) {
	t.Helper()
	for _, bin := range bins {
		if _, err := exec.LookPath(bin); err != nil {
			pkg := "snmp"
			if filepath.Base(bin) == "snmpd" {
				pkg = "snmpd"
			}
			unavailable(t, "%s is not usable (%v); install Debian package %s", bin, err, pkg)
		}
	}
}

func (s *Snmpd) config() string {
	lines := []string{
		// A fresh persistentDir: otherwise snmpd writes /var/lib/snmp, and
		// users and engineBoots pile up across runs.
		"[snmp] persistentDir " + filepath.Join(s.Dir, "persist"),
		"agentAddress udp:" + s.addr,
		"master agentx",
		"agentXSocket unix:" + s.unixPath + ",tcp:" + s.tcpAddr,
		"agentXPerms 0666 0755",
		"agentXTimeout 5",
		"agentXRetries 1",
		"dontLogTCPWrappersConnects yes", // no line per SNMP request in the log
		"sysLocation gatewatch-test",
		"sysContact test@example.org",
		"rocommunity public 127.0.0.1",
	}
	if s.opts.ReadWrite {
		lines = append(lines, "rwcommunity private 127.0.0.1")
	}
	if u := s.opts.V3; u != nil {
		lines = append(lines,
			fmt.Sprintf("createUser %s SHA %q AES %q", u.Name, u.AuthPass, u.PrivPass),
			fmt.Sprintf("rouser %s priv", u.Name))
	}
	lines = append(lines, s.opts.Extra...)
	return strings.Join(lines, "\n") + "\n"
}

// start runs snmpd and waits until it answers on UDP and listens for
// AgentX on TCP.
func (s *Snmpd) start(t testing.TB) {
	t.Helper()
	s.starts++
	// -C: only our config; -m "": no MIBs (Debian ships none, and the
	// compiled-in list would log hundreds of errors); -I -smux,extend: no
	// SMUX listener on 0.0.0.0:199 and no extend. Debian's built-in MTA-MIB
	// module (mta_sendmail) stays on, as on a real host: the subagent has
	// to win over it.
	argv := []string{SnmpdBin, "-f", "-Lo", "-C", "-c", s.conf, "-p", filepath.Join(s.Dir, "snmpd.pid"),
		"-m", "", "-I", "-smux,extend"}
	// One log per start, so a restart does not overwrite what the last
	// run said.
	s.proc = startProcess(t, s.Dir, "snmpd-"+strconv.Itoa(s.starts), argv)
	deadline := time.Now().Add(snmpdStartTimeout)
	for {
		out, err := s.Tool(t, SnmpgetBin, "-v2c", "-c", "public", "-t", "0.2", "-r", "0", "-On", s.addr, SysName)
		if err == nil && strings.Contains(out, SysName) {
			break
		}
		select {
		case <-s.proc.exited():
			t.Fatalf("peers: snmpd exited during start-up: %s", s.proc.describe())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("peers: snmpd did not answer within %v (last snmpget: %v, %s): %s",
				snmpdStartTimeout, err, out, s.proc.describe())
		}
		time.Sleep(pollInterval)
	}
	if err := dialUntil(s.tcpAddr, snmpdStartTimeout, s.proc.exited()); err != nil {
		t.Fatalf("peers: snmpd AgentX: %v: %s", err, s.proc.describe())
	}
	if fi, err := os.Stat(s.unixPath); err != nil || fi.Mode()&os.ModeSocket == 0 {
		t.Fatalf("peers: snmpd has no AgentX socket at %s (%v): %s", s.unixPath, err, s.proc.describe())
	}
}

// Addr is the SNMP agent's UDP address, "127.0.0.1:PORT".
func (s *Snmpd) Addr() string { return s.addr }

// AgentXUnix is the AgentX unix socket in net-snmp notation, "unix:/path".
func (s *Snmpd) AgentXUnix() string { return "unix:" + s.unixPath }

// AgentXTCP is the AgentX TCP listener in net-snmp notation,
// "tcp:127.0.0.1:PORT".
func (s *Snmpd) AgentXTCP() string { return "tcp:" + s.tcpAddr }

// PID is the running snmpd's process id.
func (s *Snmpd) PID() int { return s.proc.cmd.Process.Pid }

// Stop ends snmpd with SIGTERM (SIGKILL after a grace period) and waits for
// it. A clean exit removes the AgentX socket and closes every subagent's
// connection.
func (s *Snmpd) Stop(t testing.TB) {
	t.Helper()
	s.proc.stop(t)
}

// Kill ends snmpd with SIGKILL, as a crash would: no clean-up, the socket
// file stays behind.
func (s *Snmpd) Kill(t testing.TB) {
	t.Helper()
	if err := s.proc.cmd.Process.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
		t.Fatalf("peers: killing snmpd: %v", err)
	}
	select {
	case <-s.proc.exited():
	case <-time.After(stopGrace):
		t.Fatalf("peers: snmpd (pid %d) still running after SIGKILL", s.PID())
	}
}

// Restart stops snmpd if it is running and starts it again with the same
// config, ports, socket path and persistent data.
func (s *Snmpd) Restart(t testing.TB) {
	t.Helper()
	s.proc.stop(t)
	s.start(t)
}

// Tool runs a net-snmp command-line tool (snmpget, snmpwalk, ...) with
// args, with its own persistent and config directory and no MIBs, so that
// output is numeric and nothing of the machine's set-up leaks in. It
// returns the combined output; a non-nil error means the tool failed (or
// ran over 60 s).
func (s *Snmpd) Tool(t testing.TB, bin string, args ...string) (string, error) {
	t.Helper()
	requireSNMP(t, bin)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append([]string{"-m", ""}, args...)...)
	cmd.Env = append(os.Environ(), "SNMP_PERSISTENT_DIR="+s.clientDir, "SNMPCONFPATH="+s.clientDir, "MIBS=")
	cmd.WaitDelay = time.Second
	out, err := cmd.CombinedOutput()
	if ctxErr := ctx.Err(); ctxErr != nil {
		return string(out), fmt.Errorf("%s %q did not finish: %w", bin, args, ctxErr)
	}
	return string(out), err
}

// V3Args are the client arguments of the SnmpdOptions.V3 user.
func (s *Snmpd) V3Args() []string {
	u := s.opts.V3
	if u == nil {
		return nil
	}
	return []string{"-v3", "-l", "authPriv", "-u", u.Name, "-a", "SHA", "-A", u.AuthPass, "-x", "AES", "-X", u.PrivPass}
}

// Get fetches every OID with one snmpget, so that all of them travel in a
// single SNMP GET request. The map is keyed by OID without a leading dot.
// An error carries the tool's output (a timeout, or an SNMP error such as
// genErr for the whole request).
func (s *Snmpd) Get(t testing.TB, oids ...string) (map[string]SNMPValue, error) {
	t.Helper()
	args := append([]string{"-v2c", "-c", "public", "-t", "2", "-r", "1", "-On", s.addr}, oids...)
	out, err := s.Tool(t, SnmpgetBin, args...)
	if err != nil {
		return nil, fmt.Errorf("snmpget: %w\n%s", err, out)
	}
	vars, err := ParseSNMPOutput(out)
	if err != nil {
		return nil, err
	}
	m := make(map[string]SNMPValue, len(vars))
	for _, v := range vars {
		m[v.OID] = SNMPValue{Type: v.Type, Value: v.Value}
	}
	return m, nil
}

// Walk runs snmpwalk (GETNEXT) below oid and fails the test if it fails.
// snmpwalk itself fails on OIDs that do not increase.
func (s *Snmpd) Walk(t testing.TB, oid string) []SNMPVar {
	t.Helper()
	return s.walk(t, SnmpwalkBin, oid)
}

// BulkWalk is Walk with snmpbulkwalk (GETBULK, 10 repetitions).
func (s *Snmpd) BulkWalk(t testing.TB, oid string) []SNMPVar {
	t.Helper()
	return s.walk(t, SnmpbulkwalkBin, oid)
}

func (s *Snmpd) walk(t testing.TB, bin, oid string) []SNMPVar {
	t.Helper()
	out, err := s.Tool(t, bin, "-v2c", "-c", "public", "-t", "2", "-r", "1", "-On", s.addr, oid)
	if err != nil {
		t.Fatalf("peers: %s %s: %v\n%s", filepath.Base(bin), oid, err, out)
	}
	vars, err := ParseSNMPOutput(out)
	if err != nil {
		t.Fatalf("peers: %s %s: %v", filepath.Base(bin), oid, err)
	}
	return vars
}

// Set runs snmpset (typ as snmpset takes it: i, u, s, x, o, t, c, ...) with
// community private under ReadWrite, public otherwise, and returns its
// output. Refusals are an *exec.ExitError, with snmpd's reason ("noAccess",
// "notWritable", ...) in the output.
func (s *Snmpd) Set(t testing.TB, oid, typ, value string) (string, error) {
	t.Helper()
	community := "public"
	if s.opts.ReadWrite {
		community = "private"
	}
	return s.Tool(t, SnmpsetBin, "-v2c", "-c", community, "-t", "2", "-r", "0", "-On", s.addr, oid, typ, value)
}

// snmpVarLine starts a variable in the tools' -On output; lines that do not
// match continue the previous value (long Hex-STRINGs wrap).
var snmpVarLine = regexp.MustCompile(`^\.?((?:[0-9]+\.)*[0-9]+) = (.*)$`)

// snmpTyped is "TYPE: value".
var snmpTyped = regexp.MustCompile(`(?s)^([A-Za-z0-9-]+(?: Address)?): ?(.*)$`)

// ParseSNMPOutput parses what snmpget/snmpwalk print with -On.
func ParseSNMPOutput(out string) ([]SNMPVar, error) {
	var vars []SNMPVar
	var raw []string // value text of each var, continuation lines joined
	for line := range strings.Lines(out) {
		line = strings.TrimRight(line, "\r\n")
		if m := snmpVarLine.FindStringSubmatch(line); m != nil {
			vars = append(vars, SNMPVar{OID: m[1]})
			raw = append(raw, m[2])
			continue
		}
		if len(vars) == 0 || line == "" {
			if strings.TrimSpace(line) != "" {
				return nil, fmt.Errorf("unexpected output line %q in:\n%s", line, out)
			}
			continue
		}
		raw[len(raw)-1] += "\n" + line
	}
	for i := range vars {
		vars[i].Type, vars[i].Value = parseSNMPValue(raw[i])
	}
	return vars, nil
}

func parseSNMPValue(v string) (typ, value string) {
	switch {
	case strings.HasPrefix(v, "No Such Object"):
		return "noSuchObject", ""
	case strings.HasPrefix(v, "No Such Instance"):
		return "noSuchInstance", ""
	case strings.HasPrefix(v, "No more variables left"):
		return "endOfMibView", ""
	case v == `""`:
		return "STRING", "" // an empty string is printed without its type
	}
	m := snmpTyped.FindStringSubmatch(v)
	if m == nil {
		return "", v
	}
	typ, value = m[1], m[2]
	switch typ {
	case "STRING":
		if u, err := strconv.Unquote(value); err == nil {
			return typ, u
		}
		return typ, strings.TrimSuffix(strings.TrimPrefix(value, `"`), `"`)
	case "Timeticks": // "(123) 0:00:01.23"
		if open, closing := strings.Index(value, "("), strings.Index(value, ")"); open == 0 && closing > 0 {
			return typ, value[1:closing]
		}
	case "Hex-STRING":
		return typ, strings.Join(strings.Fields(value), " ")
	}
	return typ, value
}
