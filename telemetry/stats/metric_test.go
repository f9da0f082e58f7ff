package stats

import (
	"fmt"
	"math"
	"sort"
	"sync"
	"testing"
	"time"
)

const (
	goroutines = 32
	perG       = 1000
)

// parallel runs fn(g) in goroutines goroutines and waits for all of them.
func parallel(fn func(g int)) {
	var wg sync.WaitGroup
	start := make(chan struct{})
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start // maximise overlap
			fn(g)
		}()
	}
	close(start)
	wg.Wait()
}

func TestCounterConcurrent(t *testing.T) {
	var c Counter
	parallel(func(int) {
		for i := 0; i < perG; i++ {
			c.Inc()
			c.Add(2)
		}
	})
	if got, want := c.Load(), uint64(goroutines*perG*3); got != want {
		t.Errorf("Counter = %d, want %d", got, want)
	}
}

func TestGaugeConcurrent(t *testing.T) {
	var g Gauge
	parallel(func(n int) {
		for i := 0; i < perG; i++ {
			g.Add(3)
			g.Add(-1)
		}
	})
	if got, want := g.Load(), int64(goroutines*perG*2); got != want {
		t.Errorf("Gauge = %d, want %d", got, want)
	}
	g.Set(-5)
	if g.Load() != -5 {
		t.Errorf("Gauge.Set(-5) then Load = %d", g.Load())
	}
	if got := g.Add(10); got != 5 {
		t.Errorf("Add returns %d, want the new value 5", got)
	}
}

func TestHighWaterConcurrent(t *testing.T) {
	var h HighWater
	parallel(func(n int) {
		for i := 0; i < perG; i++ {
			h.Observe(int64(n*perG + i))
		}
	})
	if got, want := h.Load(), int64(goroutines*perG-1); got != want {
		t.Errorf("HighWater = %d, want %d", got, want)
	}
	h.Observe(3)
	if got, want := h.Load(), int64(goroutines*perG-1); got != want {
		t.Errorf("a lower value moved the mark to %d", got)
	}
}

// TestHighWaterTracksGauge is the SessionOpened pattern: the mark follows
// the gauge's peak while the gauge goes up and down concurrently.
func TestHighWaterTracksGauge(t *testing.T) {
	var g Gauge
	var h HighWater
	parallel(func(int) {
		for i := 0; i < perG; i++ {
			h.Observe(g.Add(1))
			g.Add(-1)
		}
	})
	if g.Load() != 0 {
		t.Errorf("gauge ended at %d, want 0", g.Load())
	}
	if m := h.Load(); m < 1 || m > goroutines {
		t.Errorf("high water %d, want between 1 and %d", m, goroutines)
	}
}

func TestFamily(t *testing.T) {
	f := newFamily(func() *Counter { return new(Counter) }, []string{"zeta", "alpha"})
	if got := f.Labels(); fmt.Sprint(got) != "[alpha zeta]" {
		t.Errorf("preset labels = %v, want sorted [alpha zeta]", got)
	}
	labels := []string{"m", "b", "x", "a", "alpha"}
	parallel(func(n int) {
		for i := 0; i < perG; i++ {
			f.With(labels[(n+i)%len(labels)]).Inc()
		}
	})
	got := f.Labels()
	if !sort.StringsAreSorted(got) {
		t.Errorf("Labels() not sorted: %v", got)
	}
	if fmt.Sprint(got) != "[a alpha b m x zeta]" {
		t.Errorf("Labels() = %v", got)
	}
	first, again := f.With("m"), f.With("m")
	if first != again {
		t.Errorf("With returns different members for one label")
	}
	if sum := SumCounters(f); sum != goroutines*perG {
		t.Errorf("SumCounters = %d, want %d", sum, goroutines*perG)
	}
	if f.With("zeta").Load() != 0 {
		t.Errorf("untouched preset member = %d", f.With("zeta").Load())
	}

	gf := newFamily(func() *Gauge { return new(Gauge) }, nil)
	if SumGauges(gf) != 0 || len(gf.Labels()) != 0 {
		t.Errorf("empty gauge family: sum %d labels %v", SumGauges(gf), gf.Labels())
	}
	gf.With("a").Set(5)
	gf.With("b").Set(-2)
	gf.With("c").Add(10)
	if got := SumGauges(gf); got != 13 {
		t.Errorf("SumGauges = %d, want 13", got)
	}
}

// durationOf converts a bound in seconds to the exact Duration.
func durationOf(sec float64) time.Duration { return time.Duration(math.Round(sec * 1e9)) }

