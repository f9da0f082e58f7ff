package stats

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

func testPresets() Presets {
	return Presets{
		RefusalReasons:     []string{"relay_denied", "timeout"},
		SendFailureReasons: []string{"rejected", "expired"},
		QueueStates:        []string{"incoming", "active", "deferred", "hold"},
		Channels:           []string{"log", "cef"},
		EventTypes:         []string{"session.opened", "message.accepted"},
		ReloadResults:      []string{"success", "failure"},
	}
}

var metricNameRE = regexp.MustCompile(`^[a-z][a-z0-9_]*[a-z0-9]$`)

// legacyEachExceptions are LegacyEach patterns known not to follow the
// mta_/time_ naming of the replaced product. Each must still exist (a stale
// entry fails), so the list cannot silently outlive the figure.
var legacyEachExceptions = map[string]bool{}

func TestRegistryDescs(t *testing.T) {
	st := New(testPresets())
	descs := st.Descs()
	if len(descs) == 0 {
		t.Fatal("no figures registered")
	}
	names := map[string]bool{}
	arcs := map[uint32]string{}
	legacy := map[string]string{}
	usedExceptions := map[string]bool{}
	for _, d := range descs {
		if !metricNameRE.MatchString(d.Name) {
			t.Errorf("%q is not a valid metric name", d.Name)
		}
		if names[d.Name] {
			t.Errorf("name %q registered twice", d.Name)
		}
		names[d.Name] = true
		if d.Arc == 0 {
			t.Errorf("%s: Arc 0", d.Name)
		}
		if prev, dup := arcs[d.Arc]; dup {
			t.Errorf("%s and %s share Arc %d", prev, d.Name, d.Arc)
		}
		arcs[d.Arc] = d.Name
		if strings.TrimSpace(d.Help) == "" {
			t.Errorf("%s: no Help", d.Name)
		}
		switch d.Kind {
		case KindCounter:
			if !strings.HasSuffix(d.Name, "_total") {
				t.Errorf("counter %s does not end in _total", d.Name)
			}
		case KindGauge:
			if strings.HasSuffix(d.Name, "_total") {
				t.Errorf("gauge %s ends in _total", d.Name)
			}
		case KindHistogram:
			if strings.HasSuffix(d.Name, "_total") || !strings.HasSuffix(d.Name, "_seconds") {
				t.Errorf("histogram %s must end in _seconds (and not _total)", d.Name)
			}
		default:
			t.Errorf("%s: Kind %d not set", d.Name, d.Kind)
		}
		for _, suffix := range []string{"_count", "_sum", "_bucket"} {
			if strings.HasSuffix(d.Name, suffix) {
				t.Errorf("%s ends in %s, which clashes with histogram series", d.Name, suffix)
			}
		}
		if d.Label != "" && !metricNameRE.MatchString(d.Label) {
			t.Errorf("%s: label name %q invalid", d.Name, d.Label)
		}
		if d.Legacy != "" {
			if !strings.HasPrefix(d.Legacy, "mta_") && !strings.HasPrefix(d.Legacy, "time_") {
				t.Errorf("%s: Legacy %q starts with neither mta_ nor time_", d.Name, d.Legacy)
			}
			if prev, dup := legacy[d.Legacy]; dup {
				t.Errorf("%s and %s share Legacy %q", prev, d.Name, d.Legacy)
			}
			legacy[d.Legacy] = d.Name
		}
		if d.LegacyEach != "" {
			if d.Label == "" {
				t.Errorf("%s: LegacyEach on a scalar", d.Name)
			}
			if strings.Count(d.LegacyEach, "%") != 1 || !strings.Contains(d.LegacyEach, "%s") {
				t.Errorf("%s: LegacyEach %q must have exactly one %%s", d.Name, d.LegacyEach)
			}
			if !strings.HasPrefix(d.LegacyEach, "mta_") && !strings.HasPrefix(d.LegacyEach, "time_") {
				if legacyEachExceptions[d.LegacyEach] {
					usedExceptions[d.LegacyEach] = true
				} else {
					t.Errorf("%s: LegacyEach %q starts with neither mta_ nor time_", d.Name, d.LegacyEach)
				}
			}
		}
		if d.Kind == KindHistogram && (d.Legacy != "" || d.LegacyEach != "") {
			t.Errorf("%s: a histogram has no legacy name in WriteText", d.Name)
		}
	}
	for p := range legacyEachExceptions {
		if !usedExceptions[p] {
			t.Errorf("legacyEachExceptions lists %q, which no figure uses any more: remove it", p)
		}
	}
}

