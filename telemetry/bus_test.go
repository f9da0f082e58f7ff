package telemetry

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// isBlock marks the events a collector's gate holds on.
func isBlock(ev Event) bool { return ev.Text == "block" }

// emitGuarded emits evs from the test goroutine. Emit must never block; if
// it does, a watchdog fails the test and releases the collectors so that
// the test ends with that failure instead of hanging.
func emitGuarded(t *testing.T, bus *Bus, evs []Event, held ...*collector) {
	t.Helper()
	var blocked atomic.Bool
	watchdog := time.AfterFunc(waitTimeout, func() {
		blocked.Store(true)
		for _, c := range held {
			c.stop()
		}
	})
	for _, ev := range evs {
		bus.Emit(ev)
	}
	watchdog.Stop()
	if blocked.Load() {
		t.Fatalf("Emit blocked behind a busy subscriber for %s", waitTimeout)
	}
}

func seqEvents(from, n int) []Event {
	evs := make([]Event, n)
	for i := range evs {
		evs[i] = Event{Type: MessageQueued, Attempt: from + i}
	}
	return evs
}

func TestBusOrderAndMore(t *testing.T) {
	bus, _ := newTestBus("ch")
	c := newCollector(isBlock)
	sub := bus.Subscribe("ch", 16, c.handle)
	t.Cleanup(func() { c.stop(); sub.Close() })

	// Hold the handler on the first event, queue three more behind it:
	// the first was handed over with nothing waiting (more=false), then
	// more stays true until the last queued one.
	bus.Emit(Event{Type: GatewayStarted, Text: "block"})
	recv(t, "the handler to take the first event", c.entered)
	emitGuarded(t, bus, seqEvents(1, 3), c)
	c.unblock(t)
	waitFor(t, "4 events handled", func() bool { return c.len() == 4 })

	got := c.snapshot()
	wantMore := []bool{false, true, true, false}
	for i, d := range got {
		if d.more != wantMore[i] {
			t.Errorf("call %d: more = %v, want %v", i, d.more, wantMore[i])
		}
		if i > 0 && d.ev.Attempt != i {
			t.Errorf("call %d: got event #%d, want #%d (order lost)", i, d.ev.Attempt, i)
		}
		if d.ev.Time.IsZero() {
			t.Errorf("call %d: Emit did not stamp the event's time", i)
		}
	}
	if got[0].ev.Type != GatewayStarted {
		t.Errorf("first event is %s, want gateway.started", got[0].ev.Type)
	}

	// A time the emitter set is kept.
	at := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	bus.Emit(Event{Type: GatewayStopping, Time: at})
	waitFor(t, "the fifth event", func() bool { return c.len() == 5 })
	if d := c.snapshot()[4]; !d.ev.Time.Equal(at) || d.more {
		t.Errorf("fifth call: time %v more %v, want %v false", d.ev.Time, d.more, at)
	}
}

