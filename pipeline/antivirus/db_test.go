package antivirus

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatewatch/gatewatch/internal/eventlog"
	"github.com/gatewatch/gatewatch/telemetry"
	"github.com/gatewatch/gatewatch/telemetry/stats"
)

// sigSet writes a source directory whose one .hdb file names each payload
// as "<prefix>.<i>", with the file's time set to released.
func sigSet(t *testing.T, prefix string, released time.Time, payloads ...[]byte) string {
	t.Helper()
	dir := t.TempDir()
	var b strings.Builder
	for i, p := range payloads {
		sum := md5.Sum(p)
		fmt.Fprintf(&b, "%s:%d:%s.%d\n", hex.EncodeToString(sum[:]), len(p), prefix, i)
	}
	path := filepath.Join(dir, prefix+".hdb")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, released, released); err != nil {
		t.Fatal(err)
	}
	return dir
}

// newDBStage is a builtin-only stage over an empty signature directory.
func newDBStage(t *testing.T, mutate func(*Config)) (*Stage, *eventlog.Recorder, *stats.Stats) {
	t.Helper()
	st := telemetry.NewStats()
	rec := &eventlog.Recorder{Next: telemetry.NewBus(st)}
	cfg := config("builtin")
	cfg.Signatures = filepath.Join(t.TempDir(), "signatures")
	if err := os.Mkdir(cfg.Signatures, 0o755); err != nil {
		t.Fatal(err)
	}
	if mutate != nil {
		mutate(&cfg)
	}
	s, err := New(cfg, rec, st)
	if err != nil {
		t.Fatal(err)
	}
	return s, rec, st
}

// threats scans a message holding the payloads as attachments and
// returns the threat names found.
func threats(t *testing.T, s *Stage, payloads ...[]byte) []string {
	t.Helper()
	var b strings.Builder
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n")
	for i, p := range payloads {
		fmt.Fprintf(&b, "--b\r\nContent-Type: application/octet-stream; name=\"f%d.bin\"\r\nContent-Transfer-Encoding: base64\r\n\r\n", i)
		b.WriteString(base64Lines(p))
	}
	b.WriteString("--b--\r\n")
	v, err := s.Scan(context.Background(), msg(t, b.String()))
	if err != nil {
		t.Error(err)
		return nil
	}
	var names []string
	for _, part := range strings.Split(v.Detail, "; ") {
		if name, _, ok := strings.Cut(part, " in "); ok {
			names = append(names, strings.TrimPrefix(name, "infected: "))
		}
	}
	return names
}

func TestUpdateSwapsSignaturesUnderLoad(t *testing.T) {
	s, rec, st := newDBStage(t, nil)
	x, y := []byte("payload X for set A"), []byte("payload Y, only set B knows it")
	now := time.Now()
	setA := sigSet(t, "A", now, x)
	setB := sigSet(t, "B", now, x) // B knows one more, in a second file, so a half-swapped set would show
	extra := sigSet(t, "Bx", now, y)
	if err := os.Rename(filepath.Join(extra, "Bx.hdb"), filepath.Join(setB, "Bx.hdb")); err != nil {
		t.Fatal(err)
	}

	if _, err := s.Update(context.Background(), setA); err != nil {
		t.Fatal(err)
	}
	var stop atomic.Bool
	var scans, seenA, seenB atomic.Int64
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				got := strings.Join(threats(t, s, x, y), ",")
				scans.Add(1)
				switch got {
				case "A.0":
					seenA.Add(1)
				case "B.0,Bx.0":
					seenB.Add(1)
				default:
					t.Errorf("a message saw %q: neither set A (A.0) nor set B (B.0,Bx.0) whole", got)
					return
				}
			}
		}()
	}
	for i := range 10 {
		from := setB
		if i%2 == 1 {
			from = setA
		}
		res, err := s.Update(context.Background(), from)
		if err != nil || !res.Changed {
			t.Fatalf("update %d from %s: changed %v, %v", i, from, res.Changed, err)
		}
	}
	stop.Store(true)
	wg.Wait()
	t.Logf("%d scans during 10 swaps: %d with set A, %d with set B", scans.Load(), seenA.Load(), seenB.Load())
	if seenA.Load() == 0 || seenB.Load() == 0 {
		t.Errorf("scans saw set A %d times and set B %d times: the swap did not take effect", seenA.Load(), seenB.Load())
	}
	// Startup (empty directory) + the first install + 10 swaps.
	if n := len(rec.OfType(telemetry.DBLoaded)); n != 12 {
		t.Errorf("%d av.db_loaded, want 12", n)
	}
	if n := st.AVUpdates.With("updated").Load(); n != 11 {
		t.Errorf("av_updates_total{updated} = %d, want 11", n)
	}
	// The last swap installed set A (one signature).
	if res, err := s.Update(context.Background(), setA); err != nil || res.Changed {
		t.Errorf("the same set again: changed %v, %v", res.Changed, err)
	}
	if st.AVUpdates.With("not_needed").Load() != 1 || st.AVSignatures.With("builtin").Load() != 1 {
		t.Errorf("not_needed %d, signatures %d", st.AVUpdates.With("not_needed").Load(), st.AVSignatures.With("builtin").Load())
	}
}

