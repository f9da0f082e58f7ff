package watch

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatewatch/gatewatch/pipeline"
	"github.com/gatewatch/gatewatch/pipeline/spool"
	"github.com/gatewatch/gatewatch/telemetry"
	"github.com/gatewatch/gatewatch/telemetry/stats"
)

type recorder struct {
	mu  sync.Mutex
	evs []telemetry.Event
}

func (r *recorder) Emit(ev telemetry.Event) {
	if ev.Type == telemetry.MessageQueued {
		return // the spool's own
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.evs = append(r.evs, ev)
}

func (r *recorder) types() []telemetry.Type {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]telemetry.Type, len(r.evs))
	for i, e := range r.evs {
		out[i] = e.Type
	}
	return out
}

func (r *recorder) last() telemetry.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.evs[len(r.evs)-1]
}

func setup(t *testing.T, cfg Config) (*Watcher, *spool.Spool, *stats.Stats, *recorder) {
	t.Helper()
	st := telemetry.NewStats()
	rec := &recorder{}
	sp, err := spool.Open(spool.Config{Dir: t.TempDir()}, rec, st)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sp.Close() })
	if cfg.Interval == 0 {
		cfg.Interval = time.Second
	}
	return New(cfg, sp, st, rec), sp, st, rec
}

func TestQueueSizeRaisesAndClearsWithHysteresis(t *testing.T) {
	w, _, st, rec := setup(t, Config{QueueSize: 100})
	q := st.QueueMessages.With("deferred")
	now := time.Now()
	for _, step := range []struct {
		size int64
		want []telemetry.Type
	}{
		{100, nil}, // at the limit: not above
		{101, []telemetry.Type{telemetry.QueueSizeHigh}},
		{500, []telemetry.Type{telemetry.QueueSizeHigh}}, // raised once
		{95, []telemetry.Type{telemetry.QueueSizeHigh}},  // above 90%: still raised
		{90, []telemetry.Type{telemetry.QueueSizeHigh, telemetry.QueueSizeNormal}},
		{91, []telemetry.Type{telemetry.QueueSizeHigh, telemetry.QueueSizeNormal}},
	} {
		q.Set(step.size)
		w.Check(now)
		if got := rec.types(); !equal(got, step.want) {
			t.Fatalf("queue %d: events %v, want %v", step.size, got, step.want)
		}
	}
	if ev := rec.evs[0]; ev.Count != 101 || ev.Threshold != 100 {
		t.Errorf("high event = %+v", ev)
	}
}

func TestQueueAgeNamesTheOldestMessage(t *testing.T) {
	w, sp, st, rec := setup(t, Config{QueueAge: time.Hour})
	id := sp.NewID()
	d, err := sp.NewDraft(id, 1)
	if err != nil {
		t.Fatal(err)
	}
	d.Write([]byte("Subject: x\r\n\r\nbody\r\n"))
	if err := d.Commit(&pipeline.Meta{Envelope: pipeline.Envelope{From: "a@b", Recipients: []pipeline.Recipient{{Addr: "c@d"}}}}); err != nil {
		t.Fatal(err)
	}
	w.Check(time.Now())
	if len(rec.types()) != 0 {
		t.Fatalf("a fresh message raised %v", rec.types())
	}
	w.Check(time.Now().Add(2 * time.Hour))
	if age := st.QueueOldestAge.Load(); age < 7199 || age > 7300 {
		t.Errorf("queue_oldest_age_seconds = %d two hours on", age)
	}
	if free, size := st.SpoolFree.Load(), st.SpoolSize.Load(); free <= 0 || size < free {
		t.Errorf("spool_free_bytes %d, spool_filesystem_bytes %d", free, size)
	}
	ev := rec.last()
	if ev.Type != telemetry.QueueAgeHigh || ev.QueueID != id || ev.Count < 7199 || ev.Threshold != 3600 {
		t.Fatalf("age event = %+v", ev)
	}
	if _, err := sp.Delete(id); err != nil {
		t.Fatal(err)
	}
	w.Check(time.Now().Add(2 * time.Hour))
	if ev := rec.last(); ev.Type != telemetry.QueueAgeNormal {
		t.Fatalf("after the queue emptied: %+v", ev)
	}
}

func TestBounceRateOverWindow(t *testing.T) {
	w, _, st, rec := setup(t, Config{BounceRate: 20, BounceMin: 10, Window: 5 * time.Minute})
	t0 := time.Now()
	w.Check(t0) // baseline
	st.SentRecipients.Add(5)
	st.BouncedRecipients.Add(3)
	w.Check(t0.Add(time.Minute))
	if len(rec.types()) != 0 {
		t.Fatalf("8 outcomes (under bounce_min) raised %v", rec.types())
	}
	st.SentRecipients.Add(5)
	st.BouncedRecipients.Add(2)
	w.Check(t0.Add(2 * time.Minute)) // 5 of 15 = 33%
	if ev := rec.last(); ev.Type != telemetry.BounceRateHigh || ev.Count != 33 {
		t.Fatalf("rate event = %+v", ev)
	}
	// Later, only deliveries: once the bounces fall out of the window the
	// rate drops and the alert clears.
	st.SentRecipients.Add(100)
	w.Check(t0.Add(8 * time.Minute))
	if ev := rec.last(); ev.Type != telemetry.BounceRateNormal {
		t.Fatalf("after the window moved on: %+v (events %v)", ev, rec.types())
	}
}

func TestSpoolFreeSpace(t *testing.T) {
	w, sp, _, rec := setup(t, Config{SpoolFree: 1 << 40}) // a petabyte: surely short
	w.Check(time.Now())
	ev := rec.last()
	avail, _, err := space(sp.Dir())
	if err != nil {
		t.Fatal(err)
	}
	free := avail >> 20
	if ev.Type != telemetry.DiskSpaceLow || ev.Count != free || ev.Threshold != 1<<40 {
		t.Fatalf("disk event = %+v (free %d MiB)", ev, free)
	}
	w.Reload(Config{Interval: time.Second, SpoolFree: 1})
	w.Check(time.Now())
	if ev := rec.last(); ev.Type != telemetry.DiskSpaceNormal {
		t.Fatalf("after lowering the threshold: %+v", ev)
	}
}

func TestValidate(t *testing.T) {
	if err := (Config{Interval: time.Second}).Validate(); err != nil {
		t.Fatal(err)
	}
	err := Config{BounceRate: 150, QueueSize: -1}.Validate()
	for _, key := range []string{"alerts.interval", "alerts.bounce_rate", "alerts.queue_size", "alerts.window"} {
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("error does not name %s: %v", key, err)
		}
	}
}

func equal(a, b []telemetry.Type) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
