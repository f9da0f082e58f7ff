package telemetry

import (
	"fmt"
	"math"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gatewatch/gatewatch/telemetry/stats"
)

var eventNameRE = regexp.MustCompile(`^[a-z]+\.[a-z_]+$`)

func TestCatalogEntries(t *testing.T) {
	types := Types()
	if want := int(typeEnd) - 1; len(types) != want {
		t.Fatalf("Types() has %d entries, want %d (every type from 1 to typeEnd-1)", len(types), want)
	}
	names := map[string]Type{}
	cefNames := map[string]Type{}
	sigs := map[int]Type{}
	for i, ty := range types {
		if ty != Type(i+1) {
			t.Errorf("Types()[%d] = %d, want catalog order %d", i, ty, i+1)
		}
		if !ty.Valid() {
			t.Errorf("type %d: not Valid", ty)
		}
		sp := ty.Spec()
		if sp.Name == "" {
			t.Errorf("type %d: empty Name", ty)
		} else if !eventNameRE.MatchString(sp.Name) {
			t.Errorf("type %d: Name %q is not a dotted lower-case name", ty, sp.Name)
		}
		if prev, dup := names[sp.Name]; dup {
			t.Errorf("types %d and %d share Name %q", prev, ty, sp.Name)
		}
		names[sp.Name] = ty
		if sp.CEFName == "" {
			t.Errorf("type %d (%s): empty CEFName", ty, sp.Name)
		}
		// CEF header fields would need escaping for these; keep them out.
		if strings.ContainsAny(sp.CEFName, "|\\\r\n") {
			t.Errorf("type %d (%s): CEFName %q contains a CEF header metacharacter", ty, sp.Name, sp.CEFName)
		}
		if prev, dup := cefNames[sp.CEFName]; dup {
			t.Errorf("types %d and %d share CEFName %q", prev, ty, sp.CEFName)
		}
		cefNames[sp.CEFName] = ty
		if sp.Severity < 0 || sp.Severity > 10 {
			t.Errorf("type %d (%s): Severity %d outside 0..10", ty, sp.Name, sp.Severity)
		}
		if sp.Level > LevelError {
			t.Errorf("type %d (%s): Level %d is not a known level", ty, sp.Name, sp.Level)
		}
		if sp.Trap && sp.Level < LevelInfo {
			t.Errorf("type %d (%s): a trap at debug level would be sent but never logged", ty, sp.Name)
		}
		if sp.Description == "" {
			t.Errorf("type %d (%s): empty Description", ty, sp.Name)
		}
		sig := ty.SignatureID()
		if prev, dup := sigs[sig]; dup {
			t.Errorf("types %d and %d share SignatureID %d", prev, ty, sig)
		}
		sigs[sig] = ty
		if got := ty.String(); got != sp.Name {
			t.Errorf("type %d: String() = %q, want %q", ty, got, sp.Name)
		}
	}
}

func TestCatalogInvalidTypes(t *testing.T) {
	for _, ty := range []Type{0, typeEnd, typeEnd + 1, math.MaxUint16} {
		if ty.Valid() {
			t.Errorf("Type(%d).Valid() = true", ty)
		}
		sp := ty.Spec() // must not panic
		if sp.Name != "unknown" || ty.String() != "unknown" {
			t.Errorf("Type(%d): Spec().Name = %q, String() = %q, want unknown", ty, sp.Name, ty.String())
		}
		if sp.apply != nil {
			t.Errorf("Type(%d): unknown spec moves figures", ty)
		}
	}
	// Emitting an unknown type must neither panic nor touch a known series.
	bus, st := newTestBus()
	bus.Emit(Event{})
	if got := st.Events.With("unknown").Load(); got != 1 {
		t.Errorf("events_total{event=unknown} = %d after emitting Type(0), want 1", got)
	}
	if got := stats.SumCounters(st.Events); got != 1 {
		t.Errorf("sum of events_total = %d after one event, want 1", got)
	}
}

