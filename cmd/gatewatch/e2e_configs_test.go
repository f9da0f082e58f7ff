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

// shippedConf returns a shipped configuration with the given replacements,
// failing when one of them finds nothing to replace (the file changed and
// the test would no longer test it as shipped).
func shippedConf(t *testing.T, name string, pairs ...string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("../../configs", name))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for i := 0; i < len(pairs); i += 2 {
		if !strings.Contains(s, pairs[i]) {
			t.Fatalf("%s no longer contains %q", name, pairs[i])
		}
		s = strings.ReplaceAll(s, pairs[i], pairs[i+1])
	}
	return s
}

// cefCollectorTargets sends to a collector over TLS (with a client
// certificate) and over TCP.
const cefCollectorTargets = `
telemetry:
  cef:
    hostname: gw-collector-test
    targets:
      - {name: tls, address: "tls://{{.TLS}}", tls: {ca: "{{.CA}}", cert: "{{.Cert}}", key: "{{.Key}}", server_name: localhost}}
      - {name: tcp, address: "tcp://{{.TCP}}"}
    buffer_dir: "{{.Dir}}/cef-buffer"
`

// collectorReceives sends one message and waits until the collector's file
// holds its record from both targets.
func collectorReceives(t *testing.T, g *gwProc, dir string) {
	t.Helper()
	reply, err := sendMail(g.SMTP, "a@senders.test", []string{"r@example.test"}, numbered("collector", 1), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	id := queueIDOf(t, reply)
	var lines []string
	waitFor(t, "the record over TLS and over TCP", 30*time.Second, func() bool {
		lines = lines[:0]
		files, _ := filepath.Glob(filepath.Join(dir, "*.log"))
		for _, f := range files {
			b, _ := os.ReadFile(f)
			for _, l := range strings.Split(string(b), "\n") {
				if strings.Contains(l, "|1031|Message processed|") && strings.Contains(l, "externalId="+id) {
					lines = append(lines, l)
				}
			}
		}
		return len(lines) >= 2
	})
	for _, l := range lines {
		if !strings.Contains(l, " gw-collector-test seq=") || !strings.Contains(l, "CEF:0|Gatewatch|Gatewatch Mail Gateway|") {
			t.Errorf("stored line %q", l)
		}
	}
	if len(lines) != 2 {
		t.Errorf("%d stored records for one message and two targets", len(lines))
	}
}

// collector is what a shipped collector configuration is tested with: a
// PKI, loopback addresses for its TLS and TCP inputs, a directory for what
// it stores.
type collector struct {
	pki              peers.PKI
	out              string
	tlsAddr, tcpAddr string
	tlsPort, tcpPort string
}

func newCollector(t *testing.T) collector {
	c := collector{pki: peers.WritePKI(t, t.TempDir()), out: t.TempDir(), tlsAddr: peers.FreeAddr(t), tcpAddr: peers.FreeAddr(t)}
	_, c.tlsPort, _ = strings.Cut(c.tlsAddr, ":")
	_, c.tcpPort, _ = strings.Cut(c.tcpAddr, ":")
	return c
}

// check runs a gateway with a TLS and a TCP target at the collector and
// waits for its records there.
func (c collector) check(t *testing.T) {
	sink := peers.StartSink(t, peers.SinkOptions{})
	g := startGateway(t, singleRoute+cefCollectorTargets, gwVars{"Sink": sink.Addr, "Name": "out", "TLS": c.tlsAddr, "TCP": c.tcpAddr,
		"CA": c.pki.CA, "Cert": c.pki.ClientCert, "Key": c.pki.ClientKey})
	collectorReceives(t, g, c.out)
}

// configs/syslog-ng-cef.conf works as shipped: it takes our records over
// TLS with a client certificate and over TCP, and stores them.
func TestShippedSyslogNGConf(t *testing.T) {
	c := newCollector(t)
	conf := "@version: 3.38\n" + shippedConf(t, "syslog-ng-cef.conf",
		`ip("0.0.0.0")`, `ip("127.0.0.1")`, "port(6514)", "port("+c.tlsPort+")", "port(601)", "port("+c.tcpPort+")",
		"/etc/syslog-ng/tls/collector-key.pem", c.pki.ServerKey, "/etc/syslog-ng/tls/collector.pem", c.pki.ServerCert,
		"/etc/syslog-ng/tls/ca.pem", c.pki.CA, "/var/log/gatewatch", c.out)
	peers.StartSyslogNGConf(t, conf, c.tlsAddr, c.tcpAddr)
	c.check(t)
}

// configs/rsyslog-cef.conf works as shipped, the same way.
func TestShippedRsyslogConf(t *testing.T) {
	c := newCollector(t)
	shipped := shippedConf(t, "rsyslog-cef.conf",
		`port="6514"`, `address="127.0.0.1" port="`+c.tlsPort+`"`, `port="601"`, `address="127.0.0.1" port="`+c.tcpPort+`"`,
		"/etc/rsyslog.d/tls/collector-key.pem", c.pki.ServerKey, "/etc/rsyslog.d/tls/collector.pem", c.pki.ServerCert,
		"/etc/rsyslog.d/tls/ca.pem", c.pki.CA, "/var/log/gatewatch", c.out)
	peers.StartRsyslog(t, func(dir string) string {
		return "global(workDirectory=\"" + dir + "\")\n" + shipped
	}, c.tlsAddr, c.tcpAddr)
	c.check(t)
}
