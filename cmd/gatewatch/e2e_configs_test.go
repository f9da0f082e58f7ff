package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gatewatch/gatewatch/internal/peers"
)

// shippedLines returns a shipped configuration's directive lines.
func shippedLines(t *testing.T, name string, drop ...string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("../../configs", name))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
next:
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(l); l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		for _, d := range drop {
			if strings.HasPrefix(l, d) {
				continue next
			}
		}
		out = append(out, l)
	}
	return out
}

// configs/snmpd.conf works as shipped: the subagent registers under it,
// its SNMPv3 user reads the gateway's subtrees but nothing outside its
// view, and cannot write.
func TestShippedSnmpdConf(t *testing.T) {
	// The socket path is the test's own; everything else is as shipped.
	snmpd := peers.StartSnmpd(t, peers.SnmpdOptions{Extra: shippedLines(t, "snmpd.conf", "agentXSocket")})
	g := startGateway(t, `
telemetry:
  agentx: {address: "{{.AgentX}}", timeout: 5s, ping_interval: 2s}
`, gwVars{"AgentX": snmpd.AgentXUnix()})
	waitFor(t, "the subagent to register", 20*time.Second, func() bool { return g.stat(`channel_up{channel="agentx"}`) == 1 })
	v3 := []string{"-v3", "-l", "authPriv", "-u", "gwmonitor", "-a", "SHA", "-A", "change-this-auth-pass", "-x", "AES", "-X", "change-this-priv-pass"}
	out, err := snmpd.Tool(t, "snmpwalk", append(v3, "-On", snmpd.Addr(), "1.3.6.1.4.1.32473")...)
	if err != nil || strings.Count(out, "\n") < 100 {
		t.Fatalf("v3 walk of the gateway's subtree: %v\n%s", err, out)
	}
	out, err = snmpd.Tool(t, "snmpwalk", append(v3, "-On", snmpd.Addr(), "1.3.6.1.2.1.28")...)
	if err != nil || !strings.Contains(out, ".1.3.6.1.2.1.28.1.1.1.1 = Counter32") {
		t.Fatalf("v3 walk of MTA-MIB: %v\n%s", err, out)
	}
	// The interfaces group is outside the view.
	out, _ = snmpd.Tool(t, "snmpwalk", append(v3, "-On", snmpd.Addr(), "1.3.6.1.2.1.2")...)
	if strings.Contains(out, ".1.3.6.1.2.1.2.") {
		t.Errorf("the v3 user sees beyond its view:\n%s", out)
	}
	out, err = snmpd.Tool(t, "snmpset", append(v3, snmpd.Addr(), "1.3.6.1.4.1.32473.1.1.0", "s", "x")...)
	if err == nil {
		t.Errorf("snmpset succeeded:\n%s", out)
	}
}

// configs/snmptrapd.conf works as shipped: with the MIB loaded it logs the
// gateway's notifications by name.
func TestShippedSnmptrapdConf(t *testing.T) {
	base := peers.BaseMIBs(t)
	mibs, _ := filepath.Abs("../../mibs")
	lines := shippedLines(t, "snmptrapd.conf")
	trapd := peers.StartSnmptrapd(t, peers.SnmptrapdOptions{MIBs: []string{base, mibs}, Modules: "GATEWATCH-MIB",
		Config: func(addr, dir string) string {
			conf := "[snmp] persistentDir " + filepath.Join(dir, "persist") + "\nsnmpTrapdAddr udp:" + addr + "\n" + strings.Join(lines, "\n") + "\n"
			return strings.ReplaceAll(conf, "change-this-community", "public")
		}})
	g := startGateway(t, `
telemetry:
  agentx: {address: ""}
  traps:
    - {target: "{{.Trapd}}", version: "2c", community: public}
`, gwVars{"Trapd": trapd.Addr})
	g.signal(syscall.SIGHUP)
	waitFor(t, "the reload notification, logged by name", 20*time.Second, func() bool {
		log := trapd.Log(t)
		return strings.Contains(log, "GATEWATCH-MIB::gwConfigReloadedEvent") && strings.Contains(log, "GATEWATCH-MIB::gwTrapEvent.0 = STRING: config.reloaded")
	})
}
