package agentx

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/gatewatch/gatewatch/telemetry"
	"github.com/gatewatch/gatewatch/telemetry/stats"
)

// recorder is an Emitter that keeps every event.
type recorder struct {
	mu     sync.Mutex
	events []telemetry.Event
}

func (r *recorder) Emit(ev telemetry.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, ev)
}

// count returns how many events of type typ were emitted.
func (r *recorder) count(typ telemetry.Type) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, ev := range r.events {
		if ev.Type == typ {
			n++
		}
	}
	return n
}

func (r *recorder) all() []telemetry.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]telemetry.Event(nil), r.events...)
}

// running is a Subagent whose Run goroutine the test controls.
type running struct {
	*Subagent
	rec    *recorder
	st     *stats.Stats
	cancel context.CancelFunc
	done   chan struct{}
}

// startSubagent runs a subagent against address until the test ends.
func startSubagent(t testing.TB, address string, st *stats.Stats, tweak func(*Options)) *running {
	t.Helper()
	if st == nil {
		st = telemetry.NewStats(Channel)
	}
	rec := &recorder{}
	o := Options{Address: address, Stats: st, Emit: rec}
	if tweak != nil {
		tweak(&o)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{Subagent: New(o), rec: rec, st: st, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		r.Run(ctx)
	}()
	t.Cleanup(func() { r.stop(t) })
	return r
}

// stop cancels Run and waits for it to return.
func (r *running) stop(t testing.TB) {
	t.Helper()
	r.cancel()
	select {
	case <-r.done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return within 10s of its context ending")
	}
}

// waitFor polls cond until it holds or timeout passes.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (r *running) waitConnected(t testing.TB) {
	t.Helper()
	waitFor(t, 15*time.Second, "the subagent to register", r.Connected)
}
