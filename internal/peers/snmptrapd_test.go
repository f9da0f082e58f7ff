package peers_test

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatewatch/gatewatch/internal/peers"
)

// Net-snmp's own senders, to check the receiver independently of gosnmp.
const (
	snmptrapBin   = "/usr/bin/snmptrap"   // package snmp
	snmpinformBin = "/usr/bin/snmpinform" // package snmp
)

// runTrapTool runs one net-snmp command-line tool and fails the test unless it
// succeeds (for snmpinform: the inform was acknowledged).
func runTrapTool(t *testing.T, bin string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", bin, strings.Join(args, " "), err, out)
	}
}

func parseTrapd(t *testing.T, line string) peers.TrapdLine {
	t.Helper()
	l, err := peers.ParseTrapdLine(line)
	if err != nil {
		t.Fatalf("%v in %q", err, line)
	}
	return l
}

func TestSnmptrapdReceivesV2cAndV3TrapsAndInforms(t *testing.T) {
	peers.Require(t, snmptrapBin, snmpinformBin)
	engineID := []byte{0x80, 0x00, 0x00, 0x00, 0x01, 0x02, 0x03, 0x04}
	informUser := peers.SnmptrapdUser{Name: "gwinform", Auth: "SHA256", AuthPass: "authpass12345", Priv: "AES", PrivPass: "privpass12345"}
	trapUser := informUser
	trapUser.Name, trapUser.EngineID = "gwtrap", engineID
	d := peers.StartSnmptrapd(t, peers.SnmptrapdOptions{Users: []peers.SnmptrapdUser{informUser, trapUser}})

	const oid = "1.3.6.1.4.1.32473.0.16"
	vb := func(text string) []string { return []string{"1.3.6.1.4.1.32473.5.2.0", "s", text} }
	v3 := func(user string) []string {
		return []string{"-v3", "-u", user, "-l", "authPriv", "-a", "SHA-256", "-A", "authpass12345", "-x", "AES", "-X", "privpass12345"}
	}
	informOpts := []string{"-t", "2", "-r", "1"}

	// A v3 trap from an engine the receiver was not told about is dropped.
	runTrapTool(t, snmptrapBin, append(append(append([]string{"-e", "0x8000000001020305"}, v3("gwtrap")...), d.Addr, "", oid), vb("unknown engine")...)...)
	runTrapTool(t, snmptrapBin, append([]string{"-v2c", "-c", "public", d.Addr, "", oid}, vb("v2c trap")...)...)
	runTrapTool(t, snmpinformBin, append(append([]string{"-v2c", "-c", "public"}, informOpts...), append([]string{d.Addr, "", oid}, vb("v2c inform")...)...)...)
	runTrapTool(t, snmptrapBin, append(append(append([]string{"-e", "0x8000000001020304"}, v3("gwtrap")...), d.Addr, "", oid), vb("v3 trap")...)...)
	runTrapTool(t, snmpinformBin, append(append(append(v3("gwinform"), informOpts...), d.Addr, "", oid), vb("v3 inform")...)...)

	// Datagrams are handled in order, so once the last has arrived, the
	// dropped one has had its chance.
	lines := d.WaitFor(t, 4, nil, 10*time.Second)
	want := map[string]string{ // text -> start of %P
		"v2c trap":   "TRAP2, SNMP v2c, community public",
		"v2c inform": "INFORM, SNMP v2c, community public",
		"v3 trap":    "TRAP2, SNMP v3, user gwtrap,",
		"v3 inform":  "INFORM, SNMP v3, user gwinform,",
	}
	if len(lines) != len(want) {
		t.Errorf("received %d notifications, want %d: %q", len(lines), len(want), lines)
	}
	for _, line := range lines {
		l := parseTrapd(t, line)
		text, ok := l.Get(".1.3.6.1.4.1.32473.5.2.0")
		if !ok || text.Type != "STRING" {
			t.Errorf("no STRING varbind in %q", line)
			continue
		}
		sec, ok := want[text.Value]
		if !ok || !strings.HasPrefix(l.Security, sec) {
			t.Errorf("%q arrived with security %q, want %q", text.Value, l.Security, sec)
		}
		delete(want, text.Value)
		if trapOID, _ := l.Get(".1.3.6.1.6.3.1.1.4.1.0"); trapOID.Value != "."+oid {
			t.Errorf("snmpTrapOID.0 = %q, want .%s", trapOID.Value, oid)
		}
	}
	if len(want) > 0 {
		t.Errorf("never received: %v", want)
	}
}

