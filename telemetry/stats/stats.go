package stats

import (
	"fmt"
	"sync"
	"time"
)

// ThreatTableSize is how many threat names the per-threat table keeps.
const ThreatTableSize = 50

// Presets are the label values a family exports from the start, at zero, so
// that dashboards and alert rules see every series before the first event.
type Presets struct {
	RefusalReasons     []string
	SendFailureReasons []string
	QueueStates        []string
	Channels           []string
	EventTypes         []string
	ReloadResults      []string
	Outcomes           []string
	PolicyActions      []string
	Categories         []string
	Archives           []string
	Notifications      []string
	SuppressReasons    []string
	Stores             []string
	DNSResults         []string
	AntispamStatuses   []string
	ObjectStatuses     []string
	UpdateResults      []string
	Modes              []string
}

// Stats is the single registry of figures. Fields are the typed handles that
// event handlers update; the figures list keeps them in export order with
// their descriptions.
type Stats struct {
	ReceivedMessages   *Counter
	ReceivedBytes      *Counter
	ReceivedRecipients *Counter
	SentMessages       *Counter
	SentBytes          *Counter
	SentRecipients     *Counter

	QueueMessages *GaugeFamily // by queue state
	CorruptFiles  *Counter
	CorruptQueued *Gauge

	IncomingConnectionsTotal *Counter
	IncomingConnections      *Gauge
	IncomingConnectionsMax   *HighWater
	IncomingConnectionErrors *Counter

	OutgoingConnectionsTotal         *Counter
	OutgoingConnections              *Gauge
	OutgoingConnectionsMax           *HighWater
	OutgoingConnectionErrors         *Counter
	OutgoingConnectionsFailed        *Counter
	OutgoingConnectionsFailedByCache *Counter

	RoutingQueries         *Counter
	DNSQueries             *Counter
	DNSQueriesThroughCache *Counter
	DNSQueriesFailed       *Counter

	Refused            *CounterFamily // by refusal reason
	SendFailed         *CounterFamily // by send failure reason
	MalformedMessages  *Counter
	DSNGenerated       *Counter
	DeferredRecipients *Counter
	BouncedRecipients  *Counter

	RouteDelivered *CounterFamily // messages, by route
	RouteBytes     *CounterFamily
	RouteDeferred  *CounterFamily // recipients, by route
	RouteBounced   *CounterFamily // recipients, by route
	RouteAttempts  *CounterFamily // transactions tried, by route
	RouteUp        *GaugeFamily   // 1 while the route's next hop answers
	RouteQueued    *GaugeFamily   // jobs waiting for a route's workers
	RouteRcpts     *CounterFamily // recipients the next hop accepted, by route
	RouteConns     *GaugeFamily   // connections open to a route's next hop
	RouteConnsAll  *CounterFamily // connections opened to a route's next hop
	RouteConnFails *CounterFamily // connections to a route's next hop that failed
	// RouteLastFailure is why the last connection to a route's next hop
	// failed ("" while none has).
	RouteLastFailure *TextFamily

	ConfigReloads *CounterFamily // by result
	Events        *CounterFamily // by event type
	EventsDropped *CounterFamily // by channel
	ChannelUp     *GaugeFamily   // 1 while a channel reaches its consumer, by channel

	TrapsSent       *CounterFamily // notifications sent, by event type
	TrapsSuppressed *CounterFamily // notifications held back by the storm guard, by event type
	TrapTargetSent  *CounterFamily // notifications a target took (informs: acknowledged), by target
	TrapTargetFails *CounterFamily // notifications that failed to reach a target, by target

	// Per telemetry channel consumer (a CEF target): records it took, and
	// the backlog waiting for it in its disk buffer.
	ChannelSent         *CounterFamily
	ChannelBacklog      *GaugeFamily
	ChannelBacklogBytes *GaugeFamily
	MessagesCompleted   *CounterFamily // messages that left the queue, by outcome

	PolicyActions           *CounterFamily // outcomes decided, by action
	PolicyGroups            *CounterFamily // outcomes decided, by policy group
	QuarantineMessages      *GaugeFamily   // by category
	QuarantineBytes         *GaugeFamily   // by category
	QuarantineAdded         *CounterFamily // by category
	QuarantineReleased      *CounterFamily // by category
	QuarantineExpired       *CounterFamily // by category
	ArchiveMessages         *GaugeFamily   // by archive
	ArchiveBytes            *GaugeFamily   // by archive
	ArchiveExpired          *CounterFamily // by archive
	NotificationsSent       *CounterFamily // by recipient kind
	NotificationsSuppressed *CounterFamily // by reason
	StoreWriteFailures      *CounterFamily // by store

	ResolverQueries   *CounterFamily   // queries the checks' resolver sent, by result
	ResolverCacheHits *Counter         // answers served from its cache
	AntispamMessages  *CounterFamily   // by status the stage gave
	AntispamCheckHits *CounterFamily   // by check
	AntispamCheckErrs *CounterFamily   // by check
	AntispamCheckTime *HistogramFamily // by check
	DNSListQueries    *CounterFamily   // by DNS list zone
	DNSListHits       *CounterFamily   // by DNS list zone
	DNSListTimeouts   *CounterFamily   // by DNS list zone
	DNSListUp         *GaugeFamily     // by DNS list zone: 1 answering, 0 not

	ObjectsScanned *CounterFamily   // message objects the anti-virus stage judged, by status
	ObjectsFlagged *CounterFamily   // objects flagged by a stage, by status (infected ... banned)
	AVScans        *CounterFamily   // objects a scanner scanned, by scanner
	AVScanErrors   *CounterFamily   // by scanner
	AVScanTime     *HistogramFamily // by scanner
	FilterHits     *CounterFamily   // attachment rules that matched, by rule
	AVScannerUp    *GaugeFamily     // by scanner: 1 scanning, 0 failing
	AVThreats      *TopCounters     // detections by threat name, the most frequent only
	AVSignatures   *GaugeFamily     // by scanner: signatures in its database
	AVDBReleased   *GaugeFamily     // by scanner: the database's release time, Unix seconds
	AVDBAge        *GaugeFamily     // by scanner: seconds since that release, as last checked
	AVDBState      *GaugeFamily     // by scanner: 0 current, 1 outdated, 2 obsolete
	AVDBVersion    *GaugeFamily     // by scanner
	AVUpdates      *CounterFamily   // signature updates, by result
	AVLastHour     *Gauge           // detections in the last hour, for the outbreak alarm
	AVOutbreak     *Gauge           // 1 while the outbreak alarm is raised

	ModeSessions *CounterFamily // by integration mode: smtp, milter, cgp
	ModeMessages *CounterFamily
	ModeRefused  *CounterFamily
	ModeErrors   *CounterFamily

	QueueOldestAge *Gauge // seconds, as the watcher last saw it
	SpoolFree      *Gauge // bytes an unprivileged writer can still use on the spool's file system
	SpoolSize      *Gauge // bytes of that file system

	AgentXSessions *Counter // sessions opened with the master agent
	AgentXRequests *Counter // requests the master agent sent

	// Associations are the open SMTP connections, both ways.
	Associations *Associations

	SessionDuration  *Histogram
	StageDuration    *HistogramFamily // by scan stage
	SpoolWrite       *Histogram
	DeliveryDuration *HistogramFamily // by route

	info    info
	figures []figure
}

