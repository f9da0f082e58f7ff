package stats

import (
	"math"
	"sort"
	"sync/atomic"
	"time"
)

// LatencyBounds are the upper bounds, in seconds, of the latency histograms:
// from half a millisecond (a spool write) to five minutes (a slow next hop).
func LatencyBounds() []float64 {
	return []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300}
}

// Histogram counts durations into fixed buckets without locks.
type Histogram struct {
	bounds []float64
	counts []atomic.Uint64 // one per bound plus +Inf
	sumNs  atomic.Uint64
}

func newHistogram(bounds []float64) *Histogram {
	return &Histogram{bounds: bounds, counts: make([]atomic.Uint64, len(bounds)+1)}
}

// Observe records one duration.
func (h *Histogram) Observe(d time.Duration) {
	if d < 0 {
		d = 0
	}
	s := d.Seconds()
	i := sort.SearchFloat64s(h.bounds, s)
	h.counts[i].Add(1)
	h.sumNs.Add(uint64(d))
}

// HistogramValue is a consistent-enough copy of a histogram: cumulative
// bucket counts in the order of Bounds, then the total.
type HistogramValue struct {
	Bounds     []float64
	Cumulative []uint64
	Count      uint64
	Sum        float64 // seconds
}

// Load copies the histogram.
func (h *Histogram) Load() HistogramValue {
	v := HistogramValue{Bounds: h.bounds, Cumulative: make([]uint64, len(h.bounds))}
	var acc uint64
	for i := range h.bounds {
		acc += h.counts[i].Load()
		v.Cumulative[i] = acc
	}
	v.Count = acc + h.counts[len(h.bounds)].Load()
	v.Sum = float64(h.sumNs.Load()) / float64(time.Second)
	if math.IsNaN(v.Sum) {
		v.Sum = 0
	}
	return v
}
