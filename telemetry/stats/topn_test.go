package stats

import (
	"fmt"
	"testing"
)

func TestTopCountersKeepTheMostCounted(t *testing.T) {
	top := newTopCounters(3)
	for i, n := range []int{5, 3, 2} {
		for range n {
			top.Inc(fmt.Sprintf("frequent-%d", i))
		}
	}
	for i := range 10 {
		top.Inc(fmt.Sprintf("once-%d", i)) // each pushes out the least counted
	}
	got := map[string]uint64{}
	for _, m := range top.members() {
		got[m.Label] = m.Value
	}
	if len(got) != 3 {
		t.Fatalf("%d members, want the size 3: %v", len(got), got)
	}
	if got["frequent-0"] != 5 || got["frequent-1"] != 3 {
		t.Errorf("the two most counted were not kept with their counts: %v", got)
	}
	if got["once-9"] != 1 {
		t.Errorf("the newest name is not in the table: %v", got)
	}
	// frequent-2 (2) goes first, then nine one-off names replace each other.
	if top.Evicted() != 10 {
		t.Errorf("evicted %d, want 10", top.Evicted())
	}
}
