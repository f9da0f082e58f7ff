package traps

import (
	"math"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"

	"github.com/gatewatch/gatewatch/telemetry/mib"
)

func TestPDUsStartWithUptimeAndTrapOID(t *testing.T) {
	n := &notification{uptime: 1234, oid: mib.OID{1, 3, 6, 1, 4, 1, 32473, 0, 16},
		vbs: []mib.Varbind{{OID: mib.OID{1, 3, 6, 1, 4, 1, 32473, 5, 2, 0}, Value: mib.Value{Syntax: mib.OctetString, Str: "x"}}}}
	p := n.pdus()
	if len(p) != 3 {
		t.Fatalf("%d varbinds, want 3", len(p))
	}
	if p[0].Name != "1.3.6.1.2.1.1.3.0" || p[0].Type != gosnmp.TimeTicks || p[0].Value != uint32(1234) {
		t.Errorf("first varbind %+v, want sysUpTime.0 TimeTicks 1234", p[0])
	}
	if p[1].Name != "1.3.6.1.6.3.1.1.4.1.0" || p[1].Type != gosnmp.ObjectIdentifier || p[1].Value != "1.3.6.1.4.1.32473.0.16" {
		t.Errorf("second varbind %+v, want snmpTrapOID.0", p[1])
	}
	if p[2].Name != "1.3.6.1.4.1.32473.5.2.0" || p[2].Type != gosnmp.OctetString || p[2].Value != "x" {
		t.Errorf("third varbind %+v", p[2])
	}
}

func TestPDUMapsEverySyntax(t *testing.T) {
	o := mib.OID{1, 3, 6, 1, 4, 1, 32473, 5, 7, 0}
	cases := []struct {
		in    mib.Value
		typ   gosnmp.Asn1BER
		value any
	}{
		{mib.Value{Syntax: mib.Integer, Int: -5}, gosnmp.Integer, -5},
		{mib.Value{Syntax: mib.Integer, Int: math.MaxInt64}, gosnmp.Integer, math.MaxInt32},
		{mib.Value{Syntax: mib.Integer, Int: math.MinInt64}, gosnmp.Integer, math.MinInt32},
		{mib.Value{Syntax: mib.OctetString, Str: "héllo"}, gosnmp.OctetString, "héllo"},
		{mib.Value{Syntax: mib.ObjectIdentifier, OID: mib.OID{1, 3, 6, 1}}, gosnmp.ObjectIdentifier, "1.3.6.1"},
		{mib.Value{Syntax: mib.Counter32, Uint: 1<<32 + 7}, gosnmp.Counter32, uint32(7)},        // counters wrap
		{mib.Value{Syntax: mib.Gauge32, Uint: 1 << 40}, gosnmp.Gauge32, uint32(math.MaxUint32)}, // gauges stick
		{mib.Value{Syntax: mib.Gauge32, Uint: 42}, gosnmp.Gauge32, uint32(42)},
		{mib.Value{Syntax: mib.TimeTicks, Uint: 360000}, gosnmp.TimeTicks, uint32(360000)},
		{mib.Value{Syntax: mib.Counter64, Uint: 1 << 40}, gosnmp.Counter64, uint64(1 << 40)},
		{mib.Value{}, gosnmp.Null, nil},
	}
	for _, c := range cases {
		p := pdu(mib.Varbind{OID: o, Value: c.in})
		if p.Name != o.String() || p.Type != c.typ || p.Value != c.value {
			t.Errorf("%v: got %v %v (%T), want %v %v (%T)", c.in.Syntax, p.Type, p.Value, p.Value, c.typ, c.value, c.value)
		}
	}
	// And gosnmp can encode every one of them.
	var vars []gosnmp.SnmpPDU
	for _, c := range cases {
		vars = append(vars, pdu(mib.Varbind{OID: o, Value: c.in}))
	}
	g := &gosnmp.GoSNMP{Version: gosnmp.Version2c, Community: "public"}
	if _, err := g.MkSnmpPacket(gosnmp.SNMPv2Trap, vars, 0, 0).MarshalMsg(); err != nil {
		t.Errorf("gosnmp cannot encode the mapped varbinds: %v", err)
	}
}

func TestTicks(t *testing.T) {
	for _, c := range []struct {
		d    time.Duration
		want uint32
	}{
		{0, 0}, {-time.Second, 0}, {1234 * time.Millisecond, 123}, {time.Hour, 360000},
		{497*24*time.Hour + 3*time.Hour, 192704}, // 4295160000 wraps past 2^32 like TimeTicks
	} {
		if got := ticks(c.d); got != c.want {
			t.Errorf("ticks(%v) = %d, want %d", c.d, got, c.want)
		}
	}
}
