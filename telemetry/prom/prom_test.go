package prom_test

import (
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"

	"github.com/gatewatch/gatewatch/internal/peers"
	"github.com/gatewatch/gatewatch/telemetry"
	"github.com/gatewatch/gatewatch/telemetry/prom"
	"github.com/gatewatch/gatewatch/telemetry/stats"
)

// busyStats is a registry in which every figure, including the families
// without presets (routes, stages), has at least one member with a value.
func busyStats() *stats.Stats {
	st := telemetry.NewStats("log", "cef")
	bus := telemetry.NewBus(st)
	for _, ev := range []telemetry.Event{
		{Type: telemetry.SessionOpened},
		{Type: telemetry.SessionOpened},
		{Type: telemetry.SessionClosed, Duration: 1200 * time.Millisecond, Err: "timeout"},
		{Type: telemetry.MessageRefused, Reason: telemetry.ReasonRelayDenied},
		{Type: telemetry.MessageAccepted, Size: 1000, Recipients: 2},
		{Type: telemetry.MessageQueued, Duration: 4 * time.Millisecond},
		{Type: telemetry.ScanStageDone, Stage: "clamav", Duration: 30 * time.Millisecond},
		{Type: telemetry.DeliverySent, Route: "smarthost", Size: 1000, Recipients: 1, Duration: 80 * time.Millisecond},
		{Type: telemetry.DeliveryDeferred, Route: "partner", Recipients: 1, Duration: 3 * time.Second},
		{Type: telemetry.DeliveryBounced, Route: "partner", Recipients: 1, Reason: telemetry.ReasonRejected, Duration: time.Second},
		{Type: telemetry.RouteRecovered, Route: "smarthost"},
		{Type: telemetry.RouteUnreachable, Route: "partner"},
		{Type: telemetry.ConfigReloaded},
		{Type: telemetry.SpoolCorrupt},
		{Type: telemetry.DSNGenerated},
	} {
		bus.Emit(ev)
	}
	st.QueueMessages.With("deferred").Set(3)
	st.RouteQueued.With("smarthost").Set(2)
	st.RouteConns.With("smarthost").Set(1)
	st.RouteConnsAll.With("smarthost").Add(3)
	st.RouteConnFails.With("partner").Inc()
	st.ChannelUp.With("agentx").Set(1)
	st.ChannelSent.With("cef:siem").Add(40)
	st.PolicyGroups.With("vip").Add(2)
	st.ChannelBacklog.With("cef:siem").Set(3)
	st.ChannelBacklogBytes.With("cef:siem").Set(900)
	st.TrapTargetSent.With("127.0.0.1:162").Add(5)
	st.TrapTargetFails.With("127.0.0.1:162").Inc()
	st.CorruptQueued.Set(1)
	st.OutgoingConnectionsTotal.Add(4)
	st.DNSQueries.Add(11)
	st.AntispamCheckHits.With("DNSBL_ZEN").Inc()
	st.AntispamCheckErrs.With("SPF").Inc()
	st.AntispamCheckTime.With("SPF").Observe(3 * time.Millisecond)
	st.DNSListQueries.With("zen").Add(4)
	st.DNSListHits.With("zen").Inc()
	st.DNSListTimeouts.With("zen").Inc()
	st.DNSListUp.With("zen").Set(1)
	st.AVScans.With("clamd").Add(3)
	st.AVScanErrors.With("clamd").Inc()
	st.AVScanTime.With("clamd").Observe(2 * time.Millisecond)
	st.FilterHits.With("executables").Inc()
	st.AVScannerUp.With("clamd").Set(1)
	st.AVThreats.Inc("Eicar-Test-Signature")
	st.AVSignatures.With("builtin").Set(12)
	st.AVDBReleased.With("builtin").Set(1700000000)
	st.AVDBAge.With("builtin").Set(3600)
	st.AVDBState.With("builtin").Set(1)
	st.AVDBVersion.With("clamd").Set(27000)
	st.SetInfo("1.2.3-test", "mx1.example")
	st.SetConfig("cafe0123", time.Unix(1700000000, 0))
	return st
}