// TestRegistryCoversEveryHandle sets every exported handle of Stats to a
// distinct value and finds each in the snapshot exactly once, so a field
// that was added without registering it (or registered under the wrong
// kind or label) fails here.
func TestRegistryCoversEveryHandle(t *testing.T) {
	st := New(testPresets())
	rv := reflect.ValueOf(st).Elem()
	rt := rv.Type()
	byKind := map[string]Kind{}
	for _, d := range st.Descs() {
		byKind[d.Name] = d.Kind
	}

	type expect struct {
		field string
		label string // "" for a scalar
		value uint64
		hist  bool
	}
	var want []expect
	for i := 0; i < rt.NumField(); i++ {
		f := rt.Field(i)
		if !f.IsExported() {
			continue
		}
		v := uint64(1000 + i)
		probe := "probe_" + strings.ToLower(f.Name)
		switch h := rv.Field(i).Interface().(type) {
		case *Counter:
			h.Add(v)
			want = append(want, expect{f.Name, "", v, false})
		case *Gauge:
			h.Set(int64(v))
			want = append(want, expect{f.Name, "", v, false})
		case *HighWater:
			h.Observe(int64(v))
			want = append(want, expect{f.Name, "", v, false})
		case *Histogram:
			for n := uint64(0); n < v; n++ {
				h.Observe(time.Millisecond)
			}
			want = append(want, expect{f.Name, "", v, true})
		case *CounterFamily:
			h.With(probe).Add(v)
			want = append(want, expect{f.Name, probe, v, false})
		case *GaugeFamily:
			h.With(probe).Set(int64(v))
			want = append(want, expect{f.Name, probe, v, false})
		case *HistogramFamily:
			for n := uint64(0); n < v; n++ {
				h.With(probe).Observe(time.Millisecond)
			}
			want = append(want, expect{f.Name, probe, v, true})
		case *TopCounters:
			for n := uint64(0); n < v; n++ {
				h.Inc(probe)
			}
			want = append(want, expect{f.Name, probe, v, false})
		case *Associations:
			// open connections, a table for the MIB; not a number
		case *TextFamily:
			// Text is for exporters that can show it (the MIB); it is
			// not a number, so it is not in the snapshot.
		default:
			t.Errorf("field %s has type %s, which this test does not know", f.Name, f.Type)
		}
	}
	snap := st.Snapshot()
	for _, w := range want {
		var found []string
		for _, s := range snap.Samples {
			if !w.hist && s.Label == w.label && s.Value == w.value {
				found = append(found, s.Desc.Name)
				if w.label != "" && s.Desc.Label == "" {
					t.Errorf("%s: family member exported under a Desc without Label", w.field)
				}
			}
		}
		for _, h := range snap.Histograms {
			if w.hist && h.Label == w.label && h.Value.Count == w.value {
				found = append(found, h.Desc.Name)
				if w.label != "" && h.Desc.Label == "" {
					t.Errorf("%s: family member exported under a Desc without Label", w.field)
				}
			}
		}
		if len(found) != 1 {
			t.Errorf("field %s (value %d, label %q) appears %d times in the snapshot %v, want once", w.field, w.value, w.label, len(found), found)
		}
	}
	for _, s := range snap.Samples {
		if s.Label == "" && s.Desc.Label != "" {
			t.Errorf("%s: family %s has a member with an empty label", s.Desc.Name, s.Desc.Label)
		}
		if s.Label != "" && s.Desc.Label == "" {
			t.Errorf("%s: scalar sample with label %q", s.Desc.Name, s.Label)
		}
	}
}

