package store

import (
	"sort"
	"time"

	"github.com/gatewatch/gatewatch/telemetry"
)

// Start runs retention every configured interval until Stop.
func (s *Store) Start() {
	s.stop, s.done = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(s.done)
		for {
			s.Expire(time.Now())
			t := time.NewTimer(s.cfg.Load().Interval)
			select {
			case <-s.stop:
				t.Stop()
				return
			case <-t.C:
			}
		}
	}()
}

// Stop ends the retention loop.
func (s *Store) Stop() {
	if s.stop != nil {
		close(s.stop)
		<-s.done
		s.stop = nil
	}
}

// Expire enforces retention as of now: entries over the age limit go,
// then the oldest until each box is within its size limit.
func (s *Store) Expire(now time.Time) {
	cfg := s.cfg.Load()
	for box, r := range map[string]Retention{Quarantine: cfg.Quarantine, Received: cfg.Archive.Retention, Sent: cfg.Archive.Retention} {
		s.expireBox(box, r, now)
	}
}

type expired struct {
	count, bytes int64
}

func (s *Store) expireBox(box string, r Retention, now time.Time) {
	s.mu.Lock()
	all := make([]*Entry, 0, len(s.entries[box]))
	for _, e := range s.entries[box] {
		all = append(all, e)
	}
	total := s.bytes[box]
	s.mu.Unlock()
	sort.Slice(all, func(i, j int) bool { return all[i].Stored.Before(all[j].Stored) })

	var gone []*Entry
	before := total
	bySize := false
	for _, e := range all {
		old := r.MaxAge > 0 && now.Sub(e.Stored) > r.MaxAge
		over := r.MaxBytes > 0 && total > r.MaxBytes
		if !old && !over {
			break // sorted by age: the rest are younger and the box fits
		}
		bySize = bySize || !old
		gone = append(gone, e)
		total -= e.Size
	}
	perCategory := map[string]*expired{}
	for _, e := range gone {
		if _, err := s.take(box, e.ID); err != nil {
			continue // released or deleted meanwhile
		}
		x := perCategory[e.Category]
		if x == nil {
			x = &expired{}
			perCategory[e.Category] = x
		}
		x.count++
		x.bytes += e.Size
	}
	if bySize {
		s.emit.Emit(telemetry.Event{Type: telemetry.StoreFull, Category: box, Count: before >> 20, Threshold: r.MaxBytes >> 20,
			Text: "size limit reached, oldest entries removed"})
	}
	typ := telemetry.ArchiveExpired
	if box == Quarantine {
		typ = telemetry.QuarantineExpired
	}
	for cat, x := range perCategory {
		s.emit.Emit(telemetry.Event{Type: typ, Category: cat, Count: x.count, Size: x.bytes})
	}
}
