package traps

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatewatch/gatewatch/telemetry"
	"github.com/gatewatch/gatewatch/telemetry/stats"
)

// trapTypes lists the catalog's trap event types; a catalog without any
// would make the tests that range over it vacuous.
func trapTypes(t testing.TB) []telemetry.Type {
	t.Helper()
	var out []telemetry.Type
	for _, ty := range telemetry.Types() {
		if ty.Spec().Trap {
			out = append(out, ty)
		}
	}
	if len(out) < 5 {
		t.Fatalf("only %d trap types in the catalog", len(out))
	}
	return out
}

// eventOf fills every field a notification may carry with values unique
// to the type, so that a varbind showing another type's value is caught.
func eventOf(ty telemetry.Type) telemetry.Event {
	n := int64(ty)
	return telemetry.Event{
		Type:      ty,
		QueueID:   fmt.Sprintf("Q%03d", n),
		Route:     fmt.Sprintf("route-%d", n),
		Reason:    telemetry.ReasonNoRoute,
		Channel:   fmt.Sprintf("chan-%d", n),
		Category:  fmt.Sprintf("cat-%d", n),
		Count:     1000 + n,
		Threshold: 500 + n,
		Text:      fmt.Sprintf("text of %s", ty.Spec().Name),
	}
}

// waitUntil polls cond until it holds or the deadline passes.
func waitUntil(t testing.TB, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func newStats() *stats.Stats { return telemetry.NewStats("traps") }

// fakeClock is the storm guard's clock in tests, moved by hand.
type fakeClock struct{ ns atomic.Int64 }

func newFakeClock() *fakeClock {
	c := &fakeClock{}
	c.ns.Store(time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC).UnixNano())
	return c
}

func (c *fakeClock) now() time.Time      { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) add(d time.Duration) { c.ns.Add(int64(d)) }
func (s *Sender) useClock(c *fakeClock)  { s.now = c.now }

// mustNew is New for options that must be valid; the Sender is closed at
// cleanup (Close is idempotent, so tests may close it earlier).
func mustNew(t testing.TB, o Options) *Sender {
	t.Helper()
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}
