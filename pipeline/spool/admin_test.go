package spool

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

var badIDs = []string{
	"../etc/passwd",
	"",
	"0123456789abcdef",        // lowercase
	"0123456789ABCDEFG",       // 17 characters
	"0123456789ABCDE",         // 15 characters
	"0123456789ABCDEI",        // I is not Crockford base32
	"0123456789ABCDEO",        // nor O
	"../../../../../../tmp/x", // path
	"0123456789ABCD/.",
	"0123456789ABCD\x00E",
}

func TestAdminInvalidIDs(t *testing.T) {
	e := newEnv(t)
	id := commitSimple(t, e.sp, 1)
	// Something an escaping path could hit.
	outside := filepath.Join(filepath.Dir(e.dir), "passwd")
	if err := os.WriteFile(outside, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, bad := range badIDs {
		ops := map[string]error{
			"Hold":    e.sp.Hold(bad),
			"Release": e.sp.Release(bad),
			"Move":    e.sp.Move(bad, Incoming, Hold),
			"Remove":  e.sp.Remove(bad, Incoming),
		}
		_, ops["Delete"] = e.sp.Delete(bad)
		_, ops["Load"] = e.sp.Load(Incoming, bad)
		_, ops["Find"] = e.sp.Find(bad)
		if bad != "" { // "" means "all" to FlushDeferred
			_, ops["FlushDeferred"] = e.sp.FlushDeferred(bad)
		}
		for op, err := range ops {
			if err == nil || !strings.Contains(err.Error(), "invalid queue ID") {
				t.Errorf("%s(%q) = %v, want an invalid queue ID error", op, bad, err)
			}
			if errors.Is(err, ErrNotFound) {
				t.Errorf("%s(%q): an invalid ID reported as not found", op, bad)
			}
		}
	}
	if !exists(outside) || !exists(spoolPath(e, Incoming, id)) {
		t.Fatal("an invalid ID touched a file")
	}
	if e.gauge(Incoming) != 1 || e.gauge(Hold) != 0 {
		t.Fatalf("gauges changed: incoming=%d hold=%d", e.gauge(Incoming), e.gauge(Hold))
	}
}

func TestAdminNotFound(t *testing.T) {
	e := newEnv(t)
	missing := e.sp.NewID()
	ops := map[string]error{
		"Hold":    e.sp.Hold(missing),
		"Release": e.sp.Release(missing),
	}
	_, ops["Delete"] = e.sp.Delete(missing)
	_, ops["FlushDeferred"] = e.sp.FlushDeferred(missing)
	_, ops["Find"] = e.sp.Find(missing)
	for op, err := range ops {
		if !errors.Is(err, ErrNotFound) {
			t.Errorf("%s(missing) = %v, want ErrNotFound", op, err)
		}
	}

	// In the wrong state is not found for that operation, and changes
	// nothing.
	id := commitSimple(t, e.sp, 1)
	if err := e.sp.Release(id); !errors.Is(err, ErrNotFound) {
		t.Errorf("Release(incoming message) = %v, want ErrNotFound", err)
	}
	if n, err := e.sp.FlushDeferred(id); !errors.Is(err, ErrNotFound) || n != 0 {
		t.Errorf("FlushDeferred(incoming message) = %d, %v, want 0, ErrNotFound", n, err)
	}
	if err := e.sp.Hold(id); err != nil {
		t.Fatal(err)
	}
	if err := e.sp.Hold(id); !errors.Is(err, ErrNotFound) {
		t.Errorf("Hold(held message) = %v, want ErrNotFound", err)
	}
	if !exists(spoolPath(e, Hold, id)) || e.gauge(Hold) != 1 || e.gauge(Incoming) != 0 {
		t.Errorf("failed operations moved the message: hold gauge %d", e.gauge(Hold))
	}
}

func TestAdminActiveIsBusy(t *testing.T) {
	e := newEnv(t)
	id := commitSimple(t, e.sp, 1)
	if err := e.sp.Move(id, Incoming, Active); err != nil {
		t.Fatal(err)
	}
	_, derr := e.sp.Delete(id)
	for op, err := range map[string]error{"Hold": e.sp.Hold(id), "Delete": derr} {
		if err == nil || !strings.Contains(err.Error(), "being delivered") || errors.Is(err, ErrNotFound) {
			t.Errorf("%s(active) = %v, want a being-delivered error", op, err)
		}
	}
	if !exists(spoolPath(e, Active, id)) {
		t.Fatal("active message touched")
	}
}

func TestAdminHoldReleaseDeleteFlush(t *testing.T) {
	e := newEnv(t)
	inc := commitSimple(t, e.sp, 1)
	def1 := commitSimple(t, e.sp, 1)
	def2 := commitSimple(t, e.sp, 2)
	def3 := commitSimple(t, e.sp, 1)
	for _, id := range []string{def1, def2, def3} {
		if err := e.sp.Move(id, Incoming, Deferred); err != nil {
			t.Fatal(err)
		}
	}
	check := func(step string, want map[QState][]string) {
		t.Helper()
		for _, st := range append(QueueStates(), Corrupt) {
			got, err := e.sp.List(st)
			if err != nil {
				t.Fatal(err)
			}
			w := slices.Clone(want[st])
			slices.Sort(w)
			if !slices.Equal(got, w) {
				t.Errorf("%s: %s = %v, want %v", step, st, got, w)
			}
			var g int64
			if st == Corrupt {
				g = e.st.CorruptQueued.Load()
			} else {
				g = e.gauge(st)
			}
			if g != int64(len(w)) {
				t.Errorf("%s: gauge %s = %d, want %d", step, st, g, len(w))
			}
		}
	}
	check("start", map[QState][]string{Incoming: {inc}, Deferred: {def1, def2, def3}})

	if err := e.sp.Hold(inc); err != nil {
		t.Fatal(err)
	}
	if err := e.sp.Hold(def1); err != nil {
		t.Fatal(err)
	}
	check("hold", map[QState][]string{Hold: {inc, def1}, Deferred: {def2, def3}})

	if err := e.sp.Release(def1); err != nil {
		t.Fatal(err)
	}
	check("release", map[QState][]string{Hold: {inc}, Incoming: {def1}, Deferred: {def2, def3}})

	if n, err := e.sp.FlushDeferred(def2); err != nil || n != 1 {
		t.Fatalf("FlushDeferred(one) = %d, %v", n, err)
	}
	check("flush one", map[QState][]string{Hold: {inc}, Incoming: {def1, def2}, Deferred: {def3}})

	if err := e.sp.Move(def1, Incoming, Deferred); err != nil {
		t.Fatal(err)
	}
	if n, err := e.sp.FlushDeferred(""); err != nil || n != 2 {
		t.Fatalf("FlushDeferred(all) = %d, %v", n, err)
	}
	check("flush all", map[QState][]string{Hold: {inc}, Incoming: {def1, def2, def3}})
	if n, err := e.sp.FlushDeferred(""); err != nil || n != 0 {
		t.Fatalf("FlushDeferred(all) with none deferred = %d, %v", n, err)
	}

	// Delete from every state that allows it, corrupt included.
	if st, err := e.sp.Delete(inc); err != nil || st != Hold {
		t.Fatalf("Delete(held) = %q, %v", st, err)
	}
	if err := e.sp.Move(def3, Incoming, Deferred); err != nil {
		t.Fatal(err)
	}
	if st, err := e.sp.Delete(def3); err != nil || st != Deferred {
		t.Fatalf("Delete(deferred) = %q, %v", st, err)
	}
	if st, err := e.sp.Delete(def1); err != nil || st != Incoming {
		t.Fatalf("Delete(incoming) = %q, %v", st, err)
	}
	check("deletes", map[QState][]string{Incoming: {def2}})

	path := spoolPath(e, Incoming, def2)
	if err := os.WriteFile(path, []byte("garbage"), 0o640); err != nil {
		t.Fatal(err)
	}
	if _, err := e.sp.Load(Incoming, def2); !isCorrupt(err) {
		t.Fatalf("Load(garbage) = %v", err)
	}
	check("quarantined", map[QState][]string{Corrupt: {def2}})
	if st, err := e.sp.Delete(def2); err != nil || st != Corrupt {
		t.Fatalf("Delete(corrupt) = %q, %v", st, err)
	}
	check("all deleted", nil)
	if _, err := e.sp.Delete(def2); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Delete twice = %v, want ErrNotFound", err)
	}
}