func gather(t *testing.T, st *stats.Stats) map[string]*dto.MetricFamily {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(prom.NewCollector(st)); err != nil {
		t.Fatalf("Register on a pedantic registry: %v", err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("Gather on a pedantic registry: %v", err)
	}
	out := map[string]*dto.MetricFamily{}
	for _, mf := range mfs {
		out[mf.GetName()] = mf
	}
	// Lint exactly as testutil.GatherAndLint does (testutil itself pulls in
	// a module go.mod does not list).
	problems, err := promlint.NewWithMetricFamilies(mfs).Lint()
	if err != nil {
		t.Fatalf("lint: %v", err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
	return out
}

func kindType(k stats.Kind) dto.MetricType {
	switch k {
	case stats.KindCounter:
		return dto.MetricType_COUNTER
	case stats.KindHistogram:
		return dto.MetricType_HISTOGRAM
	}
	return dto.MetricType_GAUGE
}

// find returns the metric of mf whose single label (if any) has value.
func find(mf *dto.MetricFamily, label, value string) *dto.Metric {
	for _, m := range mf.GetMetric() {
		if label == "" && len(m.GetLabel()) == 0 {
			return m
		}
		if len(m.GetLabel()) == 1 && m.GetLabel()[0].GetName() == label && m.GetLabel()[0].GetValue() == value {
			return m
		}
	}
	return nil
}

func TestCollectorMatchesStats(t *testing.T) {
	st := busyStats()
	got := gather(t, st)
	snap := st.Snapshot()

	for _, d := range st.Descs() {
		name := prom.Namespace + "_" + d.Name
		mf := got[name]
		if d.MIBOnly {
			if mf != nil {
				t.Errorf("%s is MIB only but exported", name)
			}
			continue
		}
		if mf == nil {
			t.Errorf("%s is not exported", name)
			continue
		}
		if mf.GetType() != kindType(d.Kind) {
			t.Errorf("%s: type %s, want %s", name, mf.GetType(), d.Kind)
		}
		if mf.GetHelp() != d.Help {
			t.Errorf("%s: help %q, want %q", name, mf.GetHelp(), d.Help)
		}
	}

	for _, s := range snap.Samples {
		name := prom.Namespace + "_" + s.Desc.Name
		mf := got[name]
		if mf == nil {
			continue // reported above
		}
		m := find(mf, s.Desc.Label, s.Label)
		if m == nil {
			t.Errorf("%s{%s=%q} missing", name, s.Desc.Label, s.Label)
			continue
		}
		var v float64
		if s.Desc.Kind == stats.KindCounter {
			v = m.GetCounter().GetValue()
		} else {
			v = m.GetGauge().GetValue()
		}
		if s.Desc.Name == "uptime_seconds" {
			if math.Abs(v-float64(s.Value)) > 2 {
				t.Errorf("%s = %v, want about %d", name, v, s.Value)
			}
			continue
		}
		if v != float64(s.Value) {
			t.Errorf("%s{%s=%q} = %v, want %d", name, s.Desc.Label, s.Label, v, s.Value)
		}
	}
	for _, h := range snap.Histograms {
		name := prom.Namespace + "_" + h.Desc.Name
		mf := got[name]
		if mf == nil {
			continue
		}
		m := find(mf, h.Desc.Label, h.Label)
		if m == nil {
			t.Errorf("%s{%s=%q} missing", name, h.Desc.Label, h.Label)
			continue
		}
		ph := m.GetHistogram()
		if ph.GetSampleCount() != h.Value.Count || math.Abs(ph.GetSampleSum()-h.Value.Sum) > 1e-9 {
			t.Errorf("%s{%q}: count %d sum %v, want %d %v", name, h.Label, ph.GetSampleCount(), ph.GetSampleSum(), h.Value.Count, h.Value.Sum)
		}
		if len(ph.GetBucket()) != len(h.Value.Bounds) {
			t.Errorf("%s{%q}: %d buckets, want %d", name, h.Label, len(ph.GetBucket()), len(h.Value.Bounds))
			continue
		}
		for i, b := range ph.GetBucket() {
			if b.GetUpperBound() != h.Value.Bounds[i] || b.GetCumulativeCount() != h.Value.Cumulative[i] {
				t.Errorf("%s{%q} bucket %d: le=%v count %d, want le=%v count %d", name, h.Label, i,
					b.GetUpperBound(), b.GetCumulativeCount(), h.Value.Bounds[i], h.Value.Cumulative[i])
			}
		}
	}

	// Spot checks against known figures, so a bug shared by the snapshot
	// and the comparison above still shows.
	spot := []struct {
		name, label, value string
		want               float64
	}{
		{"gatewatch_incoming_connections_total", "", "", 2},
		{"gatewatch_incoming_connections", "", "", 1},
		{"gatewatch_incoming_connections_max", "", "", 2},
		{"gatewatch_incoming_connection_errors_total", "", "", 1},
		{"gatewatch_refused_total", "reason", "relay_denied", 1},
		{"gatewatch_route_up", "route", "smarthost", 1},
		{"gatewatch_route_up", "route", "partner", 0},
		{"gatewatch_route_attempts_total", "route", "partner", 2},
		{"gatewatch_queue_messages", "state", "deferred", 3},
		{"gatewatch_config_load_time_seconds", "", "", 1700000000},
		{"gatewatch_events_total", "event", "session.opened", 2},
	}
	for _, s := range spot {
		mf := got[s.name]
		if mf == nil {
			t.Errorf("%s missing", s.name)
			continue
		}
		m := find(mf, s.label, s.value)
		if m == nil {
			t.Errorf("%s{%s=%q} missing", s.name, s.label, s.value)
			continue
		}
		v := m.GetGauge().GetValue()
		if mf.GetType() == dto.MetricType_COUNTER {
			v = m.GetCounter().GetValue()
		}
		if v != s.want {
			t.Errorf("%s{%s=%q} = %v, want %v", s.name, s.label, s.value, v, s.want)
		}
	}
	if h := find(got["gatewatch_delivery_duration_seconds"], "route", "partner"); h == nil ||
		h.GetHistogram().GetSampleCount() != 2 || h.GetHistogram().GetSampleSum() != 4 {
		t.Errorf("delivery_duration_seconds{partner} = %v, want count 2 sum 4", h)
	}

	info := got["gatewatch_build_info"]
	if info == nil || len(info.GetMetric()) != 1 {
		t.Fatalf("gatewatch_build_info: %v", info)
	}
	labels := map[string]string{}
	for _, l := range info.GetMetric()[0].GetLabel() {
		labels[l.GetName()] = l.GetValue()
	}
	if labels["version"] != "1.2.3-test" || labels["config_hash"] != "cafe0123" || info.GetMetric()[0].GetGauge().GetValue() != 1 {
		t.Errorf("gatewatch_build_info = %v labels %v, want 1 {version=1.2.3-test config_hash=cafe0123}", info.GetMetric()[0], labels)
	}
}

// TestCollectorFollowsUpdates checks that values are read at scrape time.
func TestCollectorFollowsUpdates(t *testing.T) {
	st := telemetry.NewStats()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(prom.NewCollector(st))
	value := func() float64 {
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatalf("Gather: %v", err)
		}
		for _, mf := range mfs {
			if mf.GetName() == "gatewatch_received_messages_total" {
				return mf.GetMetric()[0].GetCounter().GetValue()
			}
		}
		t.Fatalf("gatewatch_received_messages_total missing")
		return 0
	}
	if v := value(); v != 0 {
		t.Fatalf("fresh = %v", v)
	}
	st.ReceivedMessages.Add(42)
	if v := value(); v != 42 {
		t.Errorf("after Add(42) = %v", v)
	}
}

func scrape(t *testing.T, h http.Handler) []byte {
	t.Helper()
	srv := httptest.NewServer(h)
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading /metrics: %v", err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %s\n%s", resp.Status, body)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("Content-Type %q, want the text exposition", ct)
	}
	return body
}