// TestEveryTypeReachesStats is the "every catalog entry reaches the stats
// channel" check: one event of each type counts exactly once under its own
// name and nowhere else in events_total.
func TestEveryTypeReachesStats(t *testing.T) {
	for _, ty := range Types() {
		name := ty.Spec().Name
		t.Run(name, func(t *testing.T) {
			bus, st := newTestBus()
			if _, ok := st.Snapshot().Lookup("events_total", name); !ok {
				t.Fatalf("events_total{event=%q} is not preset by NewStats", name)
			}
			bus.Emit(Event{Type: ty, Route: "r1", Stage: "s1", Reason: ReasonTimeout, Recipients: 1, Duration: time.Millisecond})
			snap := st.Snapshot()
			if got, _ := snap.Lookup("events_total", name); got != 1 {
				t.Errorf("events_total{event=%q} = %d, want 1", name, got)
			}
			if got := stats.SumCounters(st.Events); got != 1 {
				t.Errorf("sum of events_total = %d, want 1", got)
			}
		})
	}
}

// figures flattens a snapshot into comparable numbers: samples as
// name or name{label}, histograms as name_count{label} and name_sum{label}.
func figures(snap stats.Snapshot) map[string]float64 {
	out := map[string]float64{}
	for _, s := range snap.Samples {
		out[key(s.Desc.Name, s.Label)] = float64(s.Value)
	}
	for _, h := range snap.Histograms {
		out[key(h.Desc.Name+"_count", h.Label)] = float64(h.Value.Count)
		out[key(h.Desc.Name+"_sum", h.Label)] = h.Value.Sum
	}
	return out
}

func key(name, label string) string {
	if label == "" {
		return name
	}
	return name + "{" + label + "}"
}

// diff is after minus before for every figure that moved.
func diff(before, after map[string]float64) map[string]float64 {
	out := map[string]float64{}
	for k, a := range after {
		if d := a - before[k]; d != 0 {
			out[k] = d
		}
	}
	for k, b := range before {
		if _, ok := after[k]; !ok {
			out[k+" (vanished)"] = -b
		}
	}
	delete(out, "uptime_seconds") // ticks on its own
	return out
}

