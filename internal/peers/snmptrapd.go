package peers

import (
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// SnmptrapdBin is net-snmp's notification receiver (Debian package snmptrapd).
const SnmptrapdBin = "/usr/sbin/snmptrapd"

// trapdPrefix starts every notification line snmptrapd logs (format2), so
// that Lines can tell notifications from snmptrapd's own log messages in the
// same file.
const trapdPrefix = "GWTRAP "

// SnmptrapdUser is a USM user the receiver accepts, authPriv only: the
// gateway never sends below authPriv.
type SnmptrapdUser struct {
	Name     string
	Auth     string // MD5, SHA, SHA224 ... SHA512 (or net-snmp's SHA-224 spelling)
	AuthPass string
	Priv     string // DES, AES, AES192, AES256 (or AES-192 ...)
	PrivPass string
	// EngineID, when set, makes this a user of that SENDER engine
	// (createUser -e), as v3 traps need: for a trap the sender is the
	// authoritative engine, and the receiver must know its engine ID and
	// keys in advance. Without it the user belongs to the receiver's own
	// engine, as v3 informs need (the sender discovers the engine ID).
	// Keep the two kinds under different names where a test must tell
	// them apart: a trap sent with the receiver's engine ID would
	// otherwise be accepted as well.
	EngineID []byte
}

// SnmptrapdOptions configures an snmptrapd. The zero value accepts v2c
// traps and informs with community "public" and logs numeric OIDs.
type SnmptrapdOptions struct {
	// Community is accepted for v1/v2c; "" means "public".
	Community string
	// Users are accepted for v3 (see SnmptrapdUser.EngineID).
	Users []SnmptrapdUser
	// MIBs are directories to load MIB modules from, and Modules the
	// modules to load (net-snmp's -m list, e.g. "SNMPv2-MIB:GATEWATCH-MIB").
	// With no MIBs, nothing is loaded and every OID is logged numerically.
	MIBs    []string
	Modules string
	// Port to listen on (UDP, 127.0.0.1); 0 picks a free one.
	Port int
	// Config, when set, replaces the generated configuration; it gets the
	// listening address (for snmpTrapdAddr) and the private directory (for
	// persistentDir). Lines and WaitFor then only see lines in the
	// generated format; read the log with Log.
	Config func(addr, dir string) string
}

// Snmptrapd is a running /usr/sbin/snmptrapd on a 127.0.0.1 UDP port.
type Snmptrapd struct {
	Addr string // "127.0.0.1:PORT", a trap target
	Port int
	Dir  string

	logPath string
	proc    *process
}

// StartSnmptrapd runs snmptrapd with a private configuration and
// persistent directory and stops it at cleanup. It returns once the
// receiver is listening.
func StartSnmptrapd(t testing.TB, opts SnmptrapdOptions) *Snmptrapd {
	t.Helper()
	if _, err := exec.LookPath(SnmptrapdBin); err != nil {
		unavailable(t, "%s is not usable (%v); install Debian package snmptrapd", SnmptrapdBin, err)
	}
	dir := peerDir(t, "snmptrapd")
	port := opts.Port
	if port == 0 {
		port = FreeUDPPort(t)
	}
	d := &Snmptrapd{Addr: loopback(port), Port: port, Dir: dir, logPath: filepath.Join(dir, "traps.log")}
	conf := filepath.Join(dir, "snmptrapd.conf")
	text := trapdConfig(dir, d.Addr, opts)
	if opts.Config != nil {
		text = opts.Config(d.Addr, dir)
	}
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		t.Fatalf("peers: %v", err)
	}
	// -C: not /etc/snmp's files (Debian's snmp.conf turns MIB loading
	// off); -f: stay in the foreground so the PID is ours to stop.
	argv := []string{SnmptrapdBin, "-f", "-C", "-c", conf, "-p", filepath.Join(dir, "snmptrapd.pid"), "-Lf", d.logPath}
	if len(opts.MIBs) == 0 {
		argv = append(argv, "-m", "", "-On")
	} else {
		argv = append(argv, "-M", MIBPath(opts.MIBs...), "-m", opts.Modules)
	}
	d.proc = startProcess(t, dir, "snmptrapd", argv)
	t.Cleanup(func() { logOnFailure(t, "snmptrapd log", d.logPath) })
	d.waitReady(t, 10*time.Second)
	return d
}

// waitReady waits for snmptrapd's start line. It logs "NET-SNMP version"
// only after it has read its configuration and bound every listening
// address (apps/snmptrapd.c), and a bind failure makes it exit instead, so
// the line is a deterministic readiness signal for a UDP port, which has
// no connect to poll.
func (d *Snmptrapd) waitReady(t testing.TB, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		data, _ := os.ReadFile(d.logPath)
		if strings.Contains(string(data), "NET-SNMP version") {
			return
		}
		select {
		case <-d.proc.exited():
			t.Fatalf("peers: snmptrapd exited on start-up: %s\nlog:\n%s", d.proc.describe(), data)
		default:
		}
		if !time.Now().Before(deadline) {
			t.Fatalf("peers: snmptrapd not ready after %v: %s\nlog:\n%s", timeout, d.proc.describe(), data)
		}
		time.Sleep(pollInterval)
	}
}