func TestSnmptrapdDropsWrongCommunity(t *testing.T) {
	peers.Require(t, snmptrapBin)
	d := peers.StartSnmptrapd(t, peers.SnmptrapdOptions{Community: "letmein"})
	for _, c := range []string{"public", "letmein"} {
		runTrapTool(t, snmptrapBin, "-v2c", "-c", c, d.Addr, "", "1.3.6.1.4.1.32473.0.1", "1.3.6.1.4.1.32473.5.2.0", "s", c)
	}
	// snmptrapd handles datagrams in order: once the second is logged, the
	// first has been dealt with.
	d.WaitFor(t, 1, func(l string) bool { return strings.Contains(l, `"letmein"`) }, 10*time.Second)
	if lines := d.Lines(t); len(lines) != 1 {
		t.Errorf("want only the trap with the configured community, got %q", lines)
	}
}

func TestSnmptrapdWithMIBsShowsNames(t *testing.T) {
	peers.Require(t, snmptrapBin)
	mibs, err := filepath.Abs("../../mibs")
	if err != nil {
		t.Fatal(err)
	}
	d := peers.StartSnmptrapd(t, peers.SnmptrapdOptions{
		MIBs:    []string{peers.BaseMIBs(t), mibs},
		Modules: "SNMPv2-MIB:GATEWATCH-MIB",
	})
	runTrapTool(t, snmptrapBin, "-v2c", "-c", "public", d.Addr, "4321", "1.3.6.1.4.1.32473.0.16",
		"1.3.6.1.4.1.32473.1.2.0", "s", "mx1.example.org",
		"1.3.6.1.4.1.32473.5.3.0", "u", "17",
		"1.3.6.1.4.1.32473.5.5.0", "s", "")
	l := parseTrapd(t, d.WaitFor(t, 1, nil, 10*time.Second)[0])
	checks := []struct{ name, typ, value string }{
		{"SNMPv2-MIB::snmpTrapOID.0", "OID", "GATEWATCH-MIB::gwRouteUnreachableEvent"},
		{"GATEWATCH-MIB::gwHostname.0", "STRING", "mx1.example.org"},
		{"GATEWATCH-MIB::gwTrapSuppressed.0", "Gauge32", "17"},
		{"GATEWATCH-MIB::gwTrapRoute.0", "STRING", ""},
	}
	for _, c := range checks {
		if vb, ok := l.Get(c.name); !ok || vb.Type != c.typ || vb.Value != c.value {
			t.Errorf("%s = %+v (found %v), want %s: %q", c.name, vb, ok, c.typ, c.value)
		}
	}
	up, _ := l.Get("SNMPv2-MIB::sysUpTime.0")
	if ticks, err := up.Ticks(); err != nil || ticks != 4321 {
		t.Errorf("sysUpTime.0 %q = %d, %v; want 4321", up.Value, ticks, err)
	}
}

func TestParseTrapdLine(t *testing.T) {
	line := "TRAP2, SNMP v2c, community public\t" +
		".1.3.6.1.2.1.1.3.0 = Timeticks: (1234) 0:00:12.34\t" +
		".1.3.6.1.4.1.32473.1.2.0 = \"\"\t" +
		`.1.3.6.1.4.1.32473.5.2.0 = STRING: "a \"quoted\" text\\back"` + "\t" +
		"GATEWATCH-MIB::gwTrapRoute.0 = STRING: \t" +
		"GATEWATCH-MIB::gwTrapText.0 = STRING: a: b = c"
	l, err := peers.ParseTrapdLine(line)
	if err != nil {
		t.Fatal(err)
	}
	if l.Security != "TRAP2, SNMP v2c, community public" {
		t.Errorf("Security = %q", l.Security)
	}
	want := []peers.TrapdVarbind{
		{".1.3.6.1.2.1.1.3.0", "Timeticks", "(1234) 0:00:12.34"},
		{".1.3.6.1.4.1.32473.1.2.0", "STRING", ""},
		{".1.3.6.1.4.1.32473.5.2.0", "STRING", `a "quoted" text\back`},
		{"GATEWATCH-MIB::gwTrapRoute.0", "STRING", ""},
		{"GATEWATCH-MIB::gwTrapText.0", "STRING", "a: b = c"},
	}
	if len(l.Varbinds) != len(want) {
		t.Fatalf("varbinds %+v, want %+v", l.Varbinds, want)
	}
	for i := range want {
		if l.Varbinds[i] != want[i] {
			t.Errorf("varbind %d = %+v, want %+v", i, l.Varbinds[i], want[i])
		}
	}
	if ticks, err := l.Varbinds[0].Ticks(); err != nil || ticks != 1234 {
		t.Errorf("Ticks = %d, %v", ticks, err)
	}
	if _, err := l.Varbinds[1].Ticks(); err == nil {
		t.Error("Ticks of a string did not fail")
	}
	if _, err := peers.ParseTrapdLine("TRAP2\tnot a varbind"); err == nil {
		t.Error("a varbind without \" = \" was accepted")
	}
}
