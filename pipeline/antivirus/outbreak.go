package antivirus

import (
	"sync"
	"time"

	"github.com/gatewatch/gatewatch/telemetry"
)

// outbreakWindow counts detections over the last hour in minute buckets
// and keeps the alarm's state: raised once when the count reaches the
// threshold, repeated every hour while it stays there, cleared below it.
type outbreakWindow struct {
	mu        sync.Mutex
	threshold int
	counts    [60]int
	minutes   [60]int64 // the minute each bucket counts
	raised    bool
	lastAlarm time.Time
}

func newOutbreakWindow(threshold int) *outbreakWindow {
	return &outbreakWindow{threshold: threshold}
}

func (w *outbreakWindow) setThreshold(n int) {
	w.mu.Lock()
	w.threshold = n
	w.mu.Unlock()
}

func (w *outbreakWindow) lastHour(now time.Time) int {
	min := now.Unix() / 60
	n := 0
	for i, m := range w.minutes {
		if m > min-60 && m <= min {
			n += w.counts[i]
		}
	}
	return n
}

// observe counts detections (0 on a tick) and says which alarm event, if
// any, is due.
func (w *outbreakWindow) observe(now time.Time, detections int) (count int, due telemetry.Type, threshold int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if detections > 0 {
		min := now.Unix() / 60
		i := min % 60
		if w.minutes[i] != min {
			w.minutes[i], w.counts[i] = min, 0
		}
		w.counts[i] += detections
	}
	count = w.lastHour(now)
	switch {
	case w.threshold > 0 && count >= w.threshold && (!w.raised || now.Sub(w.lastAlarm) >= time.Hour):
		w.raised, w.lastAlarm = true, now
		return count, telemetry.Outbreak, w.threshold
	case w.raised && (w.threshold == 0 || count < w.threshold):
		w.raised = false
		return count, telemetry.OutbreakOver, w.threshold
	}
	return count, 0, w.threshold
}

// detected counts one infected object towards the outbreak alarm.
func (s *Stage) detected(threat string) {
	s.outbreakEvent(1, threat)
}

// outbreakEvent updates the alarm with n new detections; threat names
// the one that tipped it, when one did.
func (s *Stage) outbreakEvent(n int, threat string) {
	count, due, threshold := s.outbreak.observe(s.clock(), n)
	s.st.AVLastHour.Set(int64(count))
	if due == 0 {
		return
	}
	ev := telemetry.Event{Type: due, Stage: Name, Count: int64(count), Threshold: int64(threshold)}
	if due == telemetry.Outbreak && threat != "" {
		ev.Text = "latest: " + threat
	}
	s.emit.Emit(ev)
}