// TestBusDropsAndReports fills a held subscriber's buffer and checks the
// exact drop count, that the mail path never blocks, and the
// ChannelDropping announcement once the buffer has room again.
func TestBusDropsAndReports(t *testing.T) {
	const (
		buffer = 8
		extra  = 5 // events beyond what fits
	)
	bus, st := newTestBus("slow", "fast")
	slow := newCollector(isBlock)
	fast := newCollector(nil)
	slowSub := bus.Subscribe("slow", buffer, slow.handle)
	fastSub := bus.Subscribe("fast", 1024, fast.handle)
	t.Cleanup(func() { slow.stop(); slowSub.Close(); fastSub.Close() })

	// The handler holds event 0 (so it is out of the buffer); the buffer
	// then takes exactly `buffer` events and the next `extra` are dropped.
	bus.Emit(Event{Type: MessageQueued, Attempt: 0, Text: "block"})
	recv(t, "the slow handler to take event 0", slow.entered)
	emitGuarded(t, bus, seqEvents(1, buffer+extra), slow)

	if got := st.EventsDropped.With("slow").Load(); got != extra {
		t.Fatalf("events_dropped_total{slow} = %d, want %d", got, extra)
	}
	if got := st.EventsDropped.With("fast").Load(); got != 0 {
		t.Errorf("events_dropped_total{fast} = %d, want 0", got)
	}
	// Statistics are updated for every event, dropped or not.
	if got := st.Events.With(MessageQueued.Spec().Name).Load(); got != 1+buffer+extra {
		t.Errorf("events_total{message.queued} = %d, want %d", got, 1+buffer+extra)
	}
	if n := len(slow.ofType(ChannelDropping)); n != 0 {
		t.Errorf("ChannelDropping announced while the buffer is still full")
	}

	slow.unblock(t)
	waitFor(t, "the slow channel to drain and announce its drops", func() bool {
		return slow.len() == 1+buffer+1 && fast.len() == 1+buffer+extra+1
	})

	// The slow channel got events 0..buffer in order, the rest was dropped.
	var seq []int
	for _, d := range slow.snapshot() {
		if d.ev.Type == MessageQueued {
			seq = append(seq, d.ev.Attempt)
		}
	}
	if len(seq) != 1+buffer {
		t.Fatalf("slow channel handled %d events, want %d", len(seq), 1+buffer)
	}
	for i, n := range seq {
		if n != i {
			t.Fatalf("slow channel handled events %v, want 0..%d in order", seq, buffer)
		}
	}

	for name, c := range map[string]*collector{"slow": slow, "fast": fast} {
		ann := c.ofType(ChannelDropping)
		if len(ann) != 1 {
			t.Fatalf("%s subscriber got %d ChannelDropping events, want 1", name, len(ann))
		}
		if ann[0].Channel != "slow" || ann[0].Count != extra {
			t.Errorf("%s subscriber: ChannelDropping{Channel: %q, Count: %d}, want {slow, %d}", name, ann[0].Channel, ann[0].Count, extra)
		}
	}
	if got := st.Events.With(ChannelDropping.Spec().Name).Load(); got != 1 {
		t.Errorf("events_total{telemetry.dropping} = %d, want 1", got)
	}
	if got := st.EventsDropped.With("slow").Load(); got != extra {
		t.Errorf("events_dropped_total{slow} = %d after draining, want still %d", got, extra)
	}

	// A second burst is announced with the new drops only.
	const extra2 = 3
	bus.Emit(Event{Type: MessageQueued, Attempt: 100, Text: "block"})
	recv(t, "the slow handler to take the second blocking event", slow.entered)
	emitGuarded(t, bus, seqEvents(101, buffer+extra2), slow)
	if got := st.EventsDropped.With("slow").Load(); got != extra+extra2 {
		t.Fatalf("events_dropped_total{slow} = %d, want %d", got, extra+extra2)
	}
	slow.unblock(t)
	waitFor(t, "the second announcement", func() bool { return len(fast.ofType(ChannelDropping)) == 2 })
	if ann := fast.ofType(ChannelDropping)[1]; ann.Channel != "slow" || ann.Count != extra2 {
		t.Errorf("second ChannelDropping{Channel: %q, Count: %d}, want {slow, %d}", ann.Channel, ann.Count, extra2)
	}
}

func TestBusCloseDrains(t *testing.T) {
	const buffer = 6
	bus, st := newTestBus("ch")
	c := newCollector(isBlock)
	sub := bus.Subscribe("ch", buffer, c.handle)
	t.Cleanup(c.stop)

	bus.Emit(Event{Type: MessageQueued, Attempt: 0, Text: "block"})
	recv(t, "the handler to take event 0", c.entered)
	emitGuarded(t, bus, seqEvents(1, buffer), c)

	closed := make(chan struct{})
	go func() { sub.Close(); close(closed) }()
	// Close must wait for the handler; it is still held, so Close cannot
	// have returned yet.
	select {
	case <-closed:
		t.Fatalf("Close returned while the handler was still busy")
	default:
	}
	c.unblock(t)
	recv(t, "Close to return", closed)
	if got := c.len(); got != 1+buffer {
		t.Fatalf("handler saw %d events before Close returned, want all %d buffered ones", got, 1+buffer)
	}

	// After Close: Emit neither panics nor reaches the handler nor counts
	// drops for the closed channel; the statistics still count.
	before := st.Events.With(MessageQueued.Spec().Name).Load()
	bus.Emit(Event{Type: MessageQueued})
	if got := st.Events.With(MessageQueued.Spec().Name).Load(); got != before+1 {
		t.Errorf("events_total after Close = %d, want %d", got, before+1)
	}
	if got := c.len(); got != 1+buffer {
		t.Errorf("handler called after Close (%d calls)", got)
	}
	if got := st.EventsDropped.With("ch").Load(); got != 0 {
		t.Errorf("events_dropped_total{ch} = %d after Close, want 0", got)
	}
	sub.Close() // a second Close returns at once
}

