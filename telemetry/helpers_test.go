package telemetry

import (
	"sync"
	"testing"
	"time"

	"github.com/gatewatch/gatewatch/telemetry/stats"
)

// waitTimeout bounds every wait on another goroutine. It is generous
// because -race and a loaded CI machine slow goroutines down; a passing run
// never waits for it.
const waitTimeout = 10 * time.Second

// waitFor polls cond until it holds, failing the test after waitTimeout.
// Polling (not sleeping a fixed time) is the synchronisation: the test goes
// on the moment the condition is true.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", waitTimeout, what)
		}
		time.Sleep(time.Millisecond)
	}
}

// recv waits for one value from ch, failing the test after waitTimeout.
func recv[T any](t testing.TB, what string, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(waitTimeout):
		t.Fatalf("timed out after %s waiting for %s", waitTimeout, what)
		panic("unreachable")
	}
}

// newTestBus is a bus over a fresh registry with the catalog's presets.
func newTestBus(channels ...string) (*Bus, *stats.Stats) {
	st := NewStats(channels...)
	return NewBus(st), st
}

// delivered is one call of a subscription handler.
type delivered struct {
	ev   Event
	more bool
}

// collector is a subscription handler that records every call. When gate
// returns true for an event, the handler announces it on entered and then
// blocks until release (or abort) lets it go, which is how tests hold a
// subscriber busy at a known point.
type collector struct {
	mu    sync.Mutex
	calls []delivered

	gate    func(Event) bool
	entered chan Event
	release chan struct{}
	abort   chan struct{}
	once    sync.Once
}

func newCollector(gate func(Event) bool) *collector {
	return &collector{gate: gate, entered: make(chan Event, 16), release: make(chan struct{}), abort: make(chan struct{})}
}

func (c *collector) handle(ev Event, more bool) {
	if c.gate != nil && c.gate(ev) {
		c.entered <- ev
		select {
		case <-c.release:
		case <-c.abort:
		}
	}
	c.mu.Lock()
	c.calls = append(c.calls, delivered{ev, more})
	c.mu.Unlock()
}

// unblock lets the handler blocked in a gate go on; it fails the test if
// the handler is not blocked there.
func (c *collector) unblock(t testing.TB) {
	t.Helper()
	select {
	case c.release <- struct{}{}:
	case <-time.After(waitTimeout):
		t.Fatalf("the handler was not blocked in its gate")
	}
}

// stop releases every present and future gate (watchdogs and cleanup).
func (c *collector) stop() { c.once.Do(func() { close(c.abort) }) }

func (c *collector) snapshot() []delivered {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]delivered(nil), c.calls...)
}

func (c *collector) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.calls)
}

func (c *collector) ofType(ty Type) []Event {
	var out []Event
	for _, d := range c.snapshot() {
		if d.ev.Type == ty {
			out = append(out, d.ev)
		}
	}
	return out
}
