package mib

import (
	"strconv"

	"github.com/gatewatch/gatewatch/telemetry"
)

// Notification is an event as an SNMP notification: its OID and the
// varbinds that follow sysUpTime.0 and snmpTrapOID.0. suppressed is how
// many of the same type the storm guard held back since the last one sent.
func Notification(ev telemetry.Event, hostname string, suppressed uint64) (OID, []Varbind) {
	spec := ev.Type.Spec()
	text := ev.Text
	if ev.Err != "" {
		if text != "" {
			text += ": "
		}
		text += ev.Err
	}
	obj := func(arc uint32) OID { return notifObjectsOID().Append(arc, 0) }
	vbs := []Varbind{
		{infoOID().Append(infoHostname, 0), octets(hostname)},
		{obj(varEvent), octets(spec.Name)},
		{obj(varSeverity), gauge32(uint64(max(spec.Severity, 0)))},
		{obj(varText), octets(truncate(text, 255))},
		{obj(varSuppressed), gauge32(suppressed)},
	}
	for _, tv := range spec.TrapVars {
		var val Value
		switch tv {
		case telemetry.VarQueueID:
			val = octets(ev.QueueID)
		case telemetry.VarRoute:
			val = octets(ev.Route)
		case telemetry.VarReason:
			val = octets(string(ev.Reason))
		case telemetry.VarValue:
			val = gauge32(uint64(max(ev.Count, 0)))
		case telemetry.VarThreshold:
			val = gauge32(uint64(max(ev.Threshold, 0)))
		case telemetry.VarChannel:
			val = octets(ev.Channel)
		case telemetry.VarCategory:
			val = octets(ev.Category)
		default:
			continue
		}
		vbs = append(vbs, Varbind{obj(trapVarArc(tv)), val})
	}
	return NotificationOID(ev.Type), vbs
}

// NotificationName is the MIB descriptor of an event type's notification,
// as snmptrapd shows it with the MIB loaded.
func NotificationName(t telemetry.Type) string { return notificationName(t) }

// String shows a value the way a log line would.
func (v Value) String() string {
	switch v.Syntax {
	case Integer:
		return strconv.FormatInt(v.Int, 10)
	case OctetString:
		return strconv.Quote(v.Str)
	case ObjectIdentifier:
		return v.OID.String()
	}
	return strconv.FormatUint(v.Uint, 10)
}