// trapdConfig writes the receiver's configuration. persistentDir is
// private: snmptrapd otherwise keeps users and engine boots in
// /var/lib/snmp, and they pile up across runs.
func trapdConfig(dir, addr string, o SnmptrapdOptions) string {
	community := o.Community
	if community == "" {
		community = "public"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "[snmp] persistentDir %s\n", filepath.Join(dir, "persist"))
	fmt.Fprintf(&b, "snmpTrapdAddr udp:%s\n", addr)
	// Since 5.3 snmptrapd drops everything not granted "log".
	fmt.Fprintf(&b, "authCommunity log %s\n", community)
	for _, u := range o.Users {
		b.WriteString("createUser ")
		if len(u.EngineID) > 0 {
			fmt.Fprintf(&b, "-e 0x%s ", hex.EncodeToString(u.EngineID))
		}
		fmt.Fprintf(&b, "%s %s %q %s %q\n", u.Name, trapdAlgo(u.Auth), u.AuthPass, trapdAlgo(u.Priv), u.PrivPass)
		fmt.Fprintf(&b, "authUser log %s priv\n", u.Name)
	}
	// One line per notification: the prefix, the security information
	// (PDU type, version, community or user), then the varbinds
	// separated by tabs (%V sets the separator). Values never contain a
	// tab here: net-snmp prints strings with control characters in hex.
	fmt.Fprintf(&b, "format2 %s%%P\\t%%V\\t%%v\\n\n", trapdPrefix)
	return b.String()
}

// trapdAlgo spells an algorithm the way net-snmp's createUser wants it
// (SHA-256, AES-256), from the gateway's spelling (SHA256, AES256).
func trapdAlgo(name string) string {
	u := strings.ToUpper(name)
	for _, p := range []string{"SHA", "AES"} {
		if rest, ok := strings.CutPrefix(u, p); ok && rest != "" && rest[0] != '-' {
			return p + "-" + rest
		}
	}
	return u
}

// Log returns everything snmptrapd has logged so far.
func (d *Snmptrapd) Log(t testing.TB) string {
	t.Helper()
	b, err := os.ReadFile(d.logPath)
	if err != nil && !os.IsNotExist(err) {
		t.Fatalf("peers: %v", err)
	}
	return string(b)
}

// Lines returns the notifications received so far, one line each, in
// arrival order, without the prefix: "<security>\t<varbind>\t<varbind>...".
func (d *Snmptrapd) Lines(t testing.TB) []string {
	t.Helper()
	data, err := os.ReadFile(d.logPath)
	if err != nil {
		t.Fatalf("peers: %v", err)
	}
	var lines []string
	for line := range strings.Lines(string(data)) {
		// A line still being written has no newline yet: leave it for
		// the next call.
		if l, ok := strings.CutSuffix(line, "\n"); ok && strings.HasPrefix(l, trapdPrefix) {
			lines = append(lines, strings.TrimPrefix(l, trapdPrefix))
		}
	}
	return lines
}

// WaitFor polls until at least n received lines satisfy match (nil: any)
// and returns the matching lines. It fails the test after timeout, showing
// everything received.
func (d *Snmptrapd) WaitFor(t testing.TB, n int, match func(line string) bool, timeout time.Duration) []string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		var got []string
		all := d.Lines(t)
		for _, l := range all {
			if match == nil || match(l) {
				got = append(got, l)
			}
		}
		if len(got) >= n {
			return got
		}
		if !time.Now().Before(deadline) {
			t.Fatalf("peers: snmptrapd %s: %d of %d matching notifications after %v; received:\n%s",
				d.Addr, len(got), n, timeout, strings.Join(all, "\n"))
		}
		time.Sleep(pollInterval)
	}
}

// TrapdLine is one logged notification, split up.
type TrapdLine struct {
	// Security is snmptrapd's %P: "TRAP2, SNMP v2c, community public",
	// "INFORM, SNMP v3, user gwtrap, context ", ...
	Security string
	Varbinds []TrapdVarbind
}

// TrapdVarbind is one "NAME = TYPE: VALUE" of a logged notification.
type TrapdVarbind struct {
	Name  string // ".1.3.6.1.2.1.1.3.0" numerically, "SNMPv2-MIB::sysUpTime.0" with MIBs
	Type  string // "STRING", "Gauge32", "Timeticks", "OID", ...
	Value string // as printed; a quoted STRING is unquoted
}

// ParseTrapdLine splits a line returned by Lines.
func ParseTrapdLine(line string) (TrapdLine, error) {
	fields := strings.Split(line, "\t")
	l := TrapdLine{Security: fields[0]}
	for _, f := range fields[1:] {
		name, typed, ok := strings.Cut(f, " = ")
		if !ok {
			return l, fmt.Errorf("varbind %q has no \" = \"", f)
		}
		typ, val, _ := strings.Cut(typed, ": ")
		typ = strings.TrimSuffix(typ, ":") // "STRING:" for an empty DisplayString
		if typed == `""` {
			// An empty string without a MIB is printed bare, with no type.
			typ, val = "STRING", ""
		}
		if typ == "STRING" && len(val) >= 2 && val[0] == '"' && val[len(val)-1] == '"' {
			if uq, err := strconv.Unquote(val); err == nil {
				val = uq
			}
		}
		l.Varbinds = append(l.Varbinds, TrapdVarbind{Name: name, Type: typ, Value: val})
	}
	return l, nil
}

// Get returns the varbind of the given name (as logged).
func (l TrapdLine) Get(name string) (TrapdVarbind, bool) {
	for _, v := range l.Varbinds {
		if v.Name == name {
			return v, true
		}
	}
	return TrapdVarbind{}, false
}

// Ticks reads a Timeticks value, "(1234) 0:00:12.34", as hundredths.
func (v TrapdVarbind) Ticks() (uint64, error) {
	s, ok := strings.CutPrefix(v.Value, "(")
	if !ok {
		return 0, fmt.Errorf("%q is not a Timeticks value", v.Value)
	}
	num, _, _ := strings.Cut(s, ")")
	return strconv.ParseUint(num, 10, 32)
}
