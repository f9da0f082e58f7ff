package stats

import (
	"sort"
	"sync"
)

// TopCounters counts per label value like a CounterFamily, but for labels
// nobody can enumerate in advance (threat names): it keeps the max most
// counted and forgets the least counted one to make room for a new one.
// A newcomer starts at 1, so a steady stream of one-off names churns among
// themselves and never pushes out a name seen many times.
type TopCounters struct {
	max     int
	mu      sync.Mutex
	m       map[string]uint64
	evicted Counter
}

func newTopCounters(max int) *TopCounters {
	return &TopCounters{max: max, m: make(map[string]uint64, max)}
}

// Inc counts one more for label.
func (t *TopCounters) Inc(label string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.m[label]; ok || len(t.m) < t.max {
		t.m[label]++
		return
	}
	least, n := "", ^uint64(0)
	for l, v := range t.m {
		if v < n || (v == n && l < least) {
			least, n = l, v
		}
	}
	delete(t.m, least)
	t.evicted.Inc()
	t.m[label] = 1
}

// Evicted is how many label values were forgotten to keep the size.
func (t *TopCounters) Evicted() uint64 { return t.evicted.Load() }

func (t *TopCounters) members() []LabelValue {
	t.mu.Lock()
	out := make([]LabelValue, 0, len(t.m))
	for l, v := range t.m {
		out = append(out, LabelValue{Label: l, Value: v})
	}
	t.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Label < out[j].Label })
	return out
}
