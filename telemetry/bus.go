package telemetry

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatewatch/gatewatch/telemetry/stats"
)

// Emitter is what stages see of the telemetry: they hand over events and
// never learn who consumes them.
type Emitter interface {
	Emit(Event)
}

// Bus updates the statistics synchronously for every event and then offers
// the event to each channel's bounded buffer. A full buffer drops the event
// for that channel only, and the drop is counted: a slow consumer never
// blocks the mail path.
type Bus struct {
	stats  *stats.Stats
	specs  [typeEnd]Spec // the catalog, copied once: Emit is on the mail path
	counts [typeEnd]*stats.Counter
	subs   atomic.Pointer[[]*Subscription]
	mu     sync.Mutex // serialises Subscribe/Close
}

// NewBus creates a bus that updates st.
func NewBus(st *stats.Stats) *Bus {
	b := &Bus{stats: st}
	for _, t := range Types() {
		b.specs[t] = t.Spec()
		b.counts[t] = st.Events.With(b.specs[t].Name)
	}
	b.subs.Store(&[]*Subscription{})
	return b
}

// NewStats creates the statistics registry with every label value the
// catalog knows preset at zero.
func NewStats(channels ...string) *stats.Stats {
	names := make([]string, 0, typeEnd)
	for _, t := range Types() {
		names = append(names, t.Spec().Name)
	}
	return stats.New(stats.Presets{
		RefusalReasons:     RefusalReasons(),
		SendFailureReasons: SendFailureReasons(),
		QueueStates:        []string{"incoming", "active", "deferred", "hold"},
		Channels:           channels,
		EventTypes:         names,
		ReloadResults:      []string{"success", "failure"},
		Outcomes:           Outcomes(),
		PolicyActions:      []string{"deliver", "reject", "tempfail", "drop", "quarantine"},
		Categories:         []string{"spam", "virus", "banned", "policy"},
		Archives:           []string{"received", "sent"},
		Notifications:      []string{"sender", "recipients", "admin"},
		SuppressReasons:    []string{"null_sender", "auto_submitted", "rate_limited", "spool_error"},
		Stores:             []string{"quarantine", "archive"},
		DNSResults:         []string{"answer", "nxdomain", "nodata", "servfail", "refused", "timeout", "error"},
		AntispamStatuses:   []string{"spam", "probable_spam", "formal", "clean"},
		ObjectStatuses:     []string{"clean", "infected", "suspicious", "protected", "corrupted", "error", "banned"},
		UpdateResults:      []string{"updated", "not_needed", "error"},
		Modes:              []string{"smtp", "milter", "cgp"},
	})
}

// Stats returns the registry the bus updates.
func (b *Bus) Stats() *stats.Stats { return b.stats }

// Emit records ev. It never blocks.
func (b *Bus) Emit(ev Event) {
	if ev.Time.IsZero() {
		ev.Time = time.Now()
	}
	var spec Spec
	if ev.Type.Valid() {
		spec = b.specs[ev.Type]
		b.counts[ev.Type].Inc()
	} else {
		spec = ev.Type.Spec() // the "unknown" entry: counted, not lost
		b.stats.Events.With(spec.Name).Inc()
	}
	if spec.apply != nil {
		spec.apply(b.stats, ev)
	}
	for _, s := range *b.subs.Load() {
		s.offer(ev)
	}
}

// Subscription is one channel's feed: a bounded buffer drained by one
// goroutine that calls the channel's handler.
type Subscription struct {
	bus     *Bus
	channel string
	wants   func(Type) bool // nil: every event
	linger  time.Duration
	ch      chan Event
	handle  func(ev Event, more bool)
	dropped *stats.Counter
	stop    chan struct{}
	done    chan struct{}
	closed  atomic.Bool
	// reported is the drop count last announced with a ChannelDropping event.
	reported atomic.Uint64
}

// Subscribe starts a channel: handle is called for every event, one at a
// time, from the subscription's own goroutine; more tells it whether other
// events are already waiting (so it can batch writes). buffer bounds how
// many events may wait; beyond it events are dropped and counted under
// channel.
func (b *Bus) Subscribe(channel string, buffer int, handle func(ev Event, more bool)) *Subscription {
	return b.SubscribeWith(channel, ChannelOptions{Buffer: buffer}, handle)
}

// ChannelOptions shape a subscription.
type ChannelOptions struct {
	// Buffer bounds how many events may wait (at least 1).
	Buffer int
	// Wants, when set, picks the event types the channel takes; the others
	// never occupy its buffer or wake its goroutine.
	Wants func(Type) bool
	// Linger, when set, makes the channel take events in batches: once it
	// has handled everything waiting, it lets new events gather for this
	// long. A busy gateway then wakes the channel once per batch instead of
	// once per event. The buffer must hold a linger's worth of events.
	Linger time.Duration
}

// SubscribeWith is Subscribe with options.
func (b *Bus) SubscribeWith(channel string, o ChannelOptions, handle func(ev Event, more bool)) *Subscription {
	buffer := o.Buffer
	if buffer < 1 {
		// With no room at all, the channel's own drop announcement would
		// be dropped by itself, and announced again, forever.
		buffer = 1
	}
	s := &Subscription{
		bus:     b,
		channel: channel,
		wants:   o.Wants,
		linger:  o.Linger,
		ch:      make(chan Event, buffer),
		handle:  handle,
		dropped: b.stats.EventsDropped.With(channel),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
	}
	go s.run()
	b.mu.Lock()
	defer b.mu.Unlock()
	old := *b.subs.Load()
	next := append(append(make([]*Subscription, 0, len(old)+1), old...), s)
	b.subs.Store(&next)
	return s
}

func (s *Subscription) offer(ev Event) {
	if s.closed.Load() || s.wants != nil && !s.wants(ev.Type) {
		return
	}
	select {
	case s.ch <- ev:
	default:
		s.dropped.Inc()
	}
}

func (s *Subscription) run() {
	defer close(s.done)
	for {
		select {
		case ev := <-s.ch:
			s.handle(ev, len(s.ch) > 0)
			s.reportDrops()
			if s.linger > 0 && len(s.ch) == 0 {
				// Batching, not synchronisation: let the next events gather.
				t := time.NewTimer(s.linger)
				select {
				case <-t.C:
				case <-s.stop:
					t.Stop()
				}
			}
		case <-s.stop:
			for {
				select {
				case ev := <-s.ch:
					s.handle(ev, len(s.ch) > 0)
				default:
					return
				}
			}
		}
	}
}

// reportDrops announces new drops once the channel has room again, so the
// announcement itself is not lost to the same congestion.
func (s *Subscription) reportDrops() {
	n := s.dropped.Load()
	last := s.reported.Load()
	if n == last || len(s.ch) > cap(s.ch)/2 || !s.reported.CompareAndSwap(last, n) {
		return
	}
	s.bus.Emit(Event{Type: ChannelDropping, Channel: s.channel, Count: int64(n - last),
		Text: "channel " + s.channel + " dropped events"})
}

// Close stops taking events, lets the handler finish the buffered ones and
// returns when it has.
func (s *Subscription) Close() {
	b := s.bus
	b.mu.Lock()
	old := *b.subs.Load()
	next := make([]*Subscription, 0, len(old))
	for _, o := range old {
		if o != s {
			next = append(next, o)
		}
	}
	b.subs.Store(&next)
	b.mu.Unlock()
	// The channel itself is never closed: an Emit that loaded the old list
	// may still offer to it, which must not panic.
	if s.closed.CompareAndSwap(false, true) {
		close(s.stop)
	}
	<-s.done
}