// TestBusCloseIsolated checks that closing one subscription leaves the
// others fed.
func TestBusCloseIsolated(t *testing.T) {
	bus, _ := newTestBus()
	a, b := newCollector(nil), newCollector(nil)
	subA := bus.Subscribe("a", 4, a.handle)
	subB := bus.Subscribe("b", 4, b.handle)
	t.Cleanup(subB.Close)
	bus.Emit(Event{Type: GatewayStarted})
	waitFor(t, "both to get the first event", func() bool { return a.len() == 1 && b.len() == 1 })
	subA.Close()
	bus.Emit(Event{Type: GatewayStopping})
	waitFor(t, "b to get the second event", func() bool { return b.len() == 2 })
	if a.len() != 1 {
		t.Errorf("closed subscription got %d events, want 1", a.len())
	}
}

// TestBusConcurrentEmitClose runs many emitters while subscriptions come
// and go; it is for the race detector and for panics (a send on a closed
// channel), and checks that no event escapes the statistics.
func TestBusConcurrentEmitClose(t *testing.T) {
	const emitters = 16
	bus, st := newTestBus()
	var handled atomic.Int64
	handle := func(Event, bool) { handled.Add(1) }

	subs := make([]*Subscription, 4)
	for i := range subs {
		subs[i] = bus.Subscribe(fmt.Sprintf("s%d", i), 2+i, handle)
	}

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var emitted [emitters]atomic.Int64
	for g := 0; g < emitters; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				bus.Emit(Event{Type: GatewayStarted, Attempt: g})
				emitted[g].Add(1)
				runtime.Gosched() // leave the subscribers and Close some CPU
			}
		}()
	}
	total := func() int64 {
		var n int64
		for i := range emitted {
			n += emitted[i].Load()
		}
		return n
	}
	allRunning := func() bool {
		for i := range emitted {
			if emitted[i].Load() < 10 {
				return false
			}
		}
		return true
	}
	waitFor(t, "every emitter to run", allRunning)

	// Subscribe and close while the emitters run, including two Closes of
	// the same subscription at once.
	for i := 0; i < 20; i++ {
		s := bus.Subscribe("churn", 1, handle)
		var cw sync.WaitGroup
		cw.Add(2)
		go func() { defer cw.Done(); s.Close() }()
		go func() { defer cw.Done(); s.Close() }()
		cw.Wait()
	}
	for _, s := range subs {
		s.Close()
	}
	mark := total()
	waitFor(t, "emitters to go on after Close", func() bool { return total() > mark+int64(emitters) })
	close(stop)
	wg.Wait()

	if got, want := st.Events.With(GatewayStarted.Spec().Name).Load(), uint64(total()); got != want {
		t.Errorf("events_total{gateway.started} = %d, want %d emitted", got, want)
	}
	if handled.Load() == 0 {
		t.Errorf("no subscriber handled anything")
	}
	var dropped uint64
	for _, l := range st.EventsDropped.Labels() {
		dropped += st.EventsDropped.With(l).Load()
	}
	t.Logf("emitted %d, handled %d, dropped %d", total(), handled.Load(), dropped)
}

// TestBusUnbufferedSubscription covers buffer 0: drops are counted and
// announced once, and the announcement must not count as a drop of the
// announcing channel itself (its goroutine is the only reader of its own
// buffer, so it cannot take its own event on an unbuffered channel).
func TestBusUnbufferedSubscription(t *testing.T) {
	bus, st := newTestBus("zero", "watch")
	var gated atomic.Bool
	c := newCollector(func(Event) bool { return gated.CompareAndSwap(false, true) }) // holds the first event only
	w := newCollector(nil)
	sub := bus.Subscribe("zero", 0, c.handle)
	wsub := bus.Subscribe("watch", 1024, w.handle)
	t.Cleanup(func() { c.stop(); sub.Close(); wsub.Close() })

	// With no buffer an event is only taken while the handler waits for
	// one, so emit until the first is taken; misses count as drops.
	waitFor(t, "the idle subscriber to take an event", func() bool {
		bus.Emit(Event{Type: MessageQueued})
		select {
		case <-c.entered:
			return true
		default:
			return false
		}
	})
	emitGuarded(t, bus, seqEvents(1, 4), c)
	dropped := st.EventsDropped.With("zero").Load()
	// Of the 4 emitted while the handler is held at most one may wait (a
	// buffer of 0 is taken as 1).
	if dropped < 3 {
		t.Fatalf("events_dropped_total{zero} = %d with the handler held, want at least 3", dropped)
	}
	c.unblock(t)
	waitFor(t, "the announcement", func() bool { return len(w.ofType(ChannelDropping)) == 1 })
	if ann := w.ofType(ChannelDropping)[0]; ann.Channel != "zero" || uint64(ann.Count) != dropped {
		t.Errorf("ChannelDropping{Channel: %q, Count: %d}, want {zero, %d}", ann.Channel, ann.Count, dropped)
	}
	if got := st.EventsDropped.With("zero").Load(); got != dropped {
		t.Errorf("events_dropped_total{zero} = %d after the announcement, want still %d: the channel dropped its own announcement, "+
			"which the next handled event will announce again, forever", got, dropped)
	}
}

