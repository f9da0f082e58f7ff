// Package stats holds every number Gatewatch knows about itself. Exporters
// (Prometheus, the AgentX subagent, /stats) only read from here, so the same
// figure always has the same value on every channel.
package stats

import (
	"sort"
	"sync"
	"sync/atomic"
)

// Kind tells exporters how a figure behaves.
type Kind uint8

const (
	// KindCounter only ever grows (until restart).
	KindCounter Kind = iota + 1
	// KindGauge goes up and down.
	KindGauge
	// KindHistogram is a latency distribution.
	KindHistogram
)

func (k Kind) String() string {
	switch k {
	case KindCounter:
		return "counter"
	case KindGauge:
		return "gauge"
	case KindHistogram:
		return "histogram"
	}
	return "unknown"
}

// Desc describes one figure. Names follow Prometheus conventions without the
// "gatewatch_" prefix; Legacy carries the replaced product's statistic name.
type Desc struct {
	Name string
	Help string
	Kind Kind
	// Label is the name of the single label of a family ("route", "reason",
	// ...); empty for a scalar.
	Label string
	// Legacy is the replaced product's name for the scalar or, for a family,
	// for the sum over all label values. Empty when it has none.
	Legacy string
	// LegacyEach, for a family, is a fmt pattern with one %s that names the
	// figure of each label value in the replaced product's style.
	LegacyEach string
	// Arc is the figure's stable sub-identifier below the MIB's statistics
	// node (or its column in a table); it never changes once released.
	Arc uint32
	// SumArc, for a histogram, is where the MIB shows the summed time.
	SumArc uint32
	// Table, for a family, names the MIB table it is a column of; families
	// with the same label values share a table.
	Table string
	// MIBOnly keeps a family out of Prometheus: its label values come from
	// outside (threat names) and would make unbounded series; the MIB table
	// and /stats show its bounded top members.
	MIBOnly bool
}

// Counter is a monotonically increasing count.
type Counter struct{ v atomic.Uint64 }

// Add increases the counter by n.
func (c *Counter) Add(n uint64) { c.v.Add(n) }

// Inc increases the counter by one.
func (c *Counter) Inc() { c.v.Add(1) }

// Load returns the current value.
func (c *Counter) Load() uint64 { return c.v.Load() }

// Gauge is a value that goes up and down. It never reports below zero.
type Gauge struct{ v atomic.Int64 }

// Add changes the gauge by d and returns the new value.
func (g *Gauge) Add(d int64) int64 { return g.v.Add(d) }

// Set replaces the value.
func (g *Gauge) Set(v int64) { g.v.Store(v) }

// Load returns the current value.
func (g *Gauge) Load() int64 { return g.v.Load() }

// HighWater remembers the largest value it was shown.
type HighWater struct{ v atomic.Int64 }

// Observe raises the mark to v if v is larger.
func (h *HighWater) Observe(v int64) {
	for {
		cur := h.v.Load()
		if v <= cur || h.v.CompareAndSwap(cur, v) {
			return
		}
	}
}

// Load returns the mark.
func (h *HighWater) Load() int64 { return h.v.Load() }

// Family is a set of figures of one kind told apart by one label value
// (route, reason, channel, ...). Members are created on first use.
type Family[T any] struct {
	newT func() *T
	mu   sync.RWMutex
	m    map[string]*T
}

func newFamily[T any](newT func() *T, preset []string) *Family[T] {
	f := &Family[T]{newT: newT, m: make(map[string]*T, len(preset))}
	for _, l := range preset {
		f.m[l] = newT()
	}
	return f
}

// With returns the member for one label value.
func (f *Family[T]) With(label string) *T {
	f.mu.RLock()
	v := f.m[label]
	f.mu.RUnlock()
	if v != nil {
		return v
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if v = f.m[label]; v == nil {
		v = f.newT()
		f.m[label] = v
	}
	return v
}

// Labels lists the label values seen so far, sorted.
func (f *Family[T]) Labels() []string {
	f.mu.RLock()
	labels := make([]string, 0, len(f.m))
	for l := range f.m {
		labels = append(labels, l)
	}
	f.mu.RUnlock()
	sort.Strings(labels)
	return labels
}

// CounterFamily counts per label value.
type CounterFamily = Family[Counter]

// GaugeFamily holds a gauge per label value.
type GaugeFamily = Family[Gauge]

// HistogramFamily holds a latency histogram per label value.
type HistogramFamily = Family[Histogram]

// SumCounters adds up every member of a counter family.
func SumCounters(f *CounterFamily) uint64 {
	var s uint64
	for _, l := range f.Labels() {
		s += f.With(l).Load()
	}
	return s
}

// SumGauges adds up every member of a gauge family.
func SumGauges(f *GaugeFamily) int64 {
	var s int64
	for _, l := range f.Labels() {
		s += f.With(l).Load()
	}
	return s
}

// Text is a short string figure (a last error, say) for exporters that can
// show text; Prometheus does not.
type Text struct{ v atomic.Pointer[string] }

// Set replaces the text.
func (t *Text) Set(s string) { t.v.Store(&s) }

// Load returns the text, or "" when never set.
func (t *Text) Load() string {
	if p := t.v.Load(); p != nil {
		return *p
	}
	return ""
}

// TextFamily holds a text per label value.
type TextFamily = Family[Text]