func TestHandlerExposition(t *testing.T) {
	st := busyStats()
	body := scrape(t, prom.Handler(st))
	text := string(body)

	for _, d := range st.Descs() {
		name := prom.Namespace + "_" + d.Name
		if d.MIBOnly {
			if strings.Contains(text, name) {
				t.Errorf("exposition has %s, which is MIB only", name)
			}
			continue
		}
		if !strings.Contains(text, "# TYPE "+name+" "+d.Kind.String()+"\n") {
			t.Errorf("exposition lacks # TYPE %s %s", name, d.Kind)
		}
		if d.Kind == stats.KindHistogram {
			for _, part := range []string{"_bucket{", "_sum", "_count"} {
				if !strings.Contains(text, "\n"+name+part) {
					t.Errorf("exposition lacks %s%s", name, part)
				}
			}
			if !strings.Contains(text, name+`_bucket{`) || !strings.Contains(text, `le="+Inf"}`) {
				t.Errorf("%s has no +Inf bucket", name)
			}
		}
	}
	for _, want := range []string{
		`gatewatch_smtp_session_duration_seconds_bucket{le="1"} 0` + "\n",
		`gatewatch_smtp_session_duration_seconds_bucket{le="2.5"} 1` + "\n",
		`gatewatch_smtp_session_duration_seconds_count 1` + "\n",
		`gatewatch_smtp_session_duration_seconds_sum 1.2` + "\n",
		`gatewatch_refused_total{reason="relay_denied"} 1` + "\n",
		"go_goroutines ",
		"process_start_time_seconds ",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("exposition lacks %q", want)
		}
	}

	// Every sample line is name[{labels}] value and parses as a number.
	for _, line := range strings.Split(strings.TrimSpace(text), "\n") {
		if strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i <= 0 {
			t.Errorf("bad sample line %q", line)
			continue
		}
		if _, err := strconv.ParseFloat(line[i+1:], 64); err != nil {
			t.Errorf("sample line %q: value: %v", line, err)
		}
	}

	peers.Require(t, peers.PromtoolBin)
	if out := strings.TrimSpace(peers.PromtoolCheckMetrics(t, body)); out != "" {
		t.Errorf("promtool check metrics found problems:\n%s", out)
	}
}

// TestPromtoolCatchesProblems shows the promtool check can fail: a counter
// without _total is reported.
func TestPromtoolCatchesProblems(t *testing.T) {
	peers.Require(t, peers.PromtoolBin)
	bad := []byte("# HELP bad_counter A counter without the suffix.\n# TYPE bad_counter counter\nbad_counter 1\n")
	if out := peers.PromtoolCheckMetrics(t, bad); !strings.Contains(out, "bad_counter") {
		t.Errorf("promtool accepted a counter without _total; output %q", out)
	}
}
