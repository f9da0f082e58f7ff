package spool

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/gatewatch/gatewatch/internal/eventlog"
)

func TestRecover(t *testing.T) {
	dir := t.TempDir()
	first := openEnv(t, dir)
	var incoming, active, deferred, held []string
	for range 2 {
		incoming = append(incoming, commitSimple(t, first.sp, 1))
	}
	for range 3 {
		id := commitSimple(t, first.sp, 2)
		if err := first.sp.Move(id, Incoming, Active); err != nil {
			t.Fatal(err)
		}
		active = append(active, id)
	}
	for range 2 {
		id := commitSimple(t, first.sp, 1)
		if err := first.sp.Move(id, Incoming, Deferred); err != nil {
			t.Fatal(err)
		}
		deferred = append(deferred, id)
	}
	h := commitSimple(t, first.sp, 1)
	if err := first.sp.Hold(h); err != nil {
		t.Fatal(err)
	}
	held = append(held, h)
	heldBytes, _ := os.ReadFile(spoolPath(first, Hold, h))
	bad := commitSimple(t, first.sp, 1)
	if err := os.WriteFile(spoolPath(first, Incoming, bad), []byte("junk"), 0o640); err != nil {
		t.Fatal(err)
	}
	if _, err := first.sp.Load(Incoming, bad); !isCorrupt(err) {
		t.Fatal(err)
	}
	// Unfinished receptions: one draft never committed, one stray file.
	d, err := first.sp.NewDraft(first.sp.NewID(), 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Write([]byte("half a message")); err != nil {
		t.Fatal(err)
	}
	if err := d.EndContent(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, tmpDir, "stray"), []byte("x"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := first.sp.Close(); err != nil { // "crash": nothing cleaned up
		t.Fatal(err)
	}

	e := openEnv(t, dir)
	// Gauges start from whatever; Recover sets them from disk.
	e.st.QueueMessages.With(string(Incoming)).Set(99)
	e.st.QueueMessages.With(string(Active)).Set(-5)
	ready, waiting, err := e.sp.Recover()
	if err != nil {
		t.Fatal(err)
	}
	wantReady := slices.Sorted(slices.Values(append(slices.Clone(incoming), active...)))
	wantDeferred := slices.Sorted(slices.Values(deferred))
	if !slices.Equal(ready, wantReady) {
		t.Errorf("ready = %v, want %v", ready, wantReady)
	}
	if !slices.Equal(waiting, wantDeferred) {
		t.Errorf("deferred = %v, want %v", waiting, wantDeferred)
	}
	if names := dirNames(t, filepath.Join(dir, tmpDir)); len(names) != 0 {
		t.Errorf("tmp/ after Recover = %v", names)
	}
	if names := dirNames(t, filepath.Join(dir, string(Active))); len(names) != 0 {
		t.Errorf("active/ after Recover = %v", names)
	}
	if got, _ := e.sp.List(Hold); !slices.Equal(got, held) {
		t.Errorf("hold = %v, want %v", got, held)
	}
	if b, _ := os.ReadFile(spoolPath(e, Hold, h)); !bytes.Equal(b, heldBytes) {
		t.Error("held message changed")
	}
	for _, id := range active { // requeued messages are intact
		if _, err := e.sp.Load(Incoming, id); err != nil {
			t.Errorf("requeued %s: %v", id, err)
		}
	}
	wantGauges := map[QState]int64{Incoming: 5, Active: 0, Deferred: 2, Hold: 1}
	for st, want := range wantGauges {
		if got := e.gauge(st); got != want {
			t.Errorf("gauge %s = %d, want %d", st, got, want)
		}
	}
	if got := e.st.CorruptQueued.Load(); got != 1 {
		t.Errorf("corrupt gauge = %d, want 1", got)
	}

	// Recover is idempotent.
	ready2, waiting2, err := e.sp.Recover()
	if err != nil || !slices.Equal(ready2, ready) || !slices.Equal(waiting2, waiting) {
		t.Errorf("second Recover = %v, %v, %v", ready2, waiting2, err)
	}
	for st, want := range wantGauges {
		if got := e.gauge(st); got != want {
			t.Errorf("after second Recover: gauge %s = %d, want %d", st, got, want)
		}
	}
}

func TestRecoverEmptyAndNilStats(t *testing.T) {
	sp, err := Open(Config{Dir: t.TempDir()}, &eventlog.Recorder{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	ready, deferred, err := sp.Recover()
	if err != nil || len(ready) != 0 || len(deferred) != 0 {
		t.Fatalf("Recover(empty) = %v, %v, %v", ready, deferred, err)
	}
	// With no stats registry the spool still works.
	id := commitSimple(t, sp, 1)
	if err := sp.Hold(id); err != nil {
		t.Fatal(err)
	}
	if _, err := sp.Delete(id); err != nil {
		t.Fatal(err)
	}
}