func TestFailedUpdateKeepsTheDatabase(t *testing.T) {
	s, rec, st := newDBStage(t, nil)
	x := []byte("payload X")
	if _, err := s.Update(context.Background(), sigSet(t, "A", time.Now(), x)); err != nil {
		t.Fatal(err)
	}
	broken := t.TempDir()
	if err := os.WriteFile(filepath.Join(broken, "bad.hdb"), []byte("not a signature\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := s.Update(context.Background(), broken)
	if err == nil || !strings.Contains(err.Error(), "bad.hdb:1") {
		t.Fatalf("error %v does not name bad.hdb:1", err)
	}
	evs := rec.OfType(telemetry.UpdateFailed)
	if len(evs) != 1 || evs[0].Remote != broken || !strings.Contains(evs[0].Err, "bad.hdb:1") {
		t.Errorf("av.update_failed events: %+v", evs)
	}
	if got := threats(t, s, x); len(got) != 1 || got[0] != "A.0" {
		t.Errorf("after the failed update the scan found %v, want the old set's A.0", got)
	}
	if st.AVUpdates.With("error").Load() != 1 {
		t.Error("av_updates_total{error} not counted")
	}
	if _, err := s.Update(context.Background(), filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("a missing source did not fail")
	}
}

// TestDatabaseAge: an old set raises outdated, an older one obsolete, a
// fresh one clears; each change once.
func TestDatabaseAge(t *testing.T) {
	s, rec, st := newDBStage(t, nil)
	now := time.Now()
	s.clock = func() time.Time { return now }
	x := []byte("payload")
	for _, step := range []struct {
		age  time.Duration
		want telemetry.Type
	}{
		{48 * time.Hour, telemetry.DBOutdated},
		{7 * 24 * time.Hour, telemetry.DBObsolete},
		{time.Hour, telemetry.DBCurrent},
	} {
		if _, err := s.Update(context.Background(), sigSet(t, fmt.Sprintf("S%d", step.age/time.Hour), now.Add(-step.age), x)); err != nil {
			t.Fatal(err)
		}
		s.check(context.Background())
		s.check(context.Background()) // a second look reports nothing new
		evs := rec.OfType(step.want)
		if len(evs) != 1 {
			t.Fatalf("after a set %s old: %d %s events, want 1", step.age, len(evs), step.want.Spec().Name)
		}
		if evs[0].Count != int64(step.age/time.Second) || evs[0].Category != "builtin" {
			t.Errorf("%s: count %d category %q, want age %d s for builtin", step.want.Spec().Name, evs[0].Count, evs[0].Category, int64(step.age/time.Second))
		}
		if st.AVDBAge.With("builtin").Load() != int64(step.age/time.Second) {
			t.Errorf("av_db_age_seconds = %d, want %d", st.AVDBAge.With("builtin").Load(), int64(step.age/time.Second))
		}
	}
	if ev := rec.OfType(telemetry.DBOutdated)[0]; ev.Threshold != 86400 {
		t.Errorf("outdated threshold %d, want 86400", ev.Threshold)
	}
	if st.AVDBState.With("builtin").Load() != 0 {
		t.Error("av_db_state not back at 0")
	}
}

// TestSignatureDirectoryWatched: files changed in place (no update
// command) are picked up by the next check; a broken edit is reported once
// and the loaded set stays.
func TestSignatureDirectoryWatched(t *testing.T) {
	s, rec, _ := newDBStage(t, nil)
	x := []byte("payload X")
	dir := s.cur.Load().cfg.Signatures
	src := sigSet(t, "W", time.Now(), x)
	data, _ := os.ReadFile(filepath.Join(src, "W.hdb"))
	if err := os.WriteFile(filepath.Join(dir, "W.hdb"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	s.check(context.Background())
	if got := threats(t, s, x); len(got) != 1 || got[0] != "W.0" {
		t.Fatalf("after editing the directory the scan found %v", got)
	}
	if err := os.WriteFile(filepath.Join(dir, "zz.hdb"), []byte("garbage\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s.check(context.Background())
	s.check(context.Background())
	if n := len(rec.OfType(telemetry.UpdateFailed)); n != 1 {
		t.Errorf("%d av.update_failed for one broken file, want 1", n)
	}
	if got := threats(t, s, x); len(got) != 1 {
		t.Errorf("a broken edit dropped the loaded set: %v", got)
	}
}

func TestOutbreakAlarm(t *testing.T) {
	s, rec, st := newDBStage(t, func(c *Config) { c.Outbreak.PerHour = 3 })
	now := time.Now()
	s.clock = func() time.Time { return now }
	eicarMsg := []byte(eicar)
	for range 5 {
		threats(t, s, eicarMsg)
	}
	evs := rec.OfType(telemetry.Outbreak)
	if len(evs) != 1 || evs[0].Count != 3 || evs[0].Threshold != 3 {
		t.Fatalf("outbreak events %+v, want one at 3 of 3", evs)
	}
	if st.AVOutbreak.Load() != 1 || st.AVLastHour.Load() != 5 {
		t.Errorf("av_outbreak %d av_detections_last_hour %d", st.AVOutbreak.Load(), st.AVLastHour.Load())
	}
	now = now.Add(61 * time.Minute)
	s.check(context.Background())
	if n := len(rec.OfType(telemetry.OutbreakOver)); n != 1 || st.AVOutbreak.Load() != 0 || st.AVLastHour.Load() != 0 {
		t.Errorf("an hour later: %d outbreak_over, av_outbreak %d, last hour %d", n, st.AVOutbreak.Load(), st.AVLastHour.Load())
	}
}

// TestOutbreakRepeatsHourly: an outbreak that lasts is reported again
// each hour, as the replaced product's OutbreakAlert was.
func TestOutbreakRepeatsHourly(t *testing.T) {
	w := newOutbreakWindow(2)
	start := time.Unix(1_800_000_000, 0)
	var raised int
	for m := 0; m < 130; m++ { // two detections a minute for over two hours
		if _, due, _ := w.observe(start.Add(time.Duration(m)*time.Minute), 2); due == telemetry.Outbreak {
			raised++
		}
	}
	if raised != 3 {
		t.Errorf("raised %d times over 130 minutes, want 3 (at 0, 60 and 120)", raised)
	}
}

func TestPresets(t *testing.T) {
	zipped := zipOf(t, "inner.com", []byte(eicar))
	for _, tc := range []struct {
		preset string
		found  bool
	}{{"fastest", false}, {"recommended", true}, {"maximum", true}} {
		s, _, _ := newDBStage(t, func(c *Config) { c.Preset, c.Limits = tc.preset, LimitsConfig{} })
		got := threats(t, s, zipped)
		if (len(got) > 0) != tc.found {
			t.Errorf("%s: EICAR in a zip found %v, want found=%v (fastest leaves archives to the scanners)", tc.preset, got, tc.found)
		}
	}
	on := true
	lim, err := Config{Preset: "fastest", Limits: LimitsConfig{MaxDepth: 7, Archives: &on}}.Effective()
	if err != nil || lim.MaxDepth != 7 || lim.SkipArchives || lim.MaxObjects != 100 {
		t.Errorf("fastest with max_depth 7 and archives on: %+v, %v", lim, err)
	}
}

func base64Lines(p []byte) string {
	enc := base64.StdEncoding.EncodeToString(p)
	var b strings.Builder
	for len(enc) > 76 {
		b.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	b.WriteString(enc + "\r\n")
	return b.String()
}

func zipOf(t *testing.T, name string, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	f, err := zw.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
