package spool

import (
	"math"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestIDsUniqueAndValid(t *testing.T) {
	g := NewIDs()
	const n = 100_000
	seen := make(map[string]struct{}, n)
	for range n {
		id := g.New()
		if !ValidID(id) {
			t.Fatalf("New() = %q, not a valid ID", id)
		}
		if _, dup := seen[id]; dup {
			t.Fatalf("duplicate ID %q after %d", id, len(seen))
		}
		seen[id] = struct{}{}
	}
}

func TestIDsUniqueConcurrent(t *testing.T) {
	g := NewIDs()
	const workers, each = 8, 10_000
	out := make([][]string, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for range each {
				out[w] = append(out[w], g.New())
			}
		})
	}
	wg.Wait()
	seen := map[string]bool{}
	for _, ids := range out {
		for _, id := range ids {
			if seen[id] {
				t.Fatalf("duplicate ID %q", id)
			}
			seen[id] = true
		}
	}
	if len(seen) != workers*each {
		t.Fatalf("%d IDs, want %d", len(seen), workers*each)
	}
}

// Two generators (two processes, or a restart) start their counters at
// random values; IDs still sort by time across microseconds.
func TestIDsSortByCreationAcrossMicroseconds(t *testing.T) {
	gens := []*IDs{NewIDs(), NewIDs()}
	var ids []string
	for i := range 200 {
		ids = append(ids, gens[i%2].New())
		// Wait for the clock to move on: the next ID is in a later
		// microsecond (a clock wait, not a synchronisation).
		for start := time.Now().UnixMicro(); time.Now().UnixMicro() <= start; {
		}
	}
	for i := 1; i < len(ids); i++ {
		if ids[i-1] >= ids[i] {
			t.Fatalf("ID %d %q does not sort after ID %d %q", i, ids[i], i-1, ids[i-1])
		}
	}
}

// The first 10 characters are the creation time in microseconds. They hold
// 50 bits, so the value is the time modulo 2^50 µs (about 35.7 years; it
// last wrapped in 2005 and wraps again in 2041, when sorting by ID stops
// following arrival across the wrap).
func TestIDTimePrefix(t *testing.T) {
	before := time.Now().UnixMicro()
	id := NewIDs().New()
	after := time.Now().UnixMicro()
	var v int64
	for i := range timeChars {
		v = v<<5 | int64(strings.IndexByte(crockford, id[i]))
	}
	if v < before || v > after {
		t.Fatalf("ID %s time prefix %d not within [%d, %d]", id, v, before, after)
	}
}

func TestIDCounterWraps(t *testing.T) {
	g := NewIDs()
	g.seq.Store(math.MaxUint32 - 1)
	a, b := g.New(), g.New() // counters 2^32-1 and 0: the low 25 bits show
	if a[timeChars:] != "ZZZZZ" || b[timeChars:] != "00000" {
		t.Fatalf("counter suffixes %q, %q; want ZZZZZ, 00000", a[timeChars:], b[timeChars:])
	}
	if a == b || !ValidID(a) || !ValidID(b) {
		t.Fatalf("IDs around the counter wrap: %q, %q", a, b)
	}
}

func TestValidID(t *testing.T) {
	good := []string{
		"0123456789ABCDEF",
		"GHJKMNPQRSTVWXYZ",
		"0000000000000000",
		"ZZZZZZZZZZZZZZZZ",
	}
	for _, s := range good {
		if !ValidID(s) {
			t.Errorf("ValidID(%q) = false", s)
		}
	}
	base := "0123456789ABCDEF"
	bad := []string{"", "0", base[:15], base + "0", base + base}
	for _, c := range "ILOUilouabz-_./\\ \x00\xff" {
		bad = append(bad, base[:15]+string(c), string(c)+base[1:])
	}
	bad = append(bad, strings.ToLower(base), "0123456789ABCDE\u00e9"[:16])
	for _, s := range bad {
		if ValidID(s) {
			t.Errorf("ValidID(%q) = true", s)
		}
	}
	// Every character of the alphabet is accepted in every position.
	for i := range IDLen {
		for _, c := range crockford {
			s := base[:i] + string(c) + base[i+1:]
			if !ValidID(s) {
				t.Fatalf("ValidID(%q) = false", s)
			}
		}
	}
}

func TestSpoolNewIDIsValid(t *testing.T) {
	e := newEnv(t)
	a, b := e.sp.NewID(), e.sp.NewID()
	if !ValidID(a) || !ValidID(b) || a == b {
		t.Fatalf("NewID gave %q, %q", a, b)
	}
}

func TestIDTimeRoundTrip(t *testing.T) {
	before := time.Now().Truncate(time.Microsecond)
	id := NewIDs().New()
	at, ok := IDTime(id)
	if !ok || at.Before(before) || at.After(time.Now()) {
		t.Fatalf("IDTime(%s) = %v, %v; made at %v", id, at, ok, before)
	}
	if _, ok := IDTime("not-an-id"); ok {
		t.Error("IDTime accepted a non-ID")
	}
}