// bucketOf observes d in a fresh histogram and returns the bucket index it
// landed in (len(bounds) for +Inf).
func bucketOf(t *testing.T, d time.Duration) int {
	t.Helper()
	h := newHistogram(LatencyBounds())
	h.Observe(d)
	v := h.Load()
	for i, c := range v.Cumulative {
		if c == 1 {
			return i
		}
	}
	if v.Count != 1 {
		t.Fatalf("Observe(%v): count %d", d, v.Count)
	}
	return len(v.Bounds)
}

// TestHistogramBoundaries checks Prometheus "le" semantics: a value equal
// to a bound counts in that bound's bucket, one nanosecond more in the next.
func TestHistogramBoundaries(t *testing.T) {
	bounds := LatencyBounds()
	if !sort.Float64sAreSorted(bounds) {
		t.Fatalf("LatencyBounds not sorted: %v", bounds)
	}
	for i, b := range bounds {
		if i > 0 && b == bounds[i-1] {
			t.Fatalf("duplicate bound %v", b)
		}
		d := durationOf(b)
		if d.Seconds() != b {
			t.Fatalf("bound %v is not a whole number of nanoseconds", b)
		}
		if got := bucketOf(t, d); got != i {
			t.Errorf("Observe(%v) (== bound le=%v) went to bucket %d, want %d", d, b, got, i)
		}
		if got := bucketOf(t, d+1); got != i+1 {
			t.Errorf("Observe(%v) (just above le=%v) went to bucket %d, want %d", d+1, b, got, i+1)
		}
		if got := bucketOf(t, d-1); got != i {
			t.Errorf("Observe(%v) (just below le=%v) went to bucket %d, want %d", d-1, b, got, i)
		}
	}
	if got := bucketOf(t, 0); got != 0 {
		t.Errorf("Observe(0) went to bucket %d, want 0", got)
	}
	if got := bucketOf(t, 24*time.Hour); got != len(bounds) {
		t.Errorf("Observe(24h) went to bucket %d, want +Inf (%d)", got, len(bounds))
	}
	if got := bucketOf(t, time.Duration(math.MaxInt64)); got != len(bounds) {
		t.Errorf("Observe(max) went to bucket %d, want +Inf", got)
	}
}

func TestHistogramCumulativeAndSum(t *testing.T) {
	h := newHistogram([]float64{0.01, 0.1, 1})
	for _, d := range []time.Duration{
		5 * time.Millisecond, 10 * time.Millisecond, // le=0.01
		50 * time.Millisecond,            // le=0.1
		time.Second,                      // le=1
		2 * time.Second, 3 * time.Second, // +Inf
		-4 * time.Second, // clamps to 0: le=0.01, adds nothing to the sum
	} {
		h.Observe(d)
	}
	v := h.Load()
	if fmt.Sprint(v.Cumulative) != "[3 4 5]" {
		t.Errorf("Cumulative = %v, want [3 4 5]", v.Cumulative)
	}
	if v.Count != 7 {
		t.Errorf("Count = %d, want 7", v.Count)
	}
	if want := 0.005 + 0.01 + 0.05 + 1 + 2 + 3; math.Abs(v.Sum-want) > 1e-12 {
		t.Errorf("Sum = %v s, want %v s (negative durations count as 0)", v.Sum, want)
	}
	if fmt.Sprint(v.Bounds) != "[0.01 0.1 1]" {
		t.Errorf("Bounds = %v", v.Bounds)
	}

	var empty = newHistogram(LatencyBounds()).Load()
	if empty.Count != 0 || empty.Sum != 0 || len(empty.Cumulative) != len(LatencyBounds()) {
		t.Errorf("empty histogram: %+v", empty)
	}
}

func TestHistogramConcurrent(t *testing.T) {
	h := newHistogram(LatencyBounds())
	parallel(func(n int) {
		for i := 0; i < perG; i++ {
			h.Observe(time.Duration(i) * time.Millisecond)
		}
	})
	v := h.Load()
	if v.Count != goroutines*perG {
		t.Errorf("Count = %d, want %d", v.Count, goroutines*perG)
	}
	// Sum of 0..999 ms per goroutine.
	if want := float64(goroutines) * 999 * 1000 / 2 / 1000; math.Abs(v.Sum-want) > 1e-6 {
		t.Errorf("Sum = %v, want %v", v.Sum, want)
	}
	for i := 1; i < len(v.Cumulative); i++ {
		if v.Cumulative[i] < v.Cumulative[i-1] {
			t.Errorf("cumulative counts decrease at %d: %v", i, v.Cumulative)
		}
	}
}

func TestKindString(t *testing.T) {
	for k, want := range map[Kind]string{KindCounter: "counter", KindGauge: "gauge", KindHistogram: "histogram", 0: "unknown", 99: "unknown"} {
		if k.String() != want {
			t.Errorf("Kind(%d).String() = %q, want %q", k, k.String(), want)
		}
	}
}
