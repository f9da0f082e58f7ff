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

func TestIntroduceCreatesEveryMemberOfTheTable(t *testing.T) {
	st := New(Presets{})
	st.Introduce("route", "mx1")
	snap := st.Snapshot()
	for _, name := range []string{"route_deferred_recipients_total", "route_bounced_recipients_total", "route_up", "route_connection_failures_total"} {
		if _, ok := snap.Lookup(name, "mx1"); !ok {
			t.Errorf("%s{route=mx1} not introduced", name)
		}
	}
	found := false
	for _, h := range snap.Histograms {
		found = found || (h.Desc.Name == "delivery_duration_seconds" && h.Label == "mx1")
	}
	if !found {
		t.Error("delivery_duration_seconds{route=mx1} not introduced")
	}
	if _, ok := snap.Lookup("av_scans_total", "mx1"); ok {
		t.Error("a route name reached the scanner table")
	}
}