// TestApply checks what each event type does to the figures: exactly the
// listed changes and nothing else (besides its events_total).
func TestApply(t *testing.T) {
	const route = "smarthost"
	cases := []struct {
		name    string
		setup   []Event
		ev      Event
		want    map[string]float64
		present []string // series that must exist afterwards (they may stay 0)
	}{
		{name: "gateway started", ev: Event{Type: GatewayStarted}},
		{name: "gateway stopping", ev: Event{Type: GatewayStopping}},
		{name: "config reloaded", ev: Event{Type: ConfigReloaded},
			want: map[string]float64{"config_reloads_total{success}": 1}},
		{name: "config reload failed", ev: Event{Type: ConfigReloadFailed, Err: "bad yaml"},
			want: map[string]float64{"config_reloads_total{failure}": 1}},
		{name: "session opened raises the high water", ev: Event{Type: SessionOpened},
			want: map[string]float64{"incoming_connections_total": 1, "incoming_connections": 1, "incoming_connections_max": 1, "mode_sessions_total{smtp}": 1}},
		{name: "session opened below the high water",
			setup: []Event{{Type: SessionOpened}, {Type: SessionOpened}, {Type: SessionClosed, Duration: time.Second}},
			ev:    Event{Type: SessionOpened},
			want:  map[string]float64{"incoming_connections_total": 1, "incoming_connections": 1, "mode_sessions_total{smtp}": 1}},
		{name: "session closed cleanly", setup: []Event{{Type: SessionOpened}},
			ev: Event{Type: SessionClosed, Duration: 2500 * time.Millisecond},
			want: map[string]float64{"incoming_connections": -1,
				"smtp_session_duration_seconds_count": 1, "smtp_session_duration_seconds_sum": 2.5}},
		{name: "session closed on error", setup: []Event{{Type: SessionOpened}},
			ev: Event{Type: SessionClosed, Duration: 30 * time.Second, Err: "i/o timeout"},
			want: map[string]float64{"incoming_connections": -1, "incoming_connection_errors_total": 1,
				"smtp_session_duration_seconds_count": 1, "smtp_session_duration_seconds_sum": 30}},
		{name: "session refused", ev: Event{Type: SessionRefused, Reason: ReasonConnectionLimit},
			want: map[string]float64{"refused_total{connection_limit}": 1}},
		{name: "message refused", ev: Event{Type: MessageRefused, Reason: ReasonRelayDenied},
			want: map[string]float64{"refused_total{relay_denied}": 1, "mode_refused_total{smtp}": 1}},
		{name: "message refused malformed", ev: Event{Type: MessageRefused, Reason: ReasonMalformed},
			want: map[string]float64{"refused_total{malformed}": 1, "malformed_messages_total": 1, "mode_refused_total{smtp}": 1}},
		{name: "message accepted", ev: Event{Type: MessageAccepted, Size: 1234, Recipients: 3},
			want: map[string]float64{"received_messages_total": 1, "received_bytes_total": 1234, "received_recipients_total": 3, "mode_messages_total{smtp}": 1}},
		{name: "message queued", ev: Event{Type: MessageQueued, Duration: 3 * time.Millisecond},
			want: map[string]float64{"spool_write_duration_seconds_count": 1, "spool_write_duration_seconds_sum": 0.003}},
		{name: "scan stage", ev: Event{Type: ScanStageDone, Stage: "clamav", Duration: 40 * time.Millisecond},
			want: map[string]float64{"scan_stage_duration_seconds_count{clamav}": 1, "scan_stage_duration_seconds_sum{clamav}": 0.04}},
		{name: "delivery sent", ev: Event{Type: DeliverySent, Route: route, Size: 2048, Recipients: 2, Duration: 1500 * time.Millisecond},
			want: map[string]float64{"sent_messages_total": 1, "sent_bytes_total": 2048, "sent_recipients_total": 2,
				"route_delivered_messages_total{smarthost}": 1, "route_delivered_bytes_total{smarthost}": 2048,
				"route_delivered_recipients_total{smarthost}": 2,
				"route_attempts_total{smarthost}":             1,
				"delivery_duration_seconds_count{smarthost}":  1, "delivery_duration_seconds_sum{smarthost}": 1.5}},
		{name: "delivery deferred without a transaction", ev: Event{Type: DeliveryDeferred, Route: route, Recipients: 2},
			want: map[string]float64{"deferred_recipients_total": 2, "route_deferred_recipients_total{smarthost}": 2}},
		{name: "delivery deferred after a transaction", ev: Event{Type: DeliveryDeferred, Route: route, Recipients: 2, Duration: 2 * time.Second},
			want: map[string]float64{"deferred_recipients_total": 2, "route_deferred_recipients_total{smarthost}": 2,
				"route_attempts_total{smarthost}":            1,
				"delivery_duration_seconds_count{smarthost}": 1, "delivery_duration_seconds_sum{smarthost}": 2}},
		{name: "delivery bounced by the next hop", ev: Event{Type: DeliveryBounced, Route: route, Recipients: 1, Reason: ReasonRejected, Duration: time.Second},
			want: map[string]float64{"bounced_recipients_total": 1, "route_bounced_recipients_total{smarthost}": 1,
				"send_failures_total{rejected}": 1, "route_attempts_total{smarthost}": 1,
				"delivery_duration_seconds_count{smarthost}": 1, "delivery_duration_seconds_sum{smarthost}": 1}},
		{name: "delivery bounced on expiry", ev: Event{Type: DeliveryBounced, Route: route, Recipients: 3, Reason: ReasonExpired},
			want: map[string]float64{"bounced_recipients_total": 3, "route_bounced_recipients_total{smarthost}": 3,
				"send_failures_total{expired}": 1}},
		{name: "dsn generated", ev: Event{Type: DSNGenerated},
			want: map[string]float64{"dsn_generated_total": 1}},
		{name: "queue size high", ev: Event{Type: QueueSizeHigh, Count: 5000, Threshold: 1000}},
		{name: "queue size normal", ev: Event{Type: QueueSizeNormal, Count: 10, Threshold: 1000}},
		{name: "queue age high", ev: Event{Type: QueueAgeHigh, Count: 7200, Threshold: 3600}},
		{name: "queue age normal", ev: Event{Type: QueueAgeNormal}},
		{name: "bounce rate high", ev: Event{Type: BounceRateHigh, Count: 40, Threshold: 20}},
		{name: "bounce rate normal", ev: Event{Type: BounceRateNormal}},
		{name: "disk space low", ev: Event{Type: DiskSpaceLow, Count: 100, Threshold: 1024}},
		{name: "disk space normal", ev: Event{Type: DiskSpaceNormal}},
		{name: "channel disconnected", setup: []Event{{Type: ChannelConnected, Channel: "agentx"}},
			ev: Event{Type: ChannelDisconnected, Channel: "agentx"}, want: map[string]float64{"channel_up{agentx}": -1}},
		{name: "channel connected", ev: Event{Type: ChannelConnected, Channel: "agentx"},
			want: map[string]float64{"channel_up{agentx}": 1}},
		{name: "route unreachable after up", setup: []Event{{Type: RouteRecovered, Route: route}},
			ev: Event{Type: RouteUnreachable, Route: route}, want: map[string]float64{"route_up{smarthost}": -1}},
		{name: "route unreachable first seen", ev: Event{Type: RouteUnreachable, Route: route},
			present: []string{"route_up{smarthost}"}},
		{name: "route recovered", setup: []Event{{Type: RouteUnreachable, Route: route}},
			ev: Event{Type: RouteRecovered, Route: route}, want: map[string]float64{"route_up{smarthost}": 1}},
		{name: "spool corrupt", ev: Event{Type: SpoolCorrupt}, want: map[string]float64{"spool_corrupt_files_total": 1}},
		{name: "queue admin", ev: Event{Type: QueueAdmin, Count: 5, Text: "hold"}},
		// The drop count is counted when the drop happens, not again when
		// the announcement passes the bus.
		{name: "channel dropping", ev: Event{Type: ChannelDropping, Channel: "log", Count: 7}},
		{name: "message completed", ev: Event{Type: MessageCompleted, Outcome: OutcomePartial, Recipients: 2},
			want: map[string]float64{"messages_completed_total{partial}": 1}},
		{name: "policy applied", ev: Event{Type: PolicyApplied, Action: "quarantine", Group: "vip"},
			want: map[string]float64{"policy_actions_total{quarantine}": 1, "policy_group_outcomes_total{vip}": 1}},
		{name: "quarantine added", ev: Event{Type: QuarantineAdded, Category: "spam", Size: 500},
			want: map[string]float64{"quarantine_added_total{spam}": 1, "quarantine_messages{spam}": 1, "quarantine_bytes{spam}": 500}},
		{name: "quarantine released", setup: []Event{{Type: QuarantineAdded, Category: "virus", Size: 700}},
			ev:   Event{Type: QuarantineReleased, Category: "virus", Size: 700},
			want: map[string]float64{"quarantine_released_total{virus}": 1, "quarantine_messages{virus}": -1, "quarantine_bytes{virus}": -700}},
		{name: "quarantine deleted", setup: []Event{{Type: QuarantineAdded, Category: "policy", Size: 10}},
			ev:   Event{Type: QuarantineDeleted, Category: "policy", Size: 10},
			want: map[string]float64{"quarantine_messages{policy}": -1, "quarantine_bytes{policy}": -10}},
		{name: "quarantine expired", setup: []Event{{Type: QuarantineAdded, Category: "spam", Size: 10}, {Type: QuarantineAdded, Category: "spam", Size: 20}},
			ev:   Event{Type: QuarantineExpired, Category: "spam", Count: 2, Size: 30},
			want: map[string]float64{"quarantine_expired_total{spam}": 2, "quarantine_messages{spam}": -2, "quarantine_bytes{spam}": -30}},
		{name: "archive added", ev: Event{Type: ArchiveAdded, Category: "received", Size: 99},
			want: map[string]float64{"archive_messages{received}": 1, "archive_bytes{received}": 99}},
		{name: "archive expired", setup: []Event{{Type: ArchiveAdded, Category: "sent", Size: 99}},
			ev:   Event{Type: ArchiveExpired, Category: "sent", Count: 1, Size: 99},
			want: map[string]float64{"archive_expired_total{sent}": 1, "archive_messages{sent}": -1, "archive_bytes{sent}": -99}},
		{name: "notification sent", ev: Event{Type: NotificationSent, Category: "admin"},
			want: map[string]float64{"notifications_sent_total{admin}": 1}},
		{name: "notification suppressed", ev: Event{Type: NotificationSuppressed, Reason: "rate_limited"},
			want: map[string]float64{"notifications_suppressed_total{rate_limited}": 1}},
		{name: "store full", ev: Event{Type: StoreFull, Category: "quarantine", Count: 1100, Threshold: 1024}},
		{name: "store write failed", ev: Event{Type: StoreWriteFailed, Category: "archive"},
			want: map[string]float64{"store_write_failures_total{archive}": 1}},
		{name: "antispam verdict", ev: Event{Type: AntispamVerdict, Reason: "probable_spam"},
			want: map[string]float64{"antispam_messages_total{probable_spam}": 1}},
		{name: "dns list down", setup: []Event{{Type: DNSListUp, Category: "zen"}}, ev: Event{Type: DNSListDown, Category: "zen", Count: 5},
			want: map[string]float64{"dnslist_up{zen}": -1}},
		{name: "dns list up", ev: Event{Type: DNSListUp, Category: "zen"},
			want: map[string]float64{"dnslist_up{zen}": 1}},
		{name: "scanner down", setup: []Event{{Type: ScannerUp, Category: "clamd"}}, ev: Event{Type: ScannerDown, Category: "clamd"},
			want: map[string]float64{"av_scanner_up{clamd}": -1}},
		{name: "scanner up", ev: Event{Type: ScannerUp, Category: "clamd"},
			want: map[string]float64{"av_scanner_up{clamd}": 1}},
		{name: "object flagged", ev: Event{Type: ObjectFlagged, Category: "infected", Stage: "antivirus", Threat: "Eicar-Test-Signature"},
			want: map[string]float64{"objects_flagged_total{infected}": 1, "av_threat_detections_total{Eicar-Test-Signature}": 1}},
		{name: "object banned", ev: Event{Type: ObjectFlagged, Category: "banned", Stage: "contentfilter", Threat: "executables"},
			want: map[string]float64{"objects_flagged_total{banned}": 1}},
		{name: "database loaded", ev: Event{Type: DBLoaded, Category: "builtin", Count: 42},
			want: map[string]float64{"av_signatures{builtin}": 42}},
		{name: "update done", ev: Event{Type: UpdateDone, Category: "builtin", Reason: "not_needed"},
			want: map[string]float64{"av_updates_total{not_needed}": 1}},
		{name: "update failed", ev: Event{Type: UpdateFailed, Category: "builtin", Err: "no index"},
			want: map[string]float64{"av_updates_total{error}": 1}},
		{name: "database outdated", ev: Event{Type: DBOutdated, Category: "builtin", Count: 90000, Threshold: 86400},
			want: map[string]float64{"av_db_state{builtin}": 1}},
		{name: "database obsolete", ev: Event{Type: DBObsolete, Category: "builtin", Count: 500000, Threshold: 432000},
			want: map[string]float64{"av_db_state{builtin}": 2}},
		{name: "database current", setup: []Event{{Type: DBObsolete, Category: "clamd"}}, ev: Event{Type: DBCurrent, Category: "clamd"},
			want: map[string]float64{"av_db_state{clamd}": -2}},
		{name: "outbreak", ev: Event{Type: Outbreak, Count: 120, Threshold: 100},
			want: map[string]float64{"av_outbreak": 1}},
		{name: "milter session", ev: Event{Type: IntegrationSession, Mode: "milter"},
			want: map[string]float64{"mode_sessions_total{milter}": 1}},
		{name: "milter verdict accepted", ev: Event{Type: IntegrationVerdict, Mode: "milter", Action: "accept"},
			want: map[string]float64{"mode_messages_total{milter}": 1}},
		{name: "cgp verdict refused", ev: Event{Type: IntegrationVerdict, Mode: "cgp", Action: "reject"},
			want: map[string]float64{"mode_messages_total{cgp}": 1, "mode_refused_total{cgp}": 1}},
		{name: "integration error", ev: Event{Type: IntegrationError, Mode: "cgp", Err: "no such file"},
			want: map[string]float64{"mode_errors_total{cgp}": 1}},
		{name: "outbreak over", setup: []Event{{Type: Outbreak}}, ev: Event{Type: OutbreakOver, Count: 3, Threshold: 100},
			want: map[string]float64{"av_outbreak": -1}},
	}
	covered := map[Type]bool{}
	for _, tc := range cases {
		covered[tc.ev.Type] = true
		t.Run(tc.name, func(t *testing.T) {
			bus, st := newTestBus("log")
			for _, ev := range tc.setup {
				bus.Emit(ev)
			}
			before := figures(st.Snapshot())
			bus.Emit(tc.ev)
			after := figures(st.Snapshot())

			want := map[string]float64{key("events_total", tc.ev.Type.Spec().Name): 1}
			for k, v := range tc.want {
				want[k] = v
			}
			got := diff(before, after)
			for k, w := range want {
				if g, ok := got[k]; !ok || math.Abs(g-w) > 1e-9 {
					t.Errorf("%s changed by %v, want %v", k, g, w)
				}
			}
			var extra []string
			for k, g := range got {
				if _, ok := want[k]; !ok {
					extra = append(extra, fmt.Sprintf("%s by %v", k, g))
				}
			}
			sort.Strings(extra)
			for _, e := range extra {
				t.Errorf("unexpected change: %s", e)
			}
			for _, k := range tc.present {
				if _, ok := after[k]; !ok {
					t.Errorf("%s is missing from the snapshot", k)
				}
			}
		})
	}
	for _, ty := range Types() {
		if !covered[ty] {
			t.Errorf("TestApply has no case for %s: add one for every new catalog entry", ty)
		}
	}
}

