package store

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatewatch/gatewatch/internal/eventlog"
	"github.com/gatewatch/gatewatch/pipeline/spool"
	"github.com/gatewatch/gatewatch/telemetry"
	"github.com/gatewatch/gatewatch/telemetry/stats"
)

func testConfig(dir string) Config {
	return Config{Dir: dir, Interval: time.Hour, Quarantine: Retention{MaxAge: 24 * time.Hour}}
}

func openStore(t *testing.T, cfg Config) (*Store, *eventlog.Recorder, *stats.Stats) {
	t.Helper()
	st := telemetry.NewStats()
	rec := &eventlog.Recorder{Next: telemetry.NewBus(st)}
	s, err := Open(cfg, rec, st)
	if err != nil {
		t.Fatal(err)
	}
	return s, rec, st
}

func quarantined(ids *spool.IDs, category, from string, rcpts ...string) Entry {
	return Entry{ID: ids.New(), Box: Quarantine, Category: category, From: from, Recipients: rcpts, Status: "spam", Group: "staff"}
}

func TestPutListShowSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	s, rec, st := openStore(t, testConfig(dir))
	ids := spool.NewIDs()
	a := quarantined(ids, "spam", "a@ext.test", "u1@corp.test")
	b := quarantined(ids, "virus", "b@ext.test", "u2@corp.test", "u3@corp.test")
	for _, e := range []Entry{a, b} {
		if err := s.Put(e, strings.NewReader("Subject: x\r\n\r\nbody of "+e.ID+"\r\n")); err != nil {
			t.Fatal(err)
		}
	}
	info, err := os.Stat(filepath.Join(dir, "quarantine", "spam", a.ID+".eml"))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("content file: %v, mode %v", err, info.Mode())
	}
	if got := st.QuarantineMessages.With("virus").Load(); got != 1 {
		t.Errorf("quarantine_messages{virus} = %d, want 1", got)
	}
	if n := len(rec.OfType(telemetry.QuarantineAdded)); n != 2 {
		t.Errorf("%d quarantine.added events, want 2", n)
	}

	s2, _, st2 := openStore(t, testConfig(dir)) // a restart: the index is read back
	for _, c := range []struct {
		f    Filter
		want []string
	}{
		{Filter{}, []string{a.ID, b.ID}},
		{Filter{Category: "virus"}, []string{b.ID}},
		{Filter{Sender: "*@ext.test"}, []string{a.ID, b.ID}},
		{Filter{Recipient: "u3@corp.test"}, []string{b.ID}},
		{Filter{Since: time.Now().Add(time.Hour)}, nil},
	} {
		got, err := s2.List(c.f)
		if err != nil {
			t.Fatal(err)
		}
		var gotIDs []string
		for _, e := range got {
			gotIDs = append(gotIDs, e.ID)
		}
		if strings.Join(gotIDs, ",") != strings.Join(c.want, ",") {
			t.Errorf("List(%+v) = %v, want %v", c.f, gotIDs, c.want)
		}
	}
	if got := st2.QuarantineBytes.With("spam").Load(); got == 0 {
		t.Error("quarantine_bytes{spam} is 0 after a restart")
	}
	e, f, err := s2.Open(b.ID)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(f)
	f.Close()
	if !strings.Contains(string(body), "body of "+b.ID) || e.Group != "staff" || len(e.Recipients) != 2 {
		t.Errorf("entry %+v content %q", e, body)
	}
}

func TestReleaseAndDelete(t *testing.T) {
	s, rec, st := openStore(t, testConfig(t.TempDir()))
	ids := spool.NewIDs()
	a := quarantined(ids, "policy", "a@ext.test", "u1@corp.test")
	b := quarantined(ids, "policy", "a@ext.test", "u1@corp.test")
	for _, e := range []Entry{a, b} {
		if err := s.Put(e, strings.NewReader("Subject: x\r\n\r\nhello\r\n")); err != nil {
			t.Fatal(err)
		}
	}
	var gotRcpts []string
	var gotBody string
	_, queued, err := s.Release(a.ID, []string{"admin@corp.test"}, func(e Entry, rcpts []string, r io.Reader) (string, error) {
		gotRcpts = rcpts
		b, _ := io.ReadAll(r)
		gotBody = string(b)
		return "0000000000NEWID0", nil
	}, "test")
	if err != nil || queued != "0000000000NEWID0" || strings.Join(gotRcpts, ",") != "admin@corp.test" || !strings.Contains(gotBody, "hello") {
		t.Fatalf("release: %v %q %v %q", err, queued, gotRcpts, gotBody)
	}
	if _, err := s.Get(a.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("released entry still there: %v", err)
	}
	failing := func(Entry, []string, io.Reader) (string, error) { return "", errors.New("spool full") }
	if _, _, err := s.Release(b.ID, nil, failing, "test"); err == nil {
		t.Error("a failed injection reported success")
	}
	if _, err := s.Get(b.ID); err != nil {
		t.Errorf("entry lost after a failed release: %v", err)
	}
	if _, err := s.Delete(b.ID, "test"); err != nil {
		t.Fatal(err)
	}
	if got := st.QuarantineMessages.With("policy").Load(); got != 0 {
		t.Errorf("quarantine_messages{policy} = %d after release and delete, want 0", got)
	}
	if got := st.QuarantineReleased.With("policy").Load(); got != 1 {
		t.Errorf("quarantine_released_total = %d, want 1", got)
	}
	if evs := rec.OfType(telemetry.QuarantineReleased); len(evs) != 1 || evs[0].Parent != a.ID || evs[0].QueueID != queued {
		t.Errorf("release events %+v", evs)
	}
}

