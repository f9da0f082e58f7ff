package agentx

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatewatch/gatewatch/internal/peers"
	"github.com/gatewatch/gatewatch/telemetry"
)

const shippedMIB = "../../mibs/GATEWATCH-MIB.txt"

// mibObject is one readable OBJECT-TYPE of the shipped module.
type mibObject struct {
	name, syntax, oid string
	column            bool // a table column: instances have a row index
}

// readableObjects lists the read-only OBJECT-TYPEs of the shipped MIB with
// their SYNTAX, and their OIDs as snmptranslate resolves them.
func readableObjects(t *testing.T) []mibObject {
	t.Helper()
	b, err := os.ReadFile(shippedMIB)
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	re := regexp.MustCompile(`(?m)^(gw\w+) OBJECT-TYPE\n    SYNTAX      ([^\n]+)\n(?:    UNITS[^\n]*\n)?    MAX-ACCESS  read-only\n(?:.*\n)*?    ::= \{ (\w+) \d+ \}`)
	var objs []mibObject
	for _, m := range re.FindAllStringSubmatch(text, -1) {
		objs = append(objs, mibObject{name: m[1], syntax: m[2], column: strings.HasSuffix(m[3], "Entry")})
	}
	if len(objs) < 60 {
		t.Fatalf("only %d readable objects found in %s", len(objs), shippedMIB)
	}
	own := t.TempDir()
	if err := os.WriteFile(filepath.Join(own, "GATEWATCH-MIB.txt"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"-M", peers.MIBPath(peers.BaseMIBs(t), own), "-m", "GATEWATCH-MIB", "-On"}
	for _, o := range objs {
		args = append(args, "GATEWATCH-MIB::"+o.name)
	}
	cmd := exec.Command("snmptranslate", args...)
	cmd.Env = append(os.Environ(), "SNMP_PERSISTENT_DIR="+t.TempDir(), "MIBS=")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("snmptranslate: %v", err)
	}
	oids := strings.Fields(string(out))
	if len(oids) != len(objs) {
		t.Fatalf("%d objects, %d OIDs", len(objs), len(oids))
	}
	for i := range objs {
		objs[i].oid = strings.TrimPrefix(oids[i], ".")
	}
	return objs
}

// walkType is how snmpwalk labels a value of a MIB syntax.
func walkType(syntax string) []string {
	switch {
	case strings.HasPrefix(syntax, "Counter64"):
		return []string{"Counter64"}
	case strings.HasPrefix(syntax, "Gauge32"), strings.HasPrefix(syntax, "Unsigned32"):
		return []string{"Gauge32"}
	case strings.HasPrefix(syntax, "DisplayString"):
		return []string{"STRING"}
	case strings.HasPrefix(syntax, "DateAndTime"):
		return []string{"STRING", "Hex-STRING"} // binary octets print as hex
	}
	return nil
}

// A walk of the subtree through the real snmpd returns every readable
// object of the shipped MIB, scalars at .0 and columns in every row, with
// the syntax the MIB gives it; and nothing the MIB does not define.
func TestWalkServesEveryObjectOfTheMIB(t *testing.T) {
	objs := readableObjects(t)
	snmpd := peers.StartSnmpd(t, peers.SnmpdOptions{})
	st := telemetry.NewStats(Channel, "log")
	// Give every table a row.
	bus := telemetry.NewBus(st)
	bus.Emit(telemetry.Event{Type: telemetry.DeliverySent, Route: "smarthost", Size: 10, Recipients: 1, Duration: time.Millisecond})
	bus.Emit(telemetry.Event{Type: telemetry.ScanStageDone, Stage: "probe", Duration: time.Millisecond})
	st.TrapTargetSent.With("127.0.0.1:162").Inc()
	st.ChannelUp.With(Channel).Set(1)
	st.PolicyGroups.With("staff").Inc()
	st.AntispamCheckHits.With("SPF_FAIL").Inc()
	st.AntispamCheckTime.With("SPF").Observe(time.Millisecond)
	st.DNSListQueries.With("zen").Inc()
	st.AVScans.With("clamd").Inc()
	st.AVScannerUp.With("clamd").Set(1)
	st.AVThreats.Inc("Eicar-Test-Signature")
	st.AVSignatures.With("builtin").Set(3)
	st.AVScanTime.With("clamd").Observe(time.Millisecond)
	st.FilterHits.With("executables").Inc()
	sub := startSubagent(t, snmpd.AgentXUnix(), st, func(o *Options) { o.ViewMaxAge = time.Millisecond })
	sub.waitConnected(t)

	walk := snmpd.Walk(t, "1.3.6.1.4.1.32473")
	byObject := map[string][]peers.SNMPVar{}
	for _, v := range walk {
		matched := false
		for _, o := range objs {
			if strings.HasPrefix(v.OID, o.oid+".") {
				byObject[o.name] = append(byObject[o.name], v)
				matched = true
				break
			}
		}
		if !matched {
			t.Errorf("walk returned %s, which no readable object of the MIB covers", v.OID)
		}
	}
	for _, o := range objs {
		vars := byObject[o.name]
		if len(vars) == 0 {
			t.Errorf("%s (%s) is not served", o.name, o.oid)
			continue
		}
		if !o.column && (len(vars) != 1 || vars[0].OID != o.oid+".0") {
			t.Errorf("scalar %s served as %v, want one instance .0", o.name, vars)
		}
		want := walkType(o.syntax)
		for _, v := range vars {
			ok := false
			for _, w := range want {
				ok = ok || v.Type == w
			}
			if !ok {
				t.Errorf("%s has type %s, the MIB says %s", v.OID, v.Type, o.syntax)
			}
		}
	}
}
