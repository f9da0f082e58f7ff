package notify

import (
	"strings"
	"sync"
	"time"
)

const (
	// window is the span the rate limit counts over.
	window = time.Hour
	// sweepAbove is the number of tracked addresses past which idle ones
	// are forgotten. An outbreak of spam to many addresses must not grow
	// the limiter without end.
	sweepAbove = 10000
)

// limiter allows each address at most a given number of notifications in
// any rolling window. It keeps the times of the notifications each
// address got within the window, so the limit holds exactly, also across
// what a fixed window would count as two hours.
type limiter struct {
	mu      sync.Mutex
	sent    map[string][]time.Time // by lower-cased address, oldest first
	sweepAt int                    // map size that triggers the next sweep
}

func newLimiter() *limiter {
	return &limiter{sent: map[string][]time.Time{}, sweepAt: sweepAbove}
}

// allow reports whether addr may get one more notification at now and, if
// so, counts it.
func (l *limiter) allow(addr string, perWindow int, now time.Time) bool {
	key := strings.ToLower(addr)
	l.mu.Lock()
	defer l.mu.Unlock()
	times := inWindow(l.sent[key], now)
	if len(times) >= perWindow {
		l.sent[key] = times
		return false
	}
	l.sent[key] = append(times, now)
	if len(l.sent) > l.sweepAt {
		l.sweep(now)
	}
	return true
}

// inWindow drops the times that have left the window ending at now.
func inWindow(times []time.Time, now time.Time) []time.Time {
	start := now.Add(-window)
	i := 0
	for i < len(times) && !times[i].After(start) {
		i++
	}
	return times[i:]
}

// sweep forgets the addresses with nothing in the window. When most are
// still active the next sweep waits for the map to double, so that sweeps
// cost O(1) per notification on average.
func (l *limiter) sweep(now time.Time) {
	for k, times := range l.sent {
		if len(inWindow(times, now)) == 0 {
			delete(l.sent, k)
		}
	}
	l.sweepAt = max(sweepAbove, 2*len(l.sent))
}
