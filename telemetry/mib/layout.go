package mib

import (
	"github.com/gatewatch/gatewatch/telemetry"
	"github.com/gatewatch/gatewatch/telemetry/stats"
)

// The GATEWATCH-MIB tree below enterprises.32473:
//
//	.0          notifications, one per catalog event type marked as a trap (arc = type number)
//	.1          gwInfo: version, host name, start time, configuration load time and hash
//	.2          gwStatistics: every scalar figure at its Arc (histograms: count at Arc, time at SumArc)
//	.3          gwTables: one table per group of figure families sharing their label values
//	.5          gwNotificationObjects: the varbinds only notifications carry
//	.9          gwConformance
//
// Arcs come from telemetry/stats and the catalog, which never reuse them.

func infoOID() OID          { return Enterprise().Append(1) }
func statisticsOID() OID    { return Enterprise().Append(2) }
func tablesOID() OID        { return Enterprise().Append(3) }
func notifObjectsOID() OID  { return Enterprise().Append(5) }
func notificationsOID() OID { return Enterprise().Append(0) }

// Gateway information objects (gwInfo).
const (
	infoVersion        = 1
	infoHostname       = 2
	infoStartTime      = 3
	infoConfigLoadTime = 4
	infoConfigHash     = 5
)

// tableSpec is one table of gwTables.
type tableSpec struct {
	key   string // stats.Desc.Table
	arc   uint32
	name  string // descriptor part: gw<name>Table, gw<name>Entry, ...
	index string // what a row stands for, for the descriptions
}

// tables lists the tables in arc order. Append only.
func tables() []tableSpec {
	return []tableSpec{
		{"route", 1, "Route", "a delivery route (its name in the routing table)"},
		{"refusal", 2, "Refusal", "a reason for refusing a connection, recipient or message"},
		{"sendFailure", 3, "SendFailure", "a reason for an outgoing transaction failing for good"},
		{"queue", 4, "Queue", "a queue state (incoming, active, deferred, hold)"},
		{"channel", 5, "Channel", "a telemetry channel (log, agentx, traps, ...)"},
		{"event", 6, "Event", "an event type of the catalog"},
		{"stage", 7, "Stage", "a scan stage"},
		{"reload", 8, "Reload", "a configuration reload result (success, failure)"},
		{"trapTarget", 9, "TrapTarget", "a trap or inform receiver (host:port)"},
		{"outcome", 10, "Outcome", "a way a message ended (delivered, bounced, partial, discarded, quarantined, deleted)"},
		{"action", 11, "Action", "a policy action (deliver, reject, tempfail, drop, quarantine)"},
		{"group", 12, "Group", "a policy group (its configured name)"},
		{"category", 13, "Category", "a quarantine category (spam, virus, banned, policy)"},
		{"archive", 14, "Archive", "an archive (received, sent)"},
		{"notifyKind", 15, "NotifyKind", "whom a notification is for (sender, recipients, admin)"},
		{"suppressReason", 16, "SuppressReason", "why a notification was not sent"},
		{"store", 17, "Store", "a store (quarantine, archive)"},
		{"dnsResult", 18, "DnsResult", "how a DNS query of the checks' resolver ended"},
		{"antispamStatus", 19, "AntispamStatus", "a status the anti-spam stage gives (spam, probable_spam, formal, clean)"},
		{"check", 20, "Check", "an anti-spam check, group of checks or DNS list check"},
		{"dnsZone", 21, "DnsZone", "a DNS list zone (its configured name)"},
		{"avStatus", 22, "AvStatus", "a status of a message object (clean, infected, suspicious, protected, corrupted, error, banned)"},
		{"scanner", 23, "Scanner", "an anti-virus scanner (builtin, clamd)"},
		{"filterRule", 24, "FilterRule", "an attachment rule (its configured name)"},
		{"updateResult", 25, "UpdateResult", "how a signature update ended (updated, not_needed, error)"},
		{"threat", 26, "Threat", "a threat name a scanner reported (the most frequent ones only)"},
		{"mode", 27, "Mode", "how mail reaches the gateway (smtp, milter, cgp)"},
	}
}

func tableByKey(key string) (tableSpec, bool) {
	for _, t := range tables() {
		if t.key == key {
			return t, true
		}
	}
	return tableSpec{}, false
}

// Column 1 of every table is the (not-accessible) index, column 2 the
// label as a readable name; figures use their Arc (and SumArc).
const (
	colIndex = 1
	colName  = 2
)

// maxIndexLen bounds a row's name: the index is the name's bytes, and an
// OID has at most 128 sub-identifiers.
const maxIndexLen = 100

func entryOID(t tableSpec) OID { return tablesOID().Append(t.arc, 1) }

// rowIndex is the OID suffix of a row (IMPLIED: the bytes, no length).
func rowIndex(label string) (OID, bool) {
	if label == "" || len(label) > maxIndexLen {
		return nil, false
	}
	o := make(OID, len(label))
	for i := 0; i < len(label); i++ {
		o[i] = uint32(label[i])
	}
	return o, true
}

// scalarOIDs of a scalar figure: its value, or a histogram's count and
// time total.
func scalarOID(d stats.Desc) OID    { return statisticsOID().Append(d.Arc, 0) }
func scalarSumOID(d stats.Desc) OID { return statisticsOID().Append(d.SumArc, 0) }

// Trap varbind objects (gwNotificationObjects).
const (
	varSeverity   = 1
	varText       = 2
	varSuppressed = 3
	varQueueID    = 4
	varRoute      = 5
	varReason     = 6
	varValue      = 7
	varThreshold  = 8
	varChannel    = 9
	varEvent      = 10
	varCategory   = 11
)

func trapVarArc(v telemetry.TrapVar) uint32 {
	switch v {
	case telemetry.VarQueueID:
		return varQueueID
	case telemetry.VarRoute:
		return varRoute
	case telemetry.VarReason:
		return varReason
	case telemetry.VarValue:
		return varValue
	case telemetry.VarThreshold:
		return varThreshold
	case telemetry.VarChannel:
		return varChannel
	case telemetry.VarCategory:
		return varCategory
	}
	return 0
}

// NotificationOID is the notification of an event type.
func NotificationOID(t telemetry.Type) OID { return notificationsOID().Append(uint32(t)) }

// notificationName is the descriptor of an event type's notification.
func notificationName(t telemetry.Type) string { return "gw" + camel(t.Spec().Name) + "Event" }
