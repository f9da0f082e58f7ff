package peers_test

import (
	"net"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/gatewatch/gatewatch/internal/peers"
)

const (
	sysDescr    = "1.3.6.1.2.1.1.1.0"
	sysObjectID = "1.3.6.1.2.1.1.2.0"
	sysUpTime   = "1.3.6.1.2.1.1.3.0"
	sysContact  = "1.3.6.1.2.1.1.4.0"
	sysLocation = "1.3.6.1.2.1.1.6.0"
)

func TestSnmpdAnswersGetWalkAndBulkWalk(t *testing.T) {
	t.Parallel()
	s := peers.StartSnmpd(t, peers.SnmpdOptions{Extra: []string{"sysName gatewatch-peer-test"}})

	got, err := s.Get(t, peers.SysName, sysLocation, sysContact, sysUpTime, sysObjectID, "1.3.6.1.2.1.1.99.0", peers.SysName+".1")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]peers.SNMPValue{
		peers.SysName:        {Type: "STRING", Value: "gatewatch-peer-test"},
		sysLocation:          {Type: "STRING", Value: "gatewatch-test"},
		sysContact:           {Type: "STRING", Value: "test@example.org"},
		"1.3.6.1.2.1.1.99.0": {Type: "noSuchObject"},
		peers.SysName + ".1": {Type: "noSuchInstance"},
	}
	for oid, w := range want {
		if got[oid] != w {
			t.Errorf("%s = %+v, want %+v", oid, got[oid], w)
		}
	}
	if v := got[sysUpTime]; v.Type != "Timeticks" || strings.Trim(v.Value, "0123456789") != "" || v.Value == "" {
		t.Errorf("sysUpTime = %+v, want Timeticks with a bare number", v)
	}
	if v := got[sysObjectID]; v.Type != "OID" || !strings.HasPrefix(v.Value, ".1.3.6.1.4.1.8072.") {
		t.Errorf("sysObjectID = %+v, want net-snmp's OID", v)
	}
	if len(got) != 7 {
		t.Errorf("got %d values, want 7: %v", len(got), got)
	}

	walk := s.Walk(t, "1.3.6.1.2.1.1")
	if len(walk) < 8 || walk[0].OID != sysDescr {
		t.Fatalf("walk of the system group: %+v", walk)
	}
	for _, v := range walk {
		if !strings.HasPrefix(v.OID, "1.3.6.1.2.1.1.") || v.Type == "" {
			t.Errorf("walk returned %+v", v)
		}
	}
	// sysUpTime moves between the two walks.
	bulk := s.BulkWalk(t, "1.3.6.1.2.1.1")
	if len(bulk) != len(walk) {
		t.Fatalf("bulkwalk returned %d values, walk %d", len(bulk), len(walk))
	}
	for i := range walk {
		if bulk[i].OID != walk[i].OID || bulk[i].OID != sysUpTime && bulk[i] != walk[i] {
			t.Errorf("bulkwalk[%d] = %+v, walk %+v", i, bulk[i], walk[i])
		}
	}
}

func TestSnmpdAgentXListeners(t *testing.T) {
	t.Parallel()
	s := peers.StartSnmpd(t, peers.SnmpdOptions{})
	unixPath, ok := strings.CutPrefix(s.AgentXUnix(), "unix:")
	if !ok {
		t.Fatalf("AgentXUnix() = %q", s.AgentXUnix())
	}
	tcpAddr, ok := strings.CutPrefix(s.AgentXTCP(), "tcp:")
	if !ok || !strings.HasPrefix(tcpAddr, "127.0.0.1:") {
		t.Fatalf("AgentXTCP() = %q", s.AgentXTCP())
	}
	fi, err := os.Stat(unixPath)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o666 {
		t.Errorf("AgentX socket mode %v, want a socket with agentXPerms 0666", fi.Mode())
	}
	for _, a := range [][2]string{{"unix", unixPath}, {"tcp", tcpAddr}} {
		c, err := net.Dial(a[0], a[1])
		if err != nil {
			t.Errorf("dialing AgentX %s: %v", a[1], err)
			continue
		}
		c.Close()
	}
}

func TestSnmpdSetAccess(t *testing.T) {
	t.Parallel()
	t.Run("read-only", func(t *testing.T) {
		t.Parallel()
		s := peers.StartSnmpd(t, peers.SnmpdOptions{})
		out, err := s.Set(t, peers.SysName, "s", "changed")
		if err == nil || !strings.Contains(out, "noAccess") {
			t.Errorf("set with the read-only community: err %v, output:\n%s", err, out)
		}
	})
	t.Run("read-write", func(t *testing.T) {
		t.Parallel()
		s := peers.StartSnmpd(t, peers.SnmpdOptions{ReadWrite: true})
		if out, err := s.Set(t, peers.SysName, "s", "changed"); err != nil {
			t.Fatalf("set with ReadWrite: %v\n%s", err, out)
		}
		got, err := s.Get(t, peers.SysName)
		if err != nil {
			t.Fatal(err)
		}
		if v := got[peers.SysName]; v.Value != "changed" {
			t.Errorf("sysName after the set = %+v", v)
		}
	})
}

