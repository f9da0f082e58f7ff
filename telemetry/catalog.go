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
	typeEnd
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
	Name        string // dotted name, the log's "event" field
	CEFName     string // CEF header name
	Severity    int    // CEF severity, 0-10
	Level       Level  // log level
	Trap        bool   // also sent as an SNMP notification
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
			Description: "An SMTP client connected and was greeted.",
			apply: func(s *stats.Stats, _ Event) {
				s.IncomingConnectionsTotal.Inc()
				s.IncomingConnectionsMax.Observe(s.IncomingConnections.Add(1))
			}}
	case SessionClosed:
		return Spec{Name: "session.closed", CEFName: "SMTP session closed", Severity: 1, Level: LevelDebug,
			Description: "An SMTP session ended; Err is set when it ended on an I/O error or timeout.",
			apply: func(s *stats.Stats, ev Event) {
				s.IncomingConnections.Add(-1)
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
				s.Refused.With(string(ev.Reason)).Inc()
				if ev.Reason == ReasonMalformed {
					s.MalformedMessages.Inc()
				}
			}}
	case MessageAccepted:
		return Spec{Name: "message.accepted", CEFName: "Message accepted", Severity: 2, Level: LevelInfo,
			Description: "A message was spooled and the client got 250 with its queue ID.",
			apply: func(s *stats.Stats, ev Event) {
				s.ReceivedMessages.Inc()
				s.ReceivedBytes.Add(uint64(ev.Size))
				s.ReceivedRecipients.Add(uint64(ev.Recipients))
			}}
	case MessageQueued:
		return Spec{Name: "message.queued", CEFName: "Message queued", Severity: 1, Level: LevelDebug,
			Description: "A message (received, or generated such as a bounce) was made durable in the spool.",
			apply:       func(s *stats.Stats, ev Event) { s.SpoolWrite.Observe(ev.Duration) }}
	case ScanStageDone:
		return Spec{Name: "scan.stage", CEFName: "Scan stage finished", Severity: 1, Level: LevelDebug,
			Description: "A scan stage gave its verdict on a message.",
			apply:       func(s *stats.Stats, ev Event) { s.StageDuration.With(ev.Stage).Observe(ev.Duration) }}
	case DeliverySent:
		return Spec{Name: "delivery.sent", CEFName: "Message delivered to next hop", Severity: 2, Level: LevelInfo,
			Description: "A next hop accepted a message for the recipients on one route.",
			apply: func(s *stats.Stats, ev Event) {
				s.SentMessages.Inc()
				s.SentBytes.Add(uint64(ev.Size))
				s.SentRecipients.Add(uint64(ev.Recipients))
				s.RouteDelivered.With(ev.Route).Inc()
				s.RouteBytes.With(ev.Route).Add(uint64(ev.Size))
				s.RouteAttempts.With(ev.Route).Inc()
				s.DeliveryDuration.With(ev.Route).Observe(ev.Duration)
			}}
	case DeliveryDeferred:
		return Spec{Name: "delivery.deferred", CEFName: "Delivery deferred", Severity: 4, Level: LevelWarn,
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
			Description: "A delivery status notification (RFC 3464) was queued for the envelope sender.",
			apply:       func(s *stats.Stats, _ Event) { s.DSNGenerated.Inc() }}
	case RouteUnreachable:
		return Spec{Name: "route.unreachable", CEFName: "Route unreachable", Severity: 7, Level: LevelError, Trap: true,
			Description: "A route's next hop could not be reached; its mail is deferred until it answers.",
			apply:       func(s *stats.Stats, ev Event) { s.RouteUp.With(ev.Route).Set(0) }}
	case RouteRecovered:
		return Spec{Name: "route.recovered", CEFName: "Route recovered", Severity: 3, Level: LevelInfo, Trap: true,
			Description: "A route's next hop answers again.",
			apply:       func(s *stats.Stats, ev Event) { s.RouteUp.With(ev.Route).Set(1) }}
	case SpoolCorrupt:
		return Spec{Name: "spool.corrupt", CEFName: "Spool file corrupt", Severity: 8, Level: LevelError, Trap: true,
			Description: "A spool file could not be read back and was moved to the corrupt directory.",
			apply:       func(s *stats.Stats, _ Event) { s.CorruptFiles.Inc() }}
	case QueueAdmin:
		return Spec{Name: "queue.admin", CEFName: "Queue operation", Severity: 4, Level: LevelInfo,
			Description: "An operator held, released, deleted or flushed queued messages."}
	case ChannelDropping:
		return Spec{Name: "telemetry.dropping", CEFName: "Telemetry channel dropping events", Severity: 7, Level: LevelError, Trap: true,
			Description: "A telemetry channel's buffer overflowed and it dropped events (counted per channel)."}
	}
	panic("telemetry: catalog has no entry for type " + strconv.Itoa(int(t)))
}