// TestApplyHistogramBuckets checks that events land in the right latency
// bucket, not only in the count.
func TestApplyHistogramBuckets(t *testing.T) {
	bus, st := newTestBus()
	bus.Emit(Event{Type: DeliverySent, Route: "r", Duration: 7 * time.Millisecond}) // le=0.01
	bus.Emit(Event{Type: DeliverySent, Route: "r", Duration: time.Hour})            // +Inf
	v := st.DeliveryDuration.With("r").Load()
	if v.Count != 2 {
		t.Fatalf("count = %d, want 2", v.Count)
	}
	for i, b := range v.Bounds {
		want := uint64(0)
		if b >= 0.01 {
			want = 1
		}
		if v.Cumulative[i] != want {
			t.Errorf("le=%g: cumulative %d, want %d", b, v.Cumulative[i], want)
		}
	}
}

func TestNewStatsPresets(t *testing.T) {
	st := NewStats("log", "cef")
	snap := st.Snapshot()
	want := map[string][]string{
		"refused_total":        RefusalReasons(),
		"send_failures_total":  SendFailureReasons(),
		"queue_messages":       {"incoming", "active", "deferred", "hold"},
		"events_dropped_total": {"log", "cef"},
		"config_reloads_total": {"success", "failure"},
	}
	for _, ty := range Types() {
		want["events_total"] = append(want["events_total"], ty.Spec().Name)
	}
	for name, labels := range want {
		for _, l := range labels {
			if v, ok := snap.Lookup(name, l); !ok || v != 0 {
				t.Errorf("%s{%q} = %d, present %v; want preset at 0", name, l, v, ok)
			}
		}
	}
	seen := map[string]bool{}
	for _, r := range append(RefusalReasons(), SendFailureReasons()...) {
		if r == "" {
			t.Errorf("empty reason in a preset list")
		}
		seen[r] = true
	}
	// ReasonMessageSize is in both lists on purpose; everything else once.
	if len(seen) != len(RefusalReasons())+len(SendFailureReasons())-1 {
		t.Errorf("reason lists overlap beyond message_size_limit: %v %v", RefusalReasons(), SendFailureReasons())
	}
}