type info struct {
	mu           sync.RWMutex
	version      string
	hostname     string
	started      time.Time
	configLoaded time.Time
	configHash   string
}

// figure is one registered entry: its description and how to read it.
type figure struct {
	desc   Desc
	scalar func() uint64
	family func() []LabelValue
	hist   func() []LabelHistogram
	touch  func(label string) // creates a family's member at zero
}

// Introduce creates, at zero, the member for label in every family of
// table ("route", "scanner", "dnsZone", ...): a route or a scanner is on
// every chart and in every alert from the moment it is configured, not
// from its first failure.
func (s *Stats) Introduce(table, label string) {
	for _, f := range s.figures {
		if f.touch != nil && f.desc.Table == table {
			f.touch(label)
		}
	}
}

// LabelValue is one member of a family.
type LabelValue struct {
	Label string
	Value uint64
}

// LabelHistogram is one member of a histogram family ("" for a scalar one).
type LabelHistogram struct {
	Label string
	Value HistogramValue
}

// New creates the registry with every figure at zero.
func New(p Presets) *Stats {
	s := &Stats{Associations: newAssociations()}
	s.info.started = time.Now()
	s.ReceivedMessages = s.counter(Desc{Arc: 1, Name: "received_messages_total", Legacy: "mta_received_messages",
		Help: "Messages accepted from SMTP clients (250 after DATA)."})
	s.ReceivedBytes = s.counter(Desc{Arc: 2, Name: "received_bytes_total", Legacy: "mta_received_bytes",
		Help: "Bytes of the accepted messages, as the clients sent them (without the trace header the gateway adds)."})
	s.ReceivedRecipients = s.counter(Desc{Arc: 3, Name: "received_recipients_total", Legacy: "mta_received_recipients",
		Help: "Recipients of the accepted messages."})
	s.SentMessages = s.counter(Desc{Arc: 4, Name: "sent_messages_total", Legacy: "mta_sent_messages",
		Help: "Message transactions the next hop accepted (one per route a message went to)."})
	s.SentBytes = s.counter(Desc{Arc: 5, Name: "sent_bytes_total", Legacy: "mta_sent_bytes",
		Help: "Bytes of the message transactions the next hop accepted."})
	s.SentRecipients = s.counter(Desc{Arc: 6, Name: "sent_recipients_total", Legacy: "mta_sent_recipients",
		Help: "Recipients the next hop accepted."})

	s.QueueMessages = newFamily(func() *Gauge { return new(Gauge) }, p.QueueStates)
	s.gaugeFamily(Desc{Arc: 7, Name: "queue_messages", Label: "state", Table: "queue", Legacy: "mta_stored_messages_current",
		LegacyEach: "mta_stored_messages_%s", Help: "Messages in the spool, by queue state."}, s.QueueMessages)
	s.CorruptFiles = s.counter(Desc{Arc: 8, Name: "spool_corrupt_files_total",
		Help: "Spool files found damaged and moved aside to the corrupt directory."})
	s.CorruptQueued = s.gauge(Desc{Arc: 9, Name: "spool_corrupt_messages",
		Help: "Files currently in the spool's corrupt directory."})

	s.IncomingConnectionsTotal = s.counter(Desc{Arc: 10, Name: "incoming_connections_total", Legacy: "mta_incoming_connections_total",
		Help: "SMTP connections accepted."})
	s.IncomingConnections = s.gauge(Desc{Arc: 11, Name: "incoming_connections", Legacy: "mta_incoming_connections_current",
		Help: "SMTP connections open now."})
	s.IncomingConnectionsMax = s.highWater(Desc{Arc: 12, Name: "incoming_connections_max", Legacy: "mta_incoming_connections_maximum",
		Help: "Most SMTP connections open at once since start."})
	s.IncomingConnectionErrors = s.counter(Desc{Arc: 13, Name: "incoming_connection_errors_total", Legacy: "mta_incoming_connections_errors",
		Help: "SMTP connections that ended on an I/O error or a timeout."})

	s.OutgoingConnectionsTotal = s.counter(Desc{Arc: 14, Name: "outgoing_connections_total", Legacy: "mta_outgoing_connections_total",
		Help: "Connections opened to next hops."})
	s.OutgoingConnections = s.gauge(Desc{Arc: 15, Name: "outgoing_connections", Legacy: "mta_outgoing_connections_current",
		Help: "Connections to next hops open now."})
	s.OutgoingConnectionsMax = s.highWater(Desc{Arc: 16, Name: "outgoing_connections_max", Legacy: "mta_outgoing_connections_maximum",
		Help: "Most connections to next hops open at once since start."})
	s.OutgoingConnectionErrors = s.counter(Desc{Arc: 17, Name: "outgoing_connection_errors_total", Legacy: "mta_outgoing_connection_errors",
		Help: "Connections to next hops that broke after they were established."})
	s.OutgoingConnectionsFailed = s.counter(Desc{Arc: 18, Name: "outgoing_connections_failed_total", Legacy: "mta_outgoing_connections_failed_total",
		Help: "Connections to next hops that could not be established or were refused at the greeting."})
	s.OutgoingConnectionsFailedByCache = s.counter(Desc{Arc: 19, Name: "outgoing_connections_failed_through_cache_total", Legacy: "mta_outgoing_connections_failed_through_cache",
		Help: "Delivery attempts not tried because the route was recently found unreachable."})

	s.RoutingQueries = s.counter(Desc{Arc: 20, Name: "routing_queries_total", Legacy: "mta_routing_queries_total",
		Help: "Look-ups in the routing table."})
	s.DNSQueries = s.counter(Desc{Arc: 21, Name: "dns_queries_total", Legacy: "mta_dns_queries_total",
		Help: "Host name look-ups for next hops."})
	s.DNSQueriesThroughCache = s.counter(Desc{Arc: 22, Name: "dns_queries_through_cache_total", Legacy: "mta_dns_queries_through_cache",
		Help: "Host name look-ups answered from the cache."})
	s.DNSQueriesFailed = s.counter(Desc{Arc: 23, Name: "dns_queries_failed_total", Legacy: "mta_dns_queries_failed",
		Help: "Host name look-ups that failed."})

	s.Refused = newFamily(func() *Counter { return new(Counter) }, p.RefusalReasons)
	s.counterFamily(Desc{Arc: 24, Name: "refused_total", Label: "reason", Table: "refusal", Legacy: "mta_receivings_refused_total",
		LegacyEach: "mta_receivings_refused_for_%s", Help: "Connections, recipients and messages refused, by reason."}, s.Refused)
	s.SendFailed = newFamily(func() *Counter { return new(Counter) }, p.SendFailureReasons)
	s.counterFamily(Desc{Arc: 25, Name: "send_failures_total", Label: "reason", Table: "sendFailure", Legacy: "mta_sendings_failed_total",
		LegacyEach: "mta_sendings_failed_for_%s", Help: "Outgoing transactions that failed for good, by reason."}, s.SendFailed)
	s.MalformedMessages = s.counter(Desc{Arc: 26, Name: "malformed_messages_total", Legacy: "mta_malformed_messages",
		Help: "Messages refused because their content was malformed."})
	s.DSNGenerated = s.counter(Desc{Arc: 27, Name: "dsn_generated_total", Legacy: "mta_dsn_generated",
		Help: "Delivery status notifications (bounces and relay notices) generated."})
	s.DeferredRecipients = s.counter(Desc{Arc: 28, Name: "deferred_recipients_total",
		Help: "Recipient delivery attempts that ended in a temporary failure."})
	s.BouncedRecipients = s.counter(Desc{Arc: 29, Name: "bounced_recipients_total",
		Help: "Recipients that failed for good (5xx or queue lifetime ended)."})

	routeCounter := func(arc uint32, name, help string) *CounterFamily {
		f := newFamily(func() *Counter { return new(Counter) }, nil)
		s.counterFamily(Desc{Arc: arc, Name: name, Label: "route", Table: "route", Help: help}, f)
		return f
	}
	s.RouteDelivered = routeCounter(30, "route_delivered_messages_total", "Message transactions the next hop of a route accepted.")
	s.RouteBytes = routeCounter(31, "route_delivered_bytes_total", "Bytes the next hop of a route accepted.")
	s.RouteDeferred = routeCounter(32, "route_deferred_recipients_total", "Recipients deferred on a route.")
	s.RouteBounced = routeCounter(33, "route_bounced_recipients_total", "Recipients that failed for good on a route.")
	s.RouteAttempts = routeCounter(34, "route_attempts_total", "Delivery transactions tried on a route.")
	s.RouteUp = newFamily(func() *Gauge { return new(Gauge) }, nil)
	s.gaugeFamily(Desc{Arc: 35, Name: "route_up", Label: "route", Table: "route",
		Help: "1 while the route's next hop answers, 0 after a connection failure until it answers again."}, s.RouteUp)

	s.ConfigReloads = newFamily(func() *Counter { return new(Counter) }, p.ReloadResults)
	s.counterFamily(Desc{Arc: 36, Name: "config_reloads_total", Label: "result", Table: "reload",
		Help: "Configuration reloads, by result."}, s.ConfigReloads)
	s.Events = newFamily(func() *Counter { return new(Counter) }, p.EventTypes)
	s.counterFamily(Desc{Arc: 37, Name: "events_total", Label: "event", Table: "event",
		Help: "Events emitted, by event type."}, s.Events)
	s.EventsDropped = newFamily(func() *Counter { return new(Counter) }, p.Channels)
	s.counterFamily(Desc{Arc: 38, Name: "events_dropped_total", Label: "channel", Table: "channel",
		Help: "Events a channel dropped because its buffer was full or its consumer failed."}, s.EventsDropped)

	s.SessionDuration = newHistogram(LatencyBounds())
	s.histogram(Desc{Arc: 39, SumArc: 139, Name: "smtp_session_duration_seconds", Help: "Time from connect to close of SMTP sessions."}, s.SessionDuration)
	s.StageDuration = newFamily(func() *Histogram { return newHistogram(LatencyBounds()) }, nil)
	s.histogramFamily(Desc{Arc: 40, SumArc: 140, Name: "scan_stage_duration_seconds", Label: "stage", Table: "stage",
		Help: "Time a scan stage took per message."}, s.StageDuration)
	s.SpoolWrite = newHistogram(LatencyBounds())
	s.histogram(Desc{Arc: 41, SumArc: 141, Name: "spool_write_duration_seconds", Help: "Time to make an accepted message durable (fsync and rename)."}, s.SpoolWrite)
	s.DeliveryDuration = newFamily(func() *Histogram { return newHistogram(LatencyBounds()) }, nil)
	s.histogramFamily(Desc{Arc: 42, SumArc: 142, Name: "delivery_duration_seconds", Label: "route", Table: "route",
		Help: "Time of one delivery transaction with a next hop."}, s.DeliveryDuration)

	s.scalar(Desc{Arc: 43, Name: "start_time_seconds", Kind: KindGauge, Legacy: "time_initialized",
		Help: "When the gateway started, in seconds since the Unix epoch."}, func() uint64 { return uint64(s.Started().Unix()) })
	s.scalar(Desc{Arc: 44, Name: "uptime_seconds", Kind: KindGauge, Legacy: "time_processing",
		Help: "Seconds since the gateway started."}, func() uint64 { return uint64(time.Since(s.Started()).Seconds()) })
	s.scalar(Desc{Arc: 45, Name: "config_load_time_seconds", Kind: KindGauge,
		Help: "When the running configuration was loaded, in seconds since the Unix epoch."}, func() uint64 {
		_, t := s.Config()
		if t.IsZero() {
			return 0
		}
		return uint64(t.Unix())
	})

	s.RouteQueued = newFamily(func() *Gauge { return new(Gauge) }, nil)
	s.gaugeFamily(Desc{Arc: 46, Name: "route_queued_jobs", Label: "route", Table: "route",
		Help: "Deliveries (a message's recipients on a route) waiting for the route's workers."}, s.RouteQueued)
	s.RouteRcpts = routeCounter(47, "route_delivered_recipients_total", "Recipients the next hop of a route accepted.")
	s.RouteConns = newFamily(func() *Gauge { return new(Gauge) }, nil)
	s.gaugeFamily(Desc{Arc: 48, Name: "route_connections", Label: "route", Table: "route",
		Help: "Connections open to a route's next hop."}, s.RouteConns)
	s.RouteConnsAll = routeCounter(49, "route_connections_total", "Connections opened to a route's next hop.")
	s.RouteConnFails = routeCounter(50, "route_connection_failures_total", "Connections to a route's next hop that could not be established.")
	s.RouteLastFailure = newFamily(func() *Text { return new(Text) }, nil)

	s.ChannelUp = newFamily(func() *Gauge { return new(Gauge) }, nil)
	s.gaugeFamily(Desc{Arc: 51, Name: "channel_up", Label: "channel", Table: "channel",
		Help: "1 while a telemetry channel reaches its consumer (the AgentX master, a trap receiver), else 0."}, s.ChannelUp)
	s.TrapsSent = newFamily(func() *Counter { return new(Counter) }, p.EventTypes)
	s.counterFamily(Desc{Arc: 52, Name: "traps_sent_total", Label: "event", Table: "event",
		Help: "SNMP notifications sent, by event type."}, s.TrapsSent)
	s.TrapsSuppressed = newFamily(func() *Counter { return new(Counter) }, p.EventTypes)
	s.counterFamily(Desc{Arc: 53, Name: "traps_suppressed_total", Label: "event", Table: "event",
		Help: "SNMP notifications held back by the storm guard, by event type."}, s.TrapsSuppressed)
	s.TrapTargetSent = newFamily(func() *Counter { return new(Counter) }, nil)
	s.counterFamily(Desc{Arc: 54, Name: "trap_target_sent_total", Label: "target", Table: "trapTarget",
		Help: "Notifications a trap receiver took (for informs: acknowledged), by receiver."}, s.TrapTargetSent)
	s.TrapTargetFails = newFamily(func() *Counter { return new(Counter) }, nil)
	s.counterFamily(Desc{Arc: 55, Name: "trap_target_failures_total", Label: "target", Table: "trapTarget",
		Help: "Notifications that could not be sent to a trap receiver (for informs: not acknowledged), by receiver."}, s.TrapTargetFails)
	s.AgentXSessions = s.counter(Desc{Arc: 56, Name: "agentx_sessions_total",
		Help: "Sessions opened with the AgentX master agent (one per connection or reconnection)."})
	s.AgentXRequests = s.counter(Desc{Arc: 57, Name: "agentx_requests_total",
		Help: "Requests the AgentX master agent sent (get, get-next, get-bulk, set attempts)."})
	s.ChannelSent = newFamily(func() *Counter { return new(Counter) }, nil)
	s.counterFamily(Desc{Arc: 58, Name: "channel_sent_total", Label: "channel", Table: "channel",
		Help: "Records a telemetry channel's consumer took (for CEF over TCP/TLS: acknowledged by the peer's TCP stack)."}, s.ChannelSent)
	s.ChannelBacklog = newFamily(func() *Gauge { return new(Gauge) }, p.Channels)
	s.gaugeFamily(Desc{Arc: 59, Name: "channel_backlog_records", Label: "channel", Table: "channel",
		Help: "Records waiting in a channel's disk buffer for its consumer."}, s.ChannelBacklog)
	s.ChannelBacklogBytes = newFamily(func() *Gauge { return new(Gauge) }, p.Channels)
	s.gaugeFamily(Desc{Arc: 60, Name: "channel_backlog_bytes", Label: "channel", Table: "channel",
		Help: "Bytes waiting in a channel's disk buffer for its consumer."}, s.ChannelBacklogBytes)
	s.MessagesCompleted = newFamily(func() *Counter { return new(Counter) }, p.Outcomes)
	s.counterFamily(Desc{Arc: 61, Name: "messages_completed_total", Label: "outcome", Table: "outcome",
		Help: "Messages that left the queue or were never queued, by outcome (delivered, bounced, partial, discarded, quarantined, deleted)."}, s.MessagesCompleted)
	counters := func(arc uint32, name, label, table, help string, preset []string) *CounterFamily {
		f := newFamily(func() *Counter { return new(Counter) }, preset)
		s.counterFamily(Desc{Arc: arc, Name: name, Label: label, Table: table, Help: help}, f)
		return f
	}
	gauges := func(arc uint32, name, label, table, help string, preset []string) *GaugeFamily {
		f := newFamily(func() *Gauge { return new(Gauge) }, preset)
		s.gaugeFamily(Desc{Arc: arc, Name: name, Label: label, Table: table, Help: help}, f)
		return f
	}
	s.PolicyActions = counters(62, "policy_actions_total", "action", "action",
		"Policy outcomes (a message's recipients that share a treatment), by action.", p.PolicyActions)
	s.PolicyGroups = counters(63, "policy_group_outcomes_total", "group", "group",
		"Policy outcomes, by the policy group that decided.", nil)
	s.QuarantineMessages = gauges(64, "quarantine_messages", "category", "category", "Messages in quarantine, by category.", p.Categories)
	s.QuarantineBytes = gauges(65, "quarantine_bytes", "category", "category", "Bytes in quarantine, by category.", p.Categories)
	s.QuarantineAdded = counters(66, "quarantine_added_total", "category", "category", "Messages put in quarantine, by category.", p.Categories)
	s.QuarantineReleased = counters(67, "quarantine_released_total", "category", "category", "Quarantined messages released for delivery, by category.", p.Categories)
	s.QuarantineExpired = counters(68, "quarantine_expired_total", "category", "category", "Quarantined messages removed by retention, by category.", p.Categories)
	s.ArchiveMessages = gauges(69, "archive_messages", "archive", "archive", "Messages in an archive (received, sent).", p.Archives)
	s.ArchiveBytes = gauges(70, "archive_bytes", "archive", "archive", "Bytes in an archive (received, sent).", p.Archives)
	s.ArchiveExpired = counters(71, "archive_expired_total", "archive", "archive", "Archived messages removed by retention.", p.Archives)
	s.NotificationsSent = counters(72, "notifications_sent_total", "kind", "notifyKind",
		"Notifications queued, by who they are for (sender, recipients, admin).", p.Notifications)
	s.NotificationsSuppressed = counters(73, "notifications_suppressed_total", "reason", "suppressReason",
		"Notifications not sent, by reason (null_sender, auto_submitted, rate_limited; spool_error when it could not be queued).", p.SuppressReasons)
	s.StoreWriteFailures = counters(74, "store_write_failures_total", "store", "store",
		"Messages that could not be written to the quarantine or an archive.", p.Stores)
	s.ResolverQueries = counters(75, "resolver_queries_total", "result", "dnsResult",
		"DNS queries the checks' resolver sent, by result (answer, nxdomain, nodata, servfail, refused, timeout, error).", p.DNSResults)
	s.ResolverCacheHits = s.counter(Desc{Arc: 76, Name: "resolver_cache_hits_total", Help: "DNS answers the checks' resolver served from its cache."})
	s.AntispamMessages = counters(77, "antispam_messages_total", "status", "antispamStatus",
		"Messages the anti-spam stage classified, by status.", p.AntispamStatuses)
	s.AntispamCheckHits = counters(78, "antispam_check_hits_total", "check", "check",
		"Anti-spam checks that fired (added to a message's score), by check.", nil)
	s.AntispamCheckErrs = counters(79, "antispam_check_errors_total", "check", "check",
		"Anti-spam checks that could not decide (DNS failure, malformed input), by group of checks or DNS list check.", nil)
	s.AntispamCheckTime = newFamily(func() *Histogram { return newHistogram(LatencyBounds()) }, nil)
	s.histogramFamily(Desc{Arc: 80, SumArc: 180, Name: "antispam_check_duration_seconds", Label: "check", Table: "check",
		Help: "Time an anti-spam check took per message: per group of checks (FORMAL, RDNS, SPF, DKIM, DMARC, BAYES, FUZZY) and per DNS list check."}, s.AntispamCheckTime)
	s.DNSListQueries = counters(81, "dnslist_queries_total", "zone", "dnsZone", "DNS list lookups, by zone.", nil)
	s.DNSListHits = counters(82, "dnslist_hits_total", "zone", "dnsZone", "DNS list lookups that found the address or domain listed, by zone.", nil)
	s.DNSListTimeouts = counters(83, "dnslist_timeouts_total", "zone", "dnsZone", "DNS list lookups that got no answer in time, by zone.", nil)
	s.DNSListUp = gauges(84, "dnslist_up", "zone", "dnsZone", "1 while a DNS list zone answers, 0 after it stopped answering.", nil)
	s.ObjectsScanned = counters(85, "av_objects_total", "status", "avStatus",
		"Message objects (bodies, attachments, archive members) the anti-virus stage judged, by status.", p.ObjectStatuses)
	s.ObjectsFlagged = counters(86, "objects_flagged_total", "status", "avStatus",
		"Objects a scan stage flagged, by status (infected, suspicious, protected, corrupted, error, banned).", p.ObjectStatuses)
	s.AVScans = counters(87, "av_scans_total", "scanner", "scanner", "Objects an anti-virus scanner scanned, by scanner.", nil)
	s.AVScanErrors = counters(88, "av_scan_errors_total", "scanner", "scanner", "Scans a scanner could not finish (daemon down, timeout, too large), by scanner.", nil)
	s.AVScanTime = newFamily(func() *Histogram { return newHistogram(LatencyBounds()) }, nil)
	s.histogramFamily(Desc{Arc: 89, SumArc: 189, Name: "av_scan_duration_seconds", Label: "scanner", Table: "scanner",
		Help: "Time a scanner took per object."}, s.AVScanTime)
	s.AVScannerUp = gauges(91, "av_scanner_up", "scanner", "scanner", "1 while an anti-virus scanner scans, 0 after a scan failed until one succeeds.", nil)
	s.AVThreats = newTopCounters(ThreatTableSize)
	s.figures = append(s.figures, figure{desc: Desc{Arc: 92, Name: "av_threat_detections_total", Kind: KindCounter, Label: "threat",
		Table: "threat", MIBOnly: true, Help: fmt.Sprintf("Objects found infected, by threat name: the %d most frequent since start (MIB and /stats only, never a Prometheus label).", ThreatTableSize)},
		family: s.AVThreats.members})
	s.scalar(Desc{Arc: 93, Name: "av_threats_forgotten_total", Kind: KindCounter,
		Help: "Threat names dropped from the per-threat table to keep it at its size (the least counted goes)."}, s.AVThreats.Evicted)
	s.AVSignatures = gauges(94, "av_signatures", "scanner", "scanner", "Signatures in a scanner's database (builtin: hash signatures; clamd: not reported, 0).", nil)
	s.AVDBReleased = gauges(95, "av_db_released_timestamp_seconds", "scanner", "scanner",
		"When a scanner's database was released, Unix seconds (builtin: newest signature file; clamd: its daily database's build time).", nil)
	s.AVDBAge = gauges(96, "av_db_age_seconds", "scanner", "scanner", "Age of a scanner's database when last checked, seconds.", nil)
	s.AVDBState = gauges(97, "av_db_state", "scanner", "scanner", "Freshness of a scanner's database: 0 current, 1 outdated, 2 obsolete.", nil)
	s.AVDBVersion = gauges(98, "av_db_version", "scanner", "scanner",
		"Version of a scanner's database (clamd: its daily database's number; builtin: the first 32 bits of the signature set's digest).", nil)
	s.AVUpdates = counters(99, "av_updates_total", "result", "updateResult",
		"Signature updates, by result (updated, not_needed, error).", p.UpdateResults)
	s.AVLastHour = s.gauge(Desc{Arc: 100, Name: "av_detections_last_hour", Help: "Infected objects found in the last hour (the outbreak alarm's figure)."})
	s.AVOutbreak = s.gauge(Desc{Arc: 101, Name: "av_outbreak", Help: "1 while the virus outbreak alarm is raised, else 0."})
	s.QueueOldestAge = s.gauge(Desc{Arc: 102, Name: "queue_oldest_age_seconds",
		Help: "Age of the oldest message in the queue, seconds (0 when it is empty), as of the last check (alerts.interval)."})
	s.SpoolFree = s.gauge(Desc{Arc: 103, Name: "spool_free_bytes",
		Help: "Space the gateway can still use on the spool's file system, bytes, as of the last check (alerts.interval)."})
	s.SpoolSize = s.gauge(Desc{Arc: 104, Name: "spool_filesystem_bytes", Help: "Size of the spool's file system, bytes."})
	s.ModeSessions = counters(105, "mode_sessions_total", "mode", "mode",
		"Sessions by how mail reaches the gateway: smtp (clients of the receiver), milter (MTA connections), cgp (CommuniGate Pro helper runs).", p.Modes)
	s.ModeMessages = counters(106, "mode_messages_total", "mode", "mode",
		"Messages judged, by mode (smtp: accepted with 250; milter and cgp: every message an MTA handed over).", p.Modes)
	s.ModeRefused = counters(107, "mode_refused_total", "mode", "mode",
		"Refusals by mode (smtp: any 4xx/5xx to a sender, recipient or message; milter and cgp: messages the MTA was told to reject or defer).", p.Modes)
	s.ModeErrors = counters(108, "mode_errors_total", "mode", "mode",
		"Milter and CommuniGate Pro helper requests that could not be judged (protocol errors, unreadable files, scan failures), by mode.", p.Modes)
	s.FilterHits = counters(90, "contentfilter_hits_total", "rule", "filterRule", "Attachment rules that matched an object, by rule.", nil)
	return s
}