func TestMalformedIDsRefused(t *testing.T) {
	s, _, _ := openStore(t, testConfig(t.TempDir()))
	inject := func(Entry, []string, io.Reader) (string, error) { t.Fatal("injected"); return "", nil }
	for _, id := range []string{"", "../../etc/passwd", "0123456789ABCDE/", "..", "0123456789abcdef", "0123456789ABCDEFG", "%2e%2e%2fpasswd"} {
		if _, err := s.Get(id); err == nil || !strings.Contains(err.Error(), "invalid ID") {
			t.Errorf("Get(%q): %v", id, err)
		}
		if _, err := s.Delete(id, "t"); err == nil || !strings.Contains(err.Error(), "invalid ID") {
			t.Errorf("Delete(%q): %v", id, err)
		}
		if _, _, err := s.Release(id, nil, inject, "t"); err == nil || !strings.Contains(err.Error(), "invalid ID") {
			t.Errorf("Release(%q): %v", id, err)
		}
		if err := s.Put(Entry{ID: id, Box: Quarantine, Category: "spam"}, strings.NewReader("x")); err == nil {
			t.Errorf("Put(%q) accepted", id)
		}
	}
}

func TestRetentionByAgeAndSize(t *testing.T) {
	cfg := testConfig(t.TempDir())
	cfg.Quarantine = Retention{MaxAge: time.Hour, MaxBytes: 250}
	s, rec, st := openStore(t, cfg)
	ids := spool.NewIDs()
	now := time.Now()
	var all []Entry
	for i, age := range []time.Duration{3 * time.Hour, 30 * time.Minute, 20 * time.Minute, 10 * time.Minute} {
		e := quarantined(ids, "spam", "a@ext.test", "u@corp.test")
		e.Stored = now.Add(-age)
		if err := s.Put(e, strings.NewReader(strings.Repeat("x", 100))); err != nil {
			t.Fatal(i, err)
		}
		all = append(all, e)
	}
	s.Expire(now)
	left, _ := s.List(Filter{})
	// The 3-hour-old one goes by age; of the remaining 300 bytes the oldest goes by size.
	if len(left) != 2 || left[0].ID != all[2].ID || left[1].ID != all[3].ID {
		t.Fatalf("left %v", left)
	}
	if got := st.QuarantineExpired.With("spam").Load(); got != 2 {
		t.Errorf("quarantine_expired_total{spam} = %d, want 2", got)
	}
	if got := st.QuarantineBytes.With("spam").Load(); got != 200 {
		t.Errorf("quarantine_bytes{spam} = %d, want 200", got)
	}
	if full := rec.OfType(telemetry.StoreFull); len(full) != 1 || full[0].Category != Quarantine {
		t.Errorf("store.full events %+v", full)
	}
	if _, err := os.Stat(filepath.Join(cfg.Dir, "quarantine", "spam", all[0].ID+".eml")); !os.IsNotExist(err) {
		t.Errorf("expired file still on disk: %v", err)
	}
}

func TestInterruptedWriteCleanedAtOpen(t *testing.T) {
	dir := t.TempDir()
	s, _, _ := openStore(t, testConfig(dir))
	id := spool.NewIDs().New()
	spam := filepath.Join(dir, "quarantine", "spam")
	for _, name := range []string{"." + id + ".eml", id + ".eml"} {
		if err := os.WriteFile(filepath.Join(spam, name), []byte("partial"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	_ = s
	s2, _, _ := openStore(t, testConfig(dir))
	if l, _ := s2.List(Filter{}); len(l) != 0 {
		t.Errorf("half-written entries listed: %v", l)
	}
	if names, _ := os.ReadDir(spam); len(names) != 0 {
		t.Errorf("leftovers not removed: %v", names)
	}
}