func TestSnapshotPresetsAndLookup(t *testing.T) {
	p := testPresets()
	st := New(p)
	snap := st.Snapshot()
	presets := map[string][]string{
		"refused_total":        p.RefusalReasons,
		"send_failures_total":  p.SendFailureReasons,
		"queue_messages":       p.QueueStates,
		"events_dropped_total": p.Channels,
		"events_total":         p.EventTypes,
		"config_reloads_total": p.ReloadResults,
	}
	for name, labels := range presets {
		for _, l := range labels {
			if v, ok := snap.Lookup(name, l); !ok || v != 0 {
				t.Errorf("Lookup(%s, %s) = %d, %v; want preset 0", name, l, v, ok)
			}
		}
	}
	// Every registered scalar is in the snapshot; families without presets
	// (routes, stages) have no members yet.
	scalars := 0
	for _, d := range st.Descs() {
		if d.Label != "" || d.Kind == KindHistogram {
			continue
		}
		scalars++
		if _, ok := snap.Lookup(d.Name, ""); !ok {
			t.Errorf("scalar %s missing from the snapshot", d.Name)
		}
	}
	if scalars < 20 {
		t.Errorf("only %d scalars found", scalars)
	}
	for _, name := range []string{"route_delivered_messages_total", "route_up", "delivery_duration_seconds", "scan_stage_duration_seconds"} {
		for _, s := range snap.Samples {
			if s.Desc.Name == name {
				t.Errorf("%s has member %q before any use", name, s.Label)
			}
		}
	}
	hists := map[string]bool{}
	for _, h := range snap.Histograms {
		hists[h.Desc.Name] = true
	}
	if !hists["smtp_session_duration_seconds"] || !hists["spool_write_duration_seconds"] || hists["delivery_duration_seconds"] {
		t.Errorf("histograms in a fresh snapshot: %v; want the scalar ones only", hists)
	}

	st.ReceivedMessages.Add(7)
	st.Refused.With("timeout").Add(3)
	st.RouteUp.With("r1").Set(1)
	st.QueueMessages.With("hold").Set(-4) // a gauge never reports below zero
	snap = st.Snapshot()
	for _, c := range []struct {
		name, label string
		want        uint64
		ok          bool
	}{
		{"received_messages_total", "", 7, true},
		{"refused_total", "timeout", 3, true},
		{"refused_total", "relay_denied", 0, true},
		{"route_up", "r1", 1, true},
		{"queue_messages", "hold", 0, true},
		{"refused_total", "", 0, false},            // a family has no unlabelled sample
		{"received_messages_total", "x", 0, false}, // a scalar has no labelled one
		{"no_such_metric", "", 0, false},
		{"route_up", "r2", 0, false},
	} {
		v, ok := snap.Lookup(c.name, c.label)
		if v != c.want || ok != c.ok {
			t.Errorf("Lookup(%s, %q) = %d, %v; want %d, %v", c.name, c.label, v, ok, c.want, c.ok)
		}
	}
	if snap.Taken.IsZero() || time.Since(snap.Taken) > time.Minute {
		t.Errorf("Snapshot.Taken = %v", snap.Taken)
	}
}

func TestInfoAndConfig(t *testing.T) {
	before := time.Now()
	st := New(Presets{})
	if st.Started().Before(before.Add(-time.Second)) || st.Started().After(time.Now()) {
		t.Errorf("Started() = %v, not around now", st.Started())
	}
	st.SetInfo("1.2.3", "mx1")
	if v, h := st.Info(); v != "1.2.3" || h != "mx1" {
		t.Errorf("Info() = %q, %q", v, h)
	}
	snap := st.Snapshot()
	if v, _ := snap.Lookup("config_load_time_seconds", ""); v != 0 {
		t.Errorf("config_load_time_seconds = %d before SetConfig, want 0", v)
	}
	at := time.Unix(1700000000, 0)
	st.SetConfig("abc", at)
	if hash, loaded := st.Config(); hash != "abc" || !loaded.Equal(at) {
		t.Errorf("Config() = %q, %v", hash, loaded)
	}
	snap = st.Snapshot()
	if v, _ := snap.Lookup("config_load_time_seconds", ""); v != 1700000000 {
		t.Errorf("config_load_time_seconds = %d, want 1700000000", v)
	}
	if v, _ := snap.Lookup("start_time_seconds", ""); v != uint64(st.Started().Unix()) {
		t.Errorf("start_time_seconds = %d, want %d", v, st.Started().Unix())
	}
	if v, ok := snap.Lookup("uptime_seconds", ""); !ok || v > 60 {
		t.Errorf("uptime_seconds = %d, %v", v, ok)
	}
}

// parseText splits WriteText output into ordered name/value pairs.
func parseText(t *testing.T, out string) (names []string, values map[string]string) {
	t.Helper()
	values = map[string]string{}
	if !strings.HasSuffix(out, "\n") {
		t.Errorf("output does not end in a newline")
	}
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		i := strings.LastIndexByte(line, '=')
		if i <= 0 {
			t.Errorf("line %q has no name=value", line)
			continue
		}
		name, value := line[:i], line[i+1:]
		if _, dup := values[name]; dup {
			t.Errorf("name %q written twice", name)
		}
		names = append(names, name)
		values[name] = value
		if name == "time_initialized_iso" {
			continue
		}
		if _, err := strconv.ParseFloat(value, 64); err != nil {
			t.Errorf("line %q: value %q is not a number", line, value)
		}
	}
	return names, values
}