func (s *Stats) scalar(d Desc, read func() uint64) {
	s.figures = append(s.figures, figure{desc: d, scalar: read})
}

func (s *Stats) counter(d Desc) *Counter {
	c := new(Counter)
	d.Kind = KindCounter
	s.scalar(d, c.Load)
	return c
}

func (s *Stats) gauge(d Desc) *Gauge {
	g := new(Gauge)
	d.Kind = KindGauge
	s.scalar(d, func() uint64 { return clamp(g.Load()) })
	return g
}

func (s *Stats) highWater(d Desc) *HighWater {
	h := new(HighWater)
	d.Kind = KindGauge
	s.scalar(d, func() uint64 { return clamp(h.Load()) })
	return h
}

func (s *Stats) counterFamily(d Desc, f *CounterFamily) {
	d.Kind = KindCounter
	registerFamily(s, d, f, (*Counter).Load)
}

func (s *Stats) gaugeFamily(d Desc, f *GaugeFamily) {
	d.Kind = KindGauge
	registerFamily(s, d, f, func(g *Gauge) uint64 { return clamp(g.Load()) })
}

// registerFamily adds a family whose members read as numbers through read.
func registerFamily[T any](s *Stats, d Desc, f *Family[T], read func(*T) uint64) {
	s.figures = append(s.figures, figure{desc: d, family: func() []LabelValue {
		labels := f.Labels()
		out := make([]LabelValue, len(labels))
		for i, l := range labels {
			out[i] = LabelValue{l, read(f.With(l))}
		}
		return out
	}, touch: func(l string) { f.With(l) }})
}

