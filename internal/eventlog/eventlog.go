// Package eventlog is an Emitter that keeps what it is given, for tests
// that assert on the events a component emits.
package eventlog

import (
	"sync"

	"github.com/gatewatch/gatewatch/telemetry"
)

// Recorder keeps every event and passes it on to Next when set (a real
// telemetry.Bus, so the stats follow as in the gateway).
type Recorder struct {
	Next telemetry.Emitter

	mu  sync.Mutex
	evs []telemetry.Event
}

// Emit implements telemetry.Emitter. The event is passed on first, so a
// test that has seen it also sees the statistics it moved.
func (r *Recorder) Emit(ev telemetry.Event) {
	if r.Next != nil {
		r.Next.Emit(ev)
	}
	r.mu.Lock()
	r.evs = append(r.evs, ev)
	r.mu.Unlock()
}

// OfType returns the events of type t, in order.
func (r *Recorder) OfType(t telemetry.Type) []telemetry.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []telemetry.Event
	for _, ev := range r.evs {
		if ev.Type == t {
			out = append(out, ev)
		}
	}
	return out
}

// All returns every event, in order.
func (r *Recorder) All() []telemetry.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]telemetry.Event(nil), r.evs...)
}
