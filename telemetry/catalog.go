package telemetry

import (
	"strconv"

	"github.com/gatewatch/gatewatch/telemetry/stats"
)

// Type identifies an event type of the catalog.
type Type uint16

// The catalog. Append only: the numbers are CEF signature IDs' base and MIB
// notification arcs, so they never change once released.
const (
	GatewayStarted Type = iota + 1
	GatewayStopping
	ConfigReloaded
	ConfigReloadFailed
	SessionOpened
	SessionClosed
	SessionRefused
	MessageRefused
	MessageAccepted
	MessageQueued
	ScanStageDone
	DeliverySent
	DeliveryDeferred
	DeliveryBounced
	DSNGenerated
	RouteUnreachable
	RouteRecovered
	SpoolCorrupt
	QueueAdmin
	ChannelDropping
	QueueSizeHigh
	QueueSizeNormal
	QueueAgeHigh
	QueueAgeNormal
	BounceRateHigh
	BounceRateNormal
	DiskSpaceLow
	DiskSpaceNormal
	ChannelDisconnected
	ChannelConnected
	MessageCompleted
	PolicyApplied
	QuarantineAdded
	QuarantineReleased
	QuarantineDeleted
	QuarantineExpired
	ArchiveAdded
	ArchiveExpired
	NotificationSent
	NotificationSuppressed
	StoreFull
	StoreWriteFailed
	AntispamVerdict
	DNSListDown
	DNSListUp
	ObjectFlagged
	ScannerDown
	ScannerUp
	DBLoaded
	UpdateDone
	UpdateFailed
	DBOutdated
	DBObsolete
	DBCurrent
	Outbreak
	OutbreakOver
	IntegrationSession
	IntegrationVerdict
	IntegrationError
	typeEnd
)

// TrapVar is an event field that a notification carries as a varbind.
type TrapVar uint8

const (
	VarQueueID   TrapVar = iota + 1 // QueueID
	VarRoute                        // Route
	VarReason                       // Reason
	VarValue                        // Count
	VarThreshold                    // Threshold
	VarChannel                      // Channel
	VarCategory                     // Category
)

// Level is how loud an event is in the log.
type Level uint8

const (
	LevelDebug Level = iota
	LevelInfo
	LevelWarn
	LevelError
)

// Spec is the catalog entry of an event type: its names on every channel and
// the statistics it moves.
type Spec struct {
	Name     string // dotted name, the log's "event" field
	CEFName  string // CEF header name
	Severity int    // CEF severity, 0-10
	Level    Level  // log level
	Trap     bool   // also sent as an SNMP notification
	// TrapVars are the fields a notification carries besides the ones all
	// carry (host name, severity, text, suppressed count).
	TrapVars []TrapVar
	// Step marks a step of one message's way through the gateway (session,
	// acceptance, scan, delivery attempt). The per-message records
	// (message.completed, message.refused) sum the steps up, so channels
	// that want one record per message, such as CEF by default, skip them.
	Step bool
	// CountLabel names what Event.Count means for this type, for channels
	// that label numbers (CEF's cn3Label); "" means "Count".
	CountLabel  string
	Description string // one line for the README's event catalog
	apply       func(*stats.Stats, Event)
}

// Types lists every event type in catalog order.
func Types() []Type {
	out := make([]Type, 0, typeEnd-1)
	for t := Type(1); t < typeEnd; t++ {
		out = append(out, t)
	}
	return out
}

// Valid reports whether t is in the catalog.
func (t Type) Valid() bool { return t > 0 && t < typeEnd }

// Spec returns the catalog entry of t.
func (t Type) Spec() Spec {
	if !t.Valid() {
		return Spec{Name: "unknown", CEFName: "Unknown event", Severity: 5, Level: LevelWarn}
	}
	return specOf(t)
}

// String is the event's dotted name.
func (t Type) String() string { return t.Spec().Name }