func TestSnmpdV3User(t *testing.T) {
	t.Parallel()
	user := &peers.SNMPv3User{Name: "gwtest", AuthPass: "authpass12345", PrivPass: "privpass12345"}
	s := peers.StartSnmpd(t, peers.SnmpdOptions{V3: user})
	args := append(s.V3Args(), "-On", s.Addr(), peers.SysName)
	out, err := s.Tool(t, peers.SnmpgetBin, args...)
	if err != nil || !strings.Contains(out, peers.SysName+" = STRING:") {
		t.Fatalf("v3 authPriv get: %v\n%s", err, out)
	}
	bad := slices.Clone(s.V3Args())
	bad[slices.Index(bad, "-A")+1] = "wrongpass123"
	out, err = s.Tool(t, peers.SnmpgetBin, append(bad, "-t", "1", "-r", "0", "-On", s.Addr(), peers.SysName)...)
	if err == nil || !strings.Contains(out, "Authentication failure") {
		t.Errorf("v3 get with a wrong password: err %v, output:\n%s", err, out)
	}
}

func TestSnmpdRestartKeepsAddresses(t *testing.T) {
	t.Parallel()
	s := peers.StartSnmpd(t, peers.SnmpdOptions{})
	addr, unix, tcp, pid := s.Addr(), s.AgentXUnix(), s.AgentXTCP(), s.PID()

	s.Stop(t)
	if out, err := s.Tool(t, peers.SnmpgetBin, "-v2c", "-c", "public", "-t", "0.3", "-r", "0", s.Addr(), peers.SysName); err == nil {
		t.Fatalf("the stopped snmpd still answers:\n%s", out)
	}
	s.Restart(t)
	if s.Addr() != addr || s.AgentXUnix() != unix || s.AgentXTCP() != tcp {
		t.Errorf("restart moved the addresses: %s %s %s", s.Addr(), s.AgentXUnix(), s.AgentXTCP())
	}
	if s.PID() == pid {
		t.Errorf("restart kept pid %d", pid)
	}

	// A crash leaves the socket file behind; snmpd must replace it.
	s.Kill(t)
	s.Restart(t)
	got, err := s.Get(t, peers.SysName)
	if err != nil || got[peers.SysName].Type != "STRING" {
		t.Fatalf("after kill and restart: %v %v", got, err)
	}
}

func TestParseSNMPOutput(t *testing.T) {
	out := `.1.3.6.1.2.1.1.4.0 = STRING: "a \"quoted\" text"
.1.3.6.1.2.1.1.5.0 = ""
.1.3.6.1.4.1.32473.1.3.0 = Hex-STRING: 07 EA 0B 16 0C 00 00 00 2B 00 00 00 00 00 00 00
00 00 00
.1.3.6.1.2.1.1.3.0 = Timeticks: (4711) 0:00:47.11
.1.3.6.1.2.1.28.1.1.1.1 = Counter32: 42
.1.3.6.1.2.1.1.2.0 = OID: .1.3.6.1.4.1.8072.3.2.10
.1.3.6.1.2.1.1.9.0 = No Such Object available on this agent at this OID
.1.3.6.1.2.1.1.5.1 = No Such Instance currently exists at this OID
.1.3.6.1.2.1.1.5.2 = No more variables left in this MIB View (It is past the end of the MIB tree)
`
	got, err := peers.ParseSNMPOutput(out)
	if err != nil {
		t.Fatal(err)
	}
	want := []peers.SNMPVar{
		{"1.3.6.1.2.1.1.4.0", "STRING", `a "quoted" text`},
		{"1.3.6.1.2.1.1.5.0", "STRING", ""},
		{"1.3.6.1.4.1.32473.1.3.0", "Hex-STRING", "07 EA 0B 16 0C 00 00 00 2B 00 00 00 00 00 00 00 00 00 00"},
		{"1.3.6.1.2.1.1.3.0", "Timeticks", "4711"},
		{"1.3.6.1.2.1.28.1.1.1.1", "Counter32", "42"},
		{"1.3.6.1.2.1.1.2.0", "OID", ".1.3.6.1.4.1.8072.3.2.10"},
		{"1.3.6.1.2.1.1.9.0", "noSuchObject", ""},
		{"1.3.6.1.2.1.1.5.1", "noSuchInstance", ""},
		{"1.3.6.1.2.1.1.5.2", "endOfMibView", ""},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("parsed\n%+v\nwant\n%+v", got, want)
	}
	if _, err := peers.ParseSNMPOutput("Timeout: No Response from 127.0.0.1:161\n"); err == nil {
		t.Error("an error message parsed as output")
	}
}
