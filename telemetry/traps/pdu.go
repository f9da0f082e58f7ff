package traps

import (
	"math"
	"time"

	"github.com/gosnmp/gosnmp"

	"github.com/gatewatch/gatewatch/telemetry/mib"
)

// notification is one notification on its way to the receivers. Workers
// share it read-only.
type notification struct {
	uptime uint32 // sysUpTime.0: hundredths of a second since the gateway started
	oid    mib.OID
	vbs    []mib.Varbind // after sysUpTime.0 and snmpTrapOID.0
}

// pdus are the notification's varbinds as gosnmp sends them. sysUpTime.0
// and snmpTrapOID.0 come first and are ours: gosnmp adds neither
// snmpTrapOID.0 nor a meaningful sysUpTime.0 (it would prepend the Unix
// time as ticks, which receivers show as an uptime of hundreds of days).
// Each worker builds its own slice, since gosnmp may modify what it sends.
func (n *notification) pdus() []gosnmp.SnmpPDU {
	out := make([]gosnmp.SnmpPDU, 0, len(n.vbs)+2)
	out = append(out,
		gosnmp.SnmpPDU{Name: mib.SysUpTime().String(), Type: gosnmp.TimeTicks, Value: n.uptime},
		gosnmp.SnmpPDU{Name: mib.SnmpTrapOID().String(), Type: gosnmp.ObjectIdentifier, Value: n.oid.String()},
	)
	for _, vb := range n.vbs {
		out = append(out, pdu(vb))
	}
	return out
}

// pdu maps one varbind to gosnmp's types: Integer wants an int in int32
// range, the 32-bit unsigned types want a uint32, Counter64 a uint64.
func pdu(vb mib.Varbind) gosnmp.SnmpPDU {
	p := gosnmp.SnmpPDU{Name: vb.OID.String()}
	v := vb.Value
	switch v.Syntax {
	case mib.Integer:
		p.Type, p.Value = gosnmp.Integer, int(min(max(v.Int, math.MinInt32), math.MaxInt32))
	case mib.OctetString:
		p.Type, p.Value = gosnmp.OctetString, v.Str
	case mib.ObjectIdentifier:
		p.Type, p.Value = gosnmp.ObjectIdentifier, v.OID.String()
	case mib.Counter32:
		p.Type, p.Value = gosnmp.Counter32, uint32(v.Uint)
	case mib.Gauge32:
		p.Type, p.Value = gosnmp.Gauge32, uint32(min(v.Uint, math.MaxUint32))
	case mib.TimeTicks:
		p.Type, p.Value = gosnmp.TimeTicks, uint32(v.Uint)
	case mib.Counter64:
		p.Type, p.Value = gosnmp.Counter64, v.Uint
	default:
		// Not a syntax the MIB uses; a Null keeps the varbind (and its
		// position) visible at the receiver instead of failing the send.
		p.Type = gosnmp.Null
	}
	return p
}

// ticks is d in hundredths of a second, wrapping like TimeTicks does.
func ticks(d time.Duration) uint32 { return uint32(max(d, 0) / (10 * time.Millisecond)) }