func TestWriteText(t *testing.T) {
	st := New(testPresets())
	st.ReceivedMessages.Add(5)
	st.IncomingConnections.Add(2)
	st.IncomingConnectionsMax.Observe(9)
	st.Refused.With("relay_denied").Add(2)
	st.Refused.With("timeout").Add(3)
	st.Refused.With("hops_limit").Add(4) // not preset
	st.SendFailed.With("expired").Add(6)
	st.QueueMessages.With("active").Set(3)
	st.QueueMessages.With("deferred").Set(4)
	st.RouteDelivered.With(`we"ird`).Add(8)
	st.SessionDuration.Observe(1500 * time.Millisecond)
	st.SessionDuration.Observe(500 * time.Millisecond)
	st.DeliveryDuration.With("r1").Observe(250 * time.Millisecond)

	started := time.Date(2024, 3, 4, 5, 6, 7, 0, time.FixedZone("CET", 3600))
	var buf bytes.Buffer
	if err := st.Snapshot().WriteText(&buf, started); err != nil {
		t.Fatalf("WriteText: %v", err)
	}
	out := buf.String()
	names, values := parseText(t, out)
	if len(names) < 2 || names[0] != "time_initialized" || names[1] != "time_initialized_iso" {
		t.Fatalf("output does not start with time_initialized, time_initialized_iso:\n%s", out)
	}
	if values["time_initialized"] != strconv.FormatInt(started.Unix(), 10) {
		t.Errorf("time_initialized = %s, want %d", values["time_initialized"], started.Unix())
	}
	iso, err := time.Parse(time.RFC3339, values["time_initialized_iso"])
	if err != nil || !iso.Equal(started) || iso.Location() != time.UTC {
		t.Errorf("time_initialized_iso = %q (%v), want %v in UTC, RFC 3339", values["time_initialized_iso"], err, started)
	}

	want := map[string]string{
		// legacy scalars and family sums
		"mta_received_messages":            "5",
		"mta_incoming_connections_current": "2",
		"mta_incoming_connections_maximum": "9",
		"mta_receivings_refused_total":     "9",
		"mta_sendings_failed_total":        "6",
		"mta_stored_messages_current":      "7",
		"mta_sent_messages":                "0",
		// one line per family member in the legacy style
		"mta_receivings_refused_for_relay_denied": "2",
		"mta_receivings_refused_for_timeout":      "3",
		"mta_receivings_refused_for_hops_limit":   "4",
		"mta_sendings_failed_for_expired":         "6",
		"mta_sendings_failed_for_rejected":        "0",
		"mta_stored_messages_active":              "3",
		"mta_stored_messages_hold":                "0",
		// every figure under its own name
		"received_messages_total":                         "5",
		`refused_total{reason="timeout"}`:                 "3",
		`queue_messages{state="deferred"}`:                "4",
		`route_delivered_messages_total{route="we\"ird"}`: "8",
		`events_total{event="session.opened"}`:            "0",
		"smtp_session_duration_seconds_count":             "2",
		"smtp_session_duration_seconds_sum":               "2.000000",
		`delivery_duration_seconds_count{route="r1"}`:     "1",
		`delivery_duration_seconds_sum{route="r1"}`:       "0.250000",
		"spool_write_duration_seconds_count":              "0",
	}
	for name, w := range want {
		if got, ok := values[name]; !ok || got != w {
			t.Errorf("%s = %q (present %v), want %q", name, got, ok, w)
		}
	}
	if _, ok := values["time_processing"]; !ok {
		t.Errorf("time_processing (uptime) missing")
	}
	if strings.Count(out, "time_initialized=") != 1 {
		t.Errorf("time_initialized written %d times", strings.Count(out, "time_initialized="))
	}

	// Every figure of the snapshot is in the output under its own name, and
	// every legacy name is there.
	snap := st.Snapshot()
	for _, s := range snap.Samples {
		name := s.Desc.Name
		if s.Label != "" {
			name = fmt.Sprintf("%s{%s=%q}", s.Desc.Name, s.Desc.Label, s.Label)
		}
		if _, ok := values[name]; !ok {
			t.Errorf("%s missing from the text output", name)
		}
		if s.Desc.Legacy != "" {
			if _, ok := values[s.Desc.Legacy]; !ok {
				t.Errorf("legacy %s (%s) missing", s.Desc.Legacy, s.Desc.Name)
			}
		}
		if s.Label != "" && s.Desc.LegacyEach != "" {
			if _, ok := values[fmt.Sprintf(s.Desc.LegacyEach, s.Label)]; !ok {
				t.Errorf("legacy member line for %s{%s} missing", s.Desc.Name, s.Label)
			}
		}
	}
	for _, h := range snap.Histograms {
		suffix := ""
		if h.Label != "" {
			suffix = fmt.Sprintf("{%s=%q}", h.Desc.Label, h.Label)
		}
		for _, part := range []string{"_count", "_sum"} {
			if _, ok := values[h.Desc.Name+part+suffix]; !ok {
				t.Errorf("%s%s%s missing", h.Desc.Name, part, suffix)
			}
		}
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestWriteTextError(t *testing.T) {
	st := New(testPresets())
	if err := st.Snapshot().WriteText(failWriter{}, time.Now()); err == nil {
		t.Errorf("WriteText to a failing writer returned nil")
	}
}