// SignatureID is the CEF signature ID: stable and unique per type.
func (t Type) SignatureID() int { return 1000 + int(t) }

// specOf holds the catalog itself. A switch keeps it immutable and in one place.
func specOf(t Type) Spec {
	switch t {
	case GatewayStarted:
		return Spec{Name: "gateway.started", CEFName: "Gateway started", Severity: 3, Level: LevelInfo, Trap: true,
			Description: "The gateway started and serves."}
	case GatewayStopping:
		return Spec{Name: "gateway.stopping", CEFName: "Gateway stopping", Severity: 5, Level: LevelWarn, Trap: true,
			Description: "The gateway was told to stop and is draining."}
	case ConfigReloaded:
		return Spec{Name: "config.reloaded", CEFName: "Configuration reloaded", Severity: 3, Level: LevelInfo, Trap: true,
			Description: "A new configuration was loaded, validated and put in force.",
			apply:       func(s *stats.Stats, _ Event) { s.ConfigReloads.With("success").Inc() }}
	case ConfigReloadFailed:
		return Spec{Name: "config.reload_failed", CEFName: "Configuration reload failed", Severity: 7, Level: LevelError, Trap: true,
			Description: "A reload was refused; the previous configuration stays in force.",
			apply:       func(s *stats.Stats, _ Event) { s.ConfigReloads.With("failure").Inc() }}
	case SessionOpened:
		return Spec{Name: "session.opened", CEFName: "SMTP session opened", Severity: 1, Level: LevelDebug,
			Step:        true,
			Description: "An SMTP client connected and was greeted.",
			apply: func(s *stats.Stats, ev Event) {
				s.ModeSessions.With("smtp").Inc()
				s.IncomingConnectionsTotal.Inc()
				s.IncomingConnectionsMax.Observe(s.IncomingConnections.Add(1))
				s.Associations.Open(ev.SessionID, "", ev.ClientIP, true)
			}}
	case SessionClosed:
		return Spec{Name: "session.closed", CEFName: "SMTP session closed", Severity: 1, Level: LevelDebug,
			Step:        true,
			CountLabel:  "Messages",
			Description: "An SMTP session ended; Err is set when it ended on an I/O error or timeout.",
			apply: func(s *stats.Stats, ev Event) {
				s.IncomingConnections.Add(-1)
				s.Associations.Close(ev.SessionID)
				s.SessionDuration.Observe(ev.Duration)
				if ev.Err != "" {
					s.IncomingConnectionErrors.Inc()
				}
			}}
	case SessionRefused:
		return Spec{Name: "session.refused", CEFName: "SMTP connection refused", Severity: 4, Level: LevelWarn,
			Description: "A connection was refused before the greeting (blocked client, connection limits).",
			apply:       func(s *stats.Stats, ev Event) { s.Refused.With(string(ev.Reason)).Inc() }}
	case MessageRefused:
		return Spec{Name: "message.refused", CEFName: "Message refused", Severity: 5, Level: LevelInfo,
			Description: "A sender, recipient or message was refused with a 4xx/5xx reply; Reason says why.",
			apply: func(s *stats.Stats, ev Event) {
				s.ModeRefused.With("smtp").Inc()
				s.Refused.With(string(ev.Reason)).Inc()
				if ev.Reason == ReasonMalformed {
					s.MalformedMessages.Inc()
				}
			}}
	case MessageAccepted:
		return Spec{Name: "message.accepted", CEFName: "Message accepted", Severity: 2, Level: LevelInfo,
			Step:        true,
			Description: "A message was spooled and the client got 250 with its queue ID.",
			apply: func(s *stats.Stats, ev Event) {
				s.ModeMessages.With("smtp").Inc()
				s.ReceivedMessages.Inc()
				s.ReceivedBytes.Add(uint64(ev.Size))
				s.ReceivedRecipients.Add(uint64(ev.Recipients))
			}}
	case MessageQueued:
		return Spec{Name: "message.queued", CEFName: "Message queued", Severity: 1, Level: LevelDebug,
			Step:        true,
			Description: "A message (received, or generated such as a bounce) was made durable in the spool.",
			apply:       func(s *stats.Stats, ev Event) { s.SpoolWrite.Observe(ev.Duration) }}
	case ScanStageDone:
		return Spec{Name: "scan.stage", CEFName: "Scan stage finished", Severity: 1, Level: LevelDebug,
			Step:        true,
			Description: "A scan stage gave its verdict on a message.",
			apply:       func(s *stats.Stats, ev Event) { s.StageDuration.With(ev.Stage).Observe(ev.Duration) }}
	case DeliverySent:
		return Spec{Name: "delivery.sent", CEFName: "Message delivered to next hop", Severity: 2, Level: LevelInfo,
			Step:        true,
			Description: "A next hop accepted a message for the recipients on one route.",
			apply: func(s *stats.Stats, ev Event) {
				s.SentMessages.Inc()
				s.SentBytes.Add(uint64(ev.Size))
				s.SentRecipients.Add(uint64(ev.Recipients))
				s.RouteDelivered.With(ev.Route).Inc()
				s.RouteBytes.With(ev.Route).Add(uint64(ev.Size))
				s.RouteRcpts.With(ev.Route).Add(uint64(ev.Recipients))
				s.RouteAttempts.With(ev.Route).Inc()
				s.DeliveryDuration.With(ev.Route).Observe(ev.Duration)
			}}
	case DeliveryDeferred:
		return Spec{Name: "delivery.deferred", CEFName: "Delivery deferred", Severity: 4, Level: LevelWarn,
			Step:        true,
			Description: "Delivery to some recipients failed temporarily; they will be retried.",
			apply: func(s *stats.Stats, ev Event) {
				s.DeferredRecipients.Add(uint64(ev.Recipients))
				s.RouteDeferred.With(ev.Route).Add(uint64(ev.Recipients))
				if ev.Duration > 0 { // zero when no transaction was tried (route known down)
					s.RouteAttempts.With(ev.Route).Inc()
					s.DeliveryDuration.With(ev.Route).Observe(ev.Duration)
				}
			}}
	case DeliveryBounced:
		return Spec{Name: "delivery.bounced", CEFName: "Delivery failed", Severity: 6, Level: LevelWarn,
			Step:        true,
			Description: "Delivery to some recipients failed for good (5xx, or the queue lifetime ended).",
			apply: func(s *stats.Stats, ev Event) {
				s.BouncedRecipients.Add(uint64(ev.Recipients))
				s.RouteBounced.With(ev.Route).Add(uint64(ev.Recipients))
				s.SendFailed.With(string(ev.Reason)).Inc()
				if ev.Duration > 0 {
					s.RouteAttempts.With(ev.Route).Inc()
					s.DeliveryDuration.With(ev.Route).Observe(ev.Duration)
				}
			}}
	case DSNGenerated:
		return Spec{Name: "dsn.generated", CEFName: "Delivery status notification generated", Severity: 3, Level: LevelInfo,
			Step:        true,
			Description: "A delivery status notification (RFC 3464) was queued for the envelope sender.",
			apply:       func(s *stats.Stats, _ Event) { s.DSNGenerated.Inc() }}
	case RouteUnreachable:
		return Spec{Name: "route.unreachable", CEFName: "Route unreachable", Severity: 7, Level: LevelError, Trap: true,
			TrapVars:    []TrapVar{VarRoute},
			Description: "A route's next hop could not be reached; its mail is deferred until it answers.",
			apply:       func(s *stats.Stats, ev Event) { s.RouteUp.With(ev.Route).Set(0) }}
	case RouteRecovered:
		return Spec{Name: "route.recovered", CEFName: "Route recovered", Severity: 3, Level: LevelInfo, Trap: true,
			TrapVars:    []TrapVar{VarRoute},
			Description: "A route's next hop answers again.",
			apply:       func(s *stats.Stats, ev Event) { s.RouteUp.With(ev.Route).Set(1) }}
	case SpoolCorrupt:
		return Spec{Name: "spool.corrupt", CEFName: "Spool file corrupt", Severity: 8, Level: LevelError, Trap: true,
			TrapVars:    []TrapVar{VarQueueID},
			Description: "A spool file could not be read back and was moved to the corrupt directory.",
			apply:       func(s *stats.Stats, _ Event) { s.CorruptFiles.Inc() }}
	case QueueAdmin:
		return Spec{Name: "queue.admin", CEFName: "Queue operation", Severity: 4, Level: LevelInfo,
			Description: "An operator held, released, deleted or flushed queued messages."}
	case ChannelDropping:
		return Spec{Name: "telemetry.dropping", CEFName: "Telemetry channel dropping events", Severity: 7, Level: LevelError, Trap: true,
			TrapVars:    []TrapVar{VarChannel, VarValue},
			CountLabel:  "EventsDropped",
			Description: "A telemetry channel dropped events (counted per channel): its memory buffer overflowed, or a CEF target's disk buffer was full and lost its oldest records; Count is how many since the last report."}
	case QueueSizeHigh:
		return Spec{Name: "queue.size_high", CEFName: "Queue size over threshold", Severity: 6, Level: LevelWarn, Trap: true,
			TrapVars:    []TrapVar{VarValue, VarThreshold},
			CountLabel:  "QueueSize",
			Description: "More messages are queued than alerts.queue_size; Count is the queue size."}
	case QueueSizeNormal:
		return Spec{Name: "queue.size_normal", CEFName: "Queue size back under threshold", Severity: 3, Level: LevelInfo, Trap: true,
			TrapVars:    []TrapVar{VarValue, VarThreshold},
			CountLabel:  "QueueSize",
			Description: "The queue is back under alerts.queue_size."}
	case QueueAgeHigh:
		return Spec{Name: "queue.age_high", CEFName: "Oldest queued message over age threshold", Severity: 6, Level: LevelWarn, Trap: true,
			TrapVars:    []TrapVar{VarQueueID, VarValue, VarThreshold},
			CountLabel:  "AgeSeconds",
			Description: "The oldest queued message is older than alerts.queue_age; Count is its age in seconds, QueueID the message."}
	case QueueAgeNormal:
		return Spec{Name: "queue.age_normal", CEFName: "Oldest queued message back under age threshold", Severity: 3, Level: LevelInfo, Trap: true,
			TrapVars:    []TrapVar{VarValue, VarThreshold},
			CountLabel:  "AgeSeconds",
			Description: "No queued message is older than alerts.queue_age any more."}
	case BounceRateHigh:
		return Spec{Name: "delivery.bounce_rate_high", CEFName: "Bounce rate over threshold", Severity: 6, Level: LevelWarn, Trap: true,
			TrapVars:    []TrapVar{VarValue, VarThreshold},
			CountLabel:  "BounceRatePercent",
			Description: "Over the last alerts.window, more than alerts.bounce_rate percent of recipients failed for good; Count is the percentage."}
	case BounceRateNormal:
		return Spec{Name: "delivery.bounce_rate_normal", CEFName: "Bounce rate back under threshold", Severity: 3, Level: LevelInfo, Trap: true,
			TrapVars:    []TrapVar{VarValue, VarThreshold},
			CountLabel:  "BounceRatePercent",
			Description: "The bounce rate is back under alerts.bounce_rate."}
	case DiskSpaceLow:
		return Spec{Name: "spool.disk_low", CEFName: "Spool disk space low", Severity: 8, Level: LevelError, Trap: true,
			TrapVars:    []TrapVar{VarValue, VarThreshold},
			CountLabel:  "FreeMiB",
			Description: "The spool's file system has less free space than alerts.spool_free; Count is the free space in MiB."}
	case DiskSpaceNormal:
		return Spec{Name: "spool.disk_ok", CEFName: "Spool disk space back to normal", Severity: 3, Level: LevelInfo, Trap: true,
			TrapVars:    []TrapVar{VarValue, VarThreshold},
			CountLabel:  "FreeMiB",
			Description: "The spool's file system has enough free space again."}
	case ChannelDisconnected:
		return Spec{Name: "telemetry.disconnected", CEFName: "Telemetry channel lost its consumer", Severity: 6, Level: LevelWarn, Trap: true,
			TrapVars:    []TrapVar{VarChannel},
			Description: "A telemetry channel lost its consumer (the AgentX master agent, a CEF syslog target); it retries in the background and, for CEF over TCP/TLS, keeps the records on disk meanwhile.",
			apply:       func(s *stats.Stats, ev Event) { s.ChannelUp.With(ev.Channel).Set(0) }}
	case ChannelConnected:
		return Spec{Name: "telemetry.connected", CEFName: "Telemetry channel connected", Severity: 2, Level: LevelInfo, Trap: true,
			TrapVars:    []TrapVar{VarChannel},
			Description: "A telemetry channel reached its consumer (the AgentX subagent registered with the master agent, a CEF syslog target accepted the connection).",
			apply:       func(s *stats.Stats, ev Event) { s.ChannelUp.With(ev.Channel).Set(1) }}
	case MessageCompleted:
		return Spec{Name: "message.completed", CEFName: "Message processed", Severity: 3, Level: LevelInfo,
			Description: "A message left the queue: delivered, bounced, partly both, discarded or deleted by an operator. The one record per message: client, envelope, subject, verdicts, action and outcome.",
			apply:       func(s *stats.Stats, ev Event) { s.MessagesCompleted.With(ev.Outcome).Inc() }}
	case PolicyApplied:
		return Spec{Name: "policy.applied", CEFName: "Policy applied", Severity: 3, Level: LevelInfo, Step: true,
			Description: "The policy decided for some recipients of a message: Group, Reason (their status), Action; QueueID is their copy, Parent the message.",
			apply: func(s *stats.Stats, ev Event) {
				s.PolicyActions.With(ev.Action).Inc()
				s.PolicyGroups.With(ev.Group).Inc()
			}}
	case QuarantineAdded:
		return Spec{Name: "quarantine.added", CEFName: "Message quarantined", Severity: 5, Level: LevelInfo,
			Description: "A copy of a message was put in quarantine; Category says which, QueueID is its quarantine ID.",
			apply: func(s *stats.Stats, ev Event) {
				s.QuarantineAdded.With(ev.Category).Inc()
				s.QuarantineMessages.With(ev.Category).Add(1)
				s.QuarantineBytes.With(ev.Category).Add(ev.Size)
			}}
	case QuarantineReleased:
		return Spec{Name: "quarantine.released", CEFName: "Quarantined message released", Severity: 4, Level: LevelInfo,
			Description: "An operator released a quarantined message; it was queued for delivery (QueueID) without being scanned again.",
			apply: func(s *stats.Stats, ev Event) {
				s.QuarantineReleased.With(ev.Category).Inc()
				s.QuarantineMessages.With(ev.Category).Add(-1)
				s.QuarantineBytes.With(ev.Category).Add(-ev.Size)
			}}
	case QuarantineDeleted:
		return Spec{Name: "quarantine.deleted", CEFName: "Quarantined message deleted", Severity: 4, Level: LevelInfo,
			Description: "An operator deleted a quarantined message.",
			apply: func(s *stats.Stats, ev Event) {
				s.QuarantineMessages.With(ev.Category).Add(-1)
				s.QuarantineBytes.With(ev.Category).Add(-ev.Size)
			}}
	case QuarantineExpired:
		return Spec{Name: "quarantine.expired", CEFName: "Quarantined messages expired", Severity: 2, Level: LevelInfo,
			CountLabel:  "Messages",
			Description: "Retention removed quarantined messages of one category (too old, or the quarantine over its size); Count of them, Size bytes.",
			apply: func(s *stats.Stats, ev Event) {
				s.QuarantineExpired.With(ev.Category).Add(uint64(ev.Count))
				s.QuarantineMessages.With(ev.Category).Add(-ev.Count)
				s.QuarantineBytes.With(ev.Category).Add(-ev.Size)
			}}
	case ArchiveAdded:
		return Spec{Name: "archive.added", CEFName: "Message archived", Severity: 1, Level: LevelDebug, Step: true,
			Description: "A copy of a message was archived; Category is the archive (received or sent).",
			apply: func(s *stats.Stats, ev Event) {
				s.ArchiveMessages.With(ev.Category).Add(1)
				s.ArchiveBytes.With(ev.Category).Add(ev.Size)
			}}
	case ArchiveExpired:
		return Spec{Name: "archive.expired", CEFName: "Archived messages expired", Severity: 2, Level: LevelInfo,
			CountLabel:  "Messages",
			Description: "Retention removed archived messages of one archive; Count of them, Size bytes.",
			apply: func(s *stats.Stats, ev Event) {
				s.ArchiveExpired.With(ev.Category).Add(uint64(ev.Count))
				s.ArchiveMessages.With(ev.Category).Add(-ev.Count)
				s.ArchiveBytes.With(ev.Category).Add(-ev.Size)
			}}
	case NotificationSent:
		return Spec{Name: "notify.sent", CEFName: "Notification queued", Severity: 2, Level: LevelInfo, Step: true,
			Description: "A notification about a message (Parent) was queued (QueueID) for its sender, its recipients or the administrator (Category).",
			apply:       func(s *stats.Stats, ev Event) { s.NotificationsSent.With(ev.Category).Inc() }}
	case NotificationSuppressed:
		return Spec{Name: "notify.suppressed", CEFName: "Notification suppressed", Severity: 2, Level: LevelInfo, Step: true,
			Description: "A notification was not sent; Reason: null_sender, auto_submitted, rate_limited, or spool_error (Error says why it could not be queued).",
			apply:       func(s *stats.Stats, ev Event) { s.NotificationsSuppressed.With(string(ev.Reason)).Inc() }}
	case StoreFull:
		return Spec{Name: "store.full", CEFName: "Quarantine or archive full", Severity: 7, Level: LevelWarn, Trap: true,
			TrapVars:    []TrapVar{VarCategory, VarValue, VarThreshold},
			Description: "The quarantine or an archive (Category) reached its size limit and retention removed its oldest messages; Count is its size in MiB, Threshold the limit.",
			CountLabel:  "SizeMiB"}
	case StoreWriteFailed:
		return Spec{Name: "store.write_failed", CEFName: "Quarantine or archive write failed", Severity: 8, Level: LevelError, Trap: true,
			TrapVars:    []TrapVar{VarCategory, VarQueueID},
			Description: "A message could not be written to the quarantine or an archive (Category); a quarantine that cannot take a message defers it (451).",
			apply:       func(s *stats.Stats, ev Event) { s.StoreWriteFailures.With(ev.Category).Inc() }}
	case AntispamVerdict:
		return Spec{Name: "antispam.verdict", CEFName: "Anti-spam verdict", Severity: 3, Level: LevelInfo, Step: true,
			Description: "The anti-spam stage classified a message: Reason is the status, Text the score against the thresholds and the checks that fired.",
			apply:       func(s *stats.Stats, ev Event) { s.AntispamMessages.With(string(ev.Reason)).Inc() }}
	case DNSListDown:
		return Spec{Name: "dnslist.down", CEFName: "DNS list not answering", Severity: 6, Level: LevelWarn, Trap: true,
			TrapVars:    []TrapVar{VarCategory, VarValue},
			Description: "A DNS list zone (Category) stopped answering: Count lookups in a row timed out or failed; its checks score nothing until it answers again.",
			CountLabel:  "Failures",
			apply:       func(s *stats.Stats, ev Event) { s.DNSListUp.With(ev.Category).Set(0) }}
	case DNSListUp:
		return Spec{Name: "dnslist.up", CEFName: "DNS list answering again", Severity: 3, Level: LevelInfo, Trap: true,
			TrapVars:    []TrapVar{VarCategory},
			Description: "A DNS list zone (Category) that had stopped answering answers again.",
			apply:       func(s *stats.Stats, ev Event) { s.DNSListUp.With(ev.Category).Set(1) }}
	case ObjectFlagged:
		return Spec{Name: "scan.object_flagged", CEFName: "Message object flagged", Severity: 6, Level: LevelInfo,
			Description: "A scan stage (Stage) found an object of a message (its name in Attachments, Size, Hash) infected, suspicious, protected, corrupted or banned (Category); Text is the threat or rule and where the object sits.",
			apply: func(s *stats.Stats, ev Event) {
				s.ObjectsFlagged.With(ev.Category).Inc()
				if ev.Threat != "" && ev.Category == "infected" {
					s.AVThreats.Inc(ev.Threat)
				}
			}}
	case ScannerDown:
		return Spec{Name: "av.scanner_down", CEFName: "Anti-virus scanner failing", Severity: 8, Level: LevelError, Trap: true,
			TrapVars:    []TrapVar{VarCategory},
			Description: "An anti-virus scanner (Category) failed a scan (Err says why); messages it cannot scan get the policy's action for the error status (451 by default) until it answers again.",
			apply:       func(s *stats.Stats, ev Event) { s.AVScannerUp.With(ev.Category).Set(0) }}
	case ScannerUp:
		return Spec{Name: "av.scanner_up", CEFName: "Anti-virus scanner working again", Severity: 3, Level: LevelInfo, Trap: true,
			TrapVars:    []TrapVar{VarCategory},
			Description: "An anti-virus scanner (Category) that had failed scans again.",
			apply:       func(s *stats.Stats, ev Event) { s.AVScannerUp.With(ev.Category).Set(1) }}
	case DBLoaded:
		return Spec{Name: "av.db_loaded", CEFName: "Anti-virus database loaded", Severity: 3, Level: LevelInfo, Trap: true,
			TrapVars:    []TrapVar{VarCategory, VarValue},
			Description: "A scanner (Category) scans with a new database from now on: Count signatures, Text its version and release time (the replaced product's BasesReloaded).",
			CountLabel:  "Signatures",
			apply:       func(s *stats.Stats, ev Event) { s.AVSignatures.With(ev.Category).Set(ev.Count) }}
	case UpdateDone:
		return Spec{Name: "av.update_done", CEFName: "Signature update finished", Severity: 2, Level: LevelInfo,
			Description: "A signature update for a scanner (Category) from a source (Remote) ended: Reason updated (a new set installed) or not_needed (the source holds what is installed); Count signatures.",
			CountLabel:  "Signatures",
			apply:       func(s *stats.Stats, ev Event) { s.AVUpdates.With(string(ev.Reason)).Inc() }}
	case UpdateFailed:
		return Spec{Name: "av.update_failed", CEFName: "Signature update failed", Severity: 7, Level: LevelError, Trap: true,
			TrapVars:    []TrapVar{VarCategory},
			Description: "A signature update for a scanner (Category) from a source (Remote) failed (Err says why); the installed database stays in use (the replaced product's updateErrorEvent).",
			apply:       func(s *stats.Stats, ev Event) { s.AVUpdates.With("error").Inc() }}
	case DBOutdated:
		return Spec{Name: "av.db_outdated", CEFName: "Anti-virus database outdated", Severity: 6, Level: LevelWarn, Trap: true,
			TrapVars:    []TrapVar{VarCategory, VarValue, VarThreshold},
			Description: "A scanner's database (Category) is older than antivirus.databases.outdated_after: Count is its age in seconds, Threshold the limit (avBasesOutdatedEvent).",
			CountLabel:  "AgeSeconds",
			apply:       func(s *stats.Stats, ev Event) { s.AVDBState.With(ev.Category).Set(1) }}
	case DBObsolete:
		return Spec{Name: "av.db_obsolete", CEFName: "Anti-virus database obsolete", Severity: 8, Level: LevelError, Trap: true,
			TrapVars:    []TrapVar{VarCategory, VarValue, VarThreshold},
			Description: "A scanner's database (Category) is older than antivirus.databases.obsolete_after: Count is its age in seconds, Threshold the limit (avBasesObsoletedEvent, ObsoleteBases).",
			CountLabel:  "AgeSeconds",
			apply:       func(s *stats.Stats, ev Event) { s.AVDBState.With(ev.Category).Set(2) }}
	case DBCurrent:
		return Spec{Name: "av.db_current", CEFName: "Anti-virus database up to date", Severity: 3, Level: LevelInfo, Trap: true,
			TrapVars:    []TrapVar{VarCategory, VarValue},
			Description: "A scanner's database (Category) that was outdated or obsolete is current again: Count is its age in seconds.",
			CountLabel:  "AgeSeconds",
			apply:       func(s *stats.Stats, ev Event) { s.AVDBState.With(ev.Category).Set(0) }}
	case Outbreak:
		return Spec{Name: "av.outbreak", CEFName: "Virus outbreak", Severity: 9, Level: LevelError, Trap: true,
			TrapVars:    []TrapVar{VarValue, VarThreshold},
			Description: "Count infected objects were found in the last hour, at or above antivirus.outbreak.per_hour (Threshold); repeated every hour while it lasts (the replaced product's OutbreakAlert). Text names the threat found last.",
			CountLabel:  "DetectionsLastHour",
			apply:       func(s *stats.Stats, ev Event) { s.AVOutbreak.Set(1) }}
	case OutbreakOver:
		return Spec{Name: "av.outbreak_over", CEFName: "Virus outbreak over", Severity: 3, Level: LevelInfo, Trap: true,
			TrapVars:    []TrapVar{VarValue, VarThreshold},
			Description: "Detections in the last hour (Count) fell below the outbreak threshold again.",
			CountLabel:  "DetectionsLastHour",
			apply:       func(s *stats.Stats, ev Event) { s.AVOutbreak.Set(0) }}
	case IntegrationSession:
		return Spec{Name: "integration.session", CEFName: "Integration session opened", Severity: 1, Level: LevelDebug,
			Description: "An MTA connected to the milter listener, or CommuniGate Pro started the helper (Mode says which); ClientIP is the MTA's.",
			apply:       func(s *stats.Stats, ev Event) { s.ModeSessions.With(ev.Mode).Inc() }}
	case IntegrationVerdict:
		return Spec{Name: "integration.verdict", CEFName: "Message judged for an MTA", Severity: 3, Level: LevelInfo,
			Description: "A message another MTA holds (Mode: milter, cgp) was scanned and judged: Action is what the MTA was told (accept, reject, tempfail, discard, quarantine), QueueID ours, MTAQueueID the MTA's, Text the reply or the changes made.",
			apply: func(s *stats.Stats, ev Event) {
				s.ModeMessages.With(ev.Mode).Inc()
				if ev.Action == "reject" || ev.Action == "tempfail" {
					s.ModeRefused.With(ev.Mode).Inc()
				}
			}}
	case IntegrationError:
		return Spec{Name: "integration.error", CEFName: "Integration request failed", Severity: 6, Level: LevelWarn,
			Description: "A milter or CommuniGate Pro helper request could not be judged (Err: a protocol error, an unreadable file, a scan failure); the MTA got a temporary failure or an error.",
			apply:       func(s *stats.Stats, ev Event) { s.ModeErrors.With(ev.Mode).Inc() }}
	}
	panic("telemetry: catalog has no entry for type " + strconv.Itoa(int(t)))
}
