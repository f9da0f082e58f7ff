package traps

import (
	"time"

	"github.com/gatewatch/gatewatch/telemetry"
)

// guard is the storm guard: per event type, a token bucket holding at most
// burst tokens that refills burst tokens per interval. A flapping route or
// a queue hovering at its threshold would otherwise page the NOC many times
// a second; what is held back is counted and reported in the next
// notification of that type that goes out, so the receiver still learns how
// bad it was. It is not safe for concurrent use: the Sender locks around it.
type guard struct {
	burst    float64
	interval time.Duration
	buckets  map[telemetry.Type]*bucket
}

type bucket struct {
	tokens     float64
	last       time.Time // when tokens was last brought up to date
	suppressed uint64    // held back since the last one admitted
}

func newGuard(burst int, interval time.Duration) *guard {
	return &guard{burst: float64(burst), interval: interval, buckets: map[telemetry.Type]*bucket{}}
}

// admit reports whether a notification of type t may go out at now and, if
// so, how many of that type were held back since the last one that went
// out (the count then starts again).
func (g *guard) admit(t telemetry.Type, now time.Time) (ok bool, suppressed uint64) {
	b := g.buckets[t]
	if b == nil {
		b = &bucket{tokens: g.burst, last: now}
		g.buckets[t] = b
	}
	if elapsed := now.Sub(b.last); elapsed > 0 {
		b.tokens = min(g.burst, b.tokens+g.burst*float64(elapsed)/float64(g.interval))
		b.last = now
	}
	if b.tokens < 1 {
		b.suppressed++
		return false, 0
	}
	b.tokens--
	suppressed, b.suppressed = b.suppressed, 0
	return true, suppressed
}
