package traps

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gatewatch/gatewatch/telemetry"
	"github.com/gatewatch/gatewatch/telemetry/mib"
)

// fakeNotifier records Notify calls. With block set, each call waits for
// its context instead, like a master agent that stopped answering.
type fakeNotifier struct {
	block bool
	err   error

	mu    sync.Mutex
	calls []notifyCall
}

type notifyCall struct {
	oid      mib.OID
	vbs      []mib.Varbind
	deadline time.Duration // left on the context when called
}

func (f *fakeNotifier) Notify(ctx context.Context, oid mib.OID, vbs []mib.Varbind) error {
	dl, _ := ctx.Deadline()
	f.mu.Lock()
	f.calls = append(f.calls, notifyCall{oid: oid, vbs: slices.Clone(vbs), deadline: time.Until(dl)})
	f.mu.Unlock()
	if f.block {
		<-ctx.Done()
		return ctx.Err()
	}
	return f.err
}

func (f *fakeNotifier) recorded() []notifyCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

func TestNotifierGetsEveryNotification(t *testing.T) {
	st := newStats()
	fake := &fakeNotifier{}
	s := mustNew(t, Options{Stats: st, Hostname: "mx1", Notifier: fake, Timeout: 3 * time.Second})
	types := trapTypes(t)
	for _, ty := range types {
		s.Handle(eventOf(ty), false)
	}
	s.Handle(telemetry.Event{Type: telemetry.MessageAccepted}, false) // not a trap
	s.Handle(telemetry.Event{Type: 0}, false)                         // not in the catalog
	waitUntil(t, "every notification at the notifier", 5*time.Second, func() bool {
		return st.TrapTargetSent.With(NotifierTarget).Load() == uint64(len(types))
	})
	s.Close()
	calls := fake.recorded()
	if len(calls) != len(types) {
		t.Fatalf("%d Notify calls, want %d (one per trap type, none for other events)", len(calls), len(types))
	}
	for i, ty := range types {
		c := calls[i]
		wantOID, wantVbs := mib.Notification(eventOf(ty), "mx1", 0)
		if mib.Compare(c.oid, wantOID) != 0 {
			t.Errorf("%s: trap OID %s, want %s", ty, c.oid, wantOID)
		}
		if !slices.EqualFunc(c.vbs, wantVbs, func(a, b mib.Varbind) bool {
			return mib.Compare(a.OID, b.OID) == 0 && a.Value.String() == b.Value.String() && a.Value.Syntax == b.Value.Syntax
		}) {
			t.Errorf("%s: varbinds %v, want %v", ty, c.vbs, wantVbs)
		}
		// The varbinds start after snmpTrapOID.0: the Notifier adds
		// sysUpTime.0 and snmpTrapOID.0 itself.
		for _, vb := range c.vbs {
			if mib.Compare(vb.OID, mib.SysUpTime()) == 0 || mib.Compare(vb.OID, mib.SnmpTrapOID()) == 0 {
				t.Errorf("%s: Notify got %s among the varbinds", ty, vb.OID)
			}
		}
		if c.deadline <= 0 || c.deadline > 3*time.Second {
			t.Errorf("%s: Notify context deadline %v away, want within Timeout", ty, c.deadline)
		}
	}
	if n := st.TrapTargetFails.With(NotifierTarget).Load(); n != 0 {
		t.Errorf("%d notifier failures", n)
	}
	if n := st.TrapsSent.With(telemetry.RouteUnreachable.Spec().Name).Load(); n != 1 {
		t.Errorf("TrapsSent{route.unreachable} = %d, want 1", n)
	}
	if n := st.TrapsSent.With(telemetry.MessageAccepted.Spec().Name).Load(); n != 0 {
		t.Errorf("a non-trap event was counted as sent (%d)", n)
	}
}

func TestNotifierErrorsAreCounted(t *testing.T) {
	st := newStats()
	s := mustNew(t, Options{Stats: st, Notifier: &fakeNotifier{err: errors.New("master said no")}})
	s.Handle(eventOf(telemetry.SpoolCorrupt), false)
	s.Handle(eventOf(telemetry.DiskSpaceLow), false)
	waitUntil(t, "two notifier failures", 5*time.Second, func() bool {
		return st.TrapTargetFails.With(NotifierTarget).Load() == 2
	})
	if n := st.TrapTargetSent.With(NotifierTarget).Load(); n != 0 {
		t.Errorf("TrapTargetSent{agentx} = %d after errors", n)
	}
}

// A master agent that never answers fills the notifier's queue: Handle
// still returns at once, the overflow is counted, and Close gives up after
// its bounded wait, counting what it abandoned.
func TestStuckNotifierNeverBlocks(t *testing.T) {
	st := newStats()
	fake := &fakeNotifier{block: true}
	s, err := New(Options{Stats: st, Notifier: fake, Burst: 1000, Timeout: time.Hour, Retries: -1})
	if err != nil {
		t.Fatal(err)
	}
	s.closeWait = 200 * time.Millisecond // not an hour: the point is that Close is bounded
	const events = 3 * queueSize
	start := time.Now()
	for range events {
		s.Handle(eventOf(telemetry.QueueSizeHigh), false)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("%d Handle calls took %v", events, d)
	}
	fails := st.TrapTargetFails.With(NotifierTarget)
	// The worker holds one notification and its queue queueSize more.
	if n := fails.Load(); n < events-queueSize-1 || n > events-queueSize {
		t.Errorf("%d dropped while the queue was full, want %d or %d", n, events-queueSize-1, events-queueSize)
	}
	start = time.Now()
	s.Close()
	if d := time.Since(start); d > 200*time.Millisecond+abortWait {
		t.Errorf("Close took %v", d)
	}
	if n := fails.Load(); n != events {
		t.Errorf("after Close %d failures, want all %d", n, events)
	}
	if n := st.TrapsSent.With(telemetry.QueueSizeHigh.Spec().Name).Load(); n != events {
		t.Errorf("TrapsSent = %d, want %d (counted when handed to the workers)", n, events)
	}
	s.Handle(eventOf(telemetry.QueueSizeHigh), false) // after Close: ignored, no panic
	if n := st.TrapsSent.With(telemetry.QueueSizeHigh.Spec().Name).Load(); n != events {
		t.Errorf("Handle after Close was counted (%d)", n)
	}
	s.Close() // again: harmless
}