// TestBusSubscribeSome checks the type filter: unwanted events never reach
// the handler, never take buffer room and are never counted as drops.
func TestBusSubscribeSome(t *testing.T) {
	const buffer = 2
	bus, st := newTestBus("some", "all")
	c := newCollector(isBlock)
	all := newCollector(nil)
	wants := func(ty Type) bool { return ty == GatewayStarted }
	sub := bus.SubscribeWith("some", ChannelOptions{Buffer: buffer, Wants: wants}, c.handle)
	allSub := bus.Subscribe("all", 1024, all.handle)
	t.Cleanup(func() { c.stop(); sub.Close(); allSub.Close() })

	bus.Emit(Event{Type: GatewayStarted, Text: "block"})
	recv(t, "the handler to take the first wanted event", c.entered)
	unwanted := seqEvents(0, 10) // MessageQueued
	emitGuarded(t, bus, unwanted, c)
	if got := st.EventsDropped.With("some").Load(); got != 0 {
		t.Fatalf("unwanted events counted as %d drops", got)
	}
	// The buffer is still empty: exactly `buffer` wanted events fit.
	emitGuarded(t, bus, []Event{{Type: GatewayStarted}, {Type: GatewayStarted}, {Type: GatewayStarted}}, c)
	if got := st.EventsDropped.With("some").Load(); got != 1 {
		t.Fatalf("events_dropped_total{some} = %d, want 1", got)
	}
	c.unblock(t)
	waitFor(t, "the announcement to reach the other channel", func() bool { return len(all.ofType(ChannelDropping)) == 1 })
	waitFor(t, "the filtered channel to drain", func() bool { return c.len() == 1+buffer })
	for _, d := range c.snapshot() {
		if d.ev.Type != GatewayStarted {
			t.Errorf("filtered channel got a %s event", d.ev.Type)
		}
	}
	if ann := all.ofType(ChannelDropping)[0]; ann.Channel != "some" || ann.Count != 1 {
		t.Errorf("ChannelDropping{Channel: %q, Count: %d}, want {some, 1}", ann.Channel, ann.Count)
	}
	if got := st.Events.With(MessageQueued.Spec().Name).Load(); got != uint64(len(unwanted)) {
		t.Errorf("events_total{message.queued} = %d, want %d: filtering must not skip the statistics", got, len(unwanted))
	}
}

// With a linger, events that arrive while the channel waits are handled as
// one batch: the handler sees more=true for all but the last of them.
func TestSubscriptionLingerBatches(t *testing.T) {
	bus := NewBus(NewStats())
	var mu sync.Mutex
	var mores []bool
	sub := bus.SubscribeWith("batched", ChannelOptions{Buffer: 64, Linger: 300 * time.Millisecond}, func(_ Event, more bool) {
		mu.Lock()
		mores = append(mores, more)
		mu.Unlock()
	})
	defer sub.Close()
	handled := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(mores)
	}
	bus.Emit(Event{Type: QueueAdmin}) // starts a linger once handled
	deadline := time.Now().Add(5 * time.Second)
	for handled() < 1 {
		if time.Now().After(deadline) {
			t.Fatal("first event not handled")
		}
		time.Sleep(time.Millisecond)
	}
	for i := 0; i < 10; i++ {
		bus.Emit(Event{Type: QueueAdmin})
	}
	for handled() < 11 {
		if time.Now().After(deadline) {
			t.Fatalf("%d of 11 events handled", handled())
		}
		time.Sleep(time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	batched := 0
	for _, m := range mores[1:] {
		if m {
			batched++
		}
	}
	if batched != 9 || mores[10] {
		t.Errorf("more flags of the burst = %v, want nine true then false (one batch)", mores[1:])
	}
}
