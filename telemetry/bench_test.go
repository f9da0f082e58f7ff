package telemetry

import (
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkBusEmit is the mail path's cost of one event: the statistics
// update and the offer to one subscriber that drains as fast as it can.
func BenchmarkBusEmit(b *testing.B) {
	bus, st := newTestBus("log")
	var handled atomic.Int64
	sub := bus.Subscribe("log", 8192, func(Event, bool) { handled.Add(1) })
	ev := Event{Type: DeliverySent, QueueID: "Q1", Route: "smarthost", Size: 4096, Recipients: 2,
		Duration: 40 * time.Millisecond, Time: time.Now()}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		bus.Emit(ev)
	}
	b.StopTimer()
	sub.Close()
	if got := handled.Load() + int64(st.EventsDropped.With("log").Load()); got < int64(b.N) {
		b.Fatalf("handled %d + dropped %d < %d emitted", handled.Load(), st.EventsDropped.With("log").Load(), b.N)
	}
	b.ReportMetric(float64(st.EventsDropped.With("log").Load())/float64(b.N), "dropped/op")
}

// BenchmarkBusEmitParallel is BenchmarkBusEmit from many sessions at once.
func BenchmarkBusEmitParallel(b *testing.B) {
	bus, st := newTestBus("log")
	sub := bus.Subscribe("log", 8192, func(Event, bool) {})
	ev := Event{Type: MessageAccepted, QueueID: "Q1", Size: 4096, Recipients: 2, Time: time.Now()}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			bus.Emit(ev)
		}
	})
	b.StopTimer()
	sub.Close()
	b.ReportMetric(float64(st.EventsDropped.With("log").Load())/float64(b.N), "dropped/op")
}

// BenchmarkStatsSnapshot is the cost of one scrape's copy of every figure
// with the catalog's presets and a few routes and stages in use.
func BenchmarkStatsSnapshot(b *testing.B) {
	bus, st := newTestBus("log", "cef", "traps")
	for _, r := range []string{"smarthost", "partner-a", "partner-b", "internal"} {
		bus.Emit(Event{Type: DeliverySent, Route: r, Duration: time.Second})
		bus.Emit(Event{Type: RouteRecovered, Route: r})
	}
	for _, s := range []string{"spf", "clamav", "spamd"} {
		bus.Emit(Event{Type: ScanStageDone, Stage: s, Duration: time.Millisecond})
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		snap := st.Snapshot()
		if len(snap.Samples) == 0 {
			b.Fatal("empty snapshot")
		}
	}
}