func (s *Stats) histogram(d Desc, h *Histogram) {
	d.Kind = KindHistogram
	s.figures = append(s.figures, figure{desc: d, hist: func() []LabelHistogram {
		return []LabelHistogram{{Value: h.Load()}}
	}})
}

func (s *Stats) histogramFamily(d Desc, f *HistogramFamily) {
	d.Kind = KindHistogram
	s.figures = append(s.figures, figure{desc: d, hist: func() []LabelHistogram {
		labels := f.Labels()
		out := make([]LabelHistogram, len(labels))
		for i, l := range labels {
			out[i] = LabelHistogram{l, f.With(l).Load()}
		}
		return out
	}, touch: func(l string) { f.With(l) }})
}

func clamp(v int64) uint64 {
	if v < 0 {
		return 0
	}
	return uint64(v)
}

// SetInfo records what the gateway is; exporters show it beside the figures.
func (s *Stats) SetInfo(version, hostname string) {
	s.info.mu.Lock()
	defer s.info.mu.Unlock()
	s.info.version, s.info.hostname = version, hostname
}

// Info returns the version and host name given to SetInfo.
func (s *Stats) Info() (version, hostname string) {
	s.info.mu.RLock()
	defer s.info.mu.RUnlock()
	return s.info.version, s.info.hostname
}

// SetConfig records the hash of the configuration in force and when it was
// loaded.
func (s *Stats) SetConfig(hash string, loaded time.Time) {
	s.info.mu.Lock()
	defer s.info.mu.Unlock()
	s.info.configHash, s.info.configLoaded = hash, loaded
}

// Config returns the configuration hash and load time.
func (s *Stats) Config() (hash string, loaded time.Time) {
	s.info.mu.RLock()
	defer s.info.mu.RUnlock()
	return s.info.configHash, s.info.configLoaded
}

// Started is when the registry was created, i.e. when the gateway started.
func (s *Stats) Started() time.Time { return s.info.started }
