package journal

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestReopen(t *testing.T) {
	dir := t.TempDir()
	j, err := Open(Options{Dir: dir}, []string{"a", "b", "old"})
	if err != nil {
		t.Fatal(err)
	}
	appendSeq(t, j, 1, 30, 4)
	a, b := j.Cursor("a"), j.Cursor("b")
	drain(t, a, 100, 1<<20)
	if err := a.Commit(11); err != nil {
		t.Fatal(err)
	}
	drain(t, b, 100, 1<<20)
	if err := b.Commit(31); err != nil {
		t.Fatal(err)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}

	j = openT(t, Options{Dir: dir}, "a", "b", "new")
	if _, err := os.Stat(cursorPath(dir, "old")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("cursor file of a removed cursor still there: %v", err)
	}
	a, b, n := j.Cursor("a"), j.Cursor("b"), j.Cursor("new")
	if got := a.Committed(); got != 11 {
		t.Fatalf("a resumed at %d, want 11", got)
	}
	if got := b.Committed(); got != 31 {
		t.Fatalf("b resumed at %d, want 31", got)
	}
	if got := n.Committed(); got != 31 {
		t.Fatalf("new cursor starts at %d, want the end (31)", got)
	}
	if last, err := j.Append(recData(31)); err != nil || last != 31 {
		t.Fatalf("Append after reopen = %d, %v; want 31", last, err)
	}
	checkSeq(t, drain(t, a, 7, 1<<20), 11, 31)
	checkSeq(t, drain(t, b, 7, 1<<20), 31, 31)
	checkSeq(t, drain(t, n, 7, 1<<20), 31, 31)
	if len(j.Repairs()) != 0 {
		t.Fatalf("clean reopen reported repairs: %v", j.Repairs())
	}
}

// TestSequenceSurvivesDeletion: once everything is delivered and deleted,
// sequence numbers still continue after a reopen.
func TestSequenceSurvivesDeletion(t *testing.T) {
	dir := t.TempDir()
	o := Options{Dir: dir, MaxBytes: 16 << 20, SegmentBytes: 64 << 10, SyncInterval: -1}
	j, err := Open(o, []string{"a"})
	if err != nil {
		t.Fatal(err)
	}
	payload := make([]byte, 1000)
	for range 200 {
		if _, err := j.Append(payload); err != nil {
			t.Fatal(err)
		}
	}
	c := j.Cursor("a")
	drain(t, c, 1000, 1<<30)
	if err := c.Commit(201); err != nil {
		t.Fatal(err)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	j = openT(t, o, "a")
	if last, err := j.Append([]byte("after")); err != nil || last != 201 {
		t.Fatalf("Append after reopen = %d, %v; want 201", last, err)
	}
}

// TestCrashResumesAtPersistedPosition: a commit not yet synced is lost in a
// crash, so the records after the last synced position are sent again
// rather than skipped.
func TestCrashResumesAtPersistedPosition(t *testing.T) {
	dir := t.TempDir()
	o := Options{Dir: dir, SyncInterval: time.Hour}
	j, err := Open(o, []string{"a"})
	if err != nil {
		t.Fatal(err)
	}
	appendSeq(t, j, 1, 20, 5)
	c := j.Cursor("a")
	drain(t, c, 100, 1<<20)
	if err := c.Commit(8); err != nil {
		t.Fatal(err)
	}
	if err := j.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := c.Commit(15); err != nil {
		t.Fatal(err)
	}
	crash(j)

	j = openT(t, o, "a")
	c = j.Cursor("a")
	if got := c.Committed(); got != 8 {
		t.Fatalf("resumed at %d after a crash, want the synced 8", got)
	}
	checkSeq(t, drain(t, c, 100, 1<<20), 8, 20)
	if last, err := j.Append(recData(21)); err != nil || last != 21 {
		t.Fatalf("Append after crash = %d, %v; want 21", last, err)
	}
}

// TestPeriodicSyncPersistsCommit: without Sync or Close, a commit reaches the
// cursor file within SyncInterval.
func TestPeriodicSyncPersistsCommit(t *testing.T) {
	dir := t.TempDir()
	j := openT(t, Options{Dir: dir, SyncInterval: 5 * time.Millisecond}, "a")
	appendSeq(t, j, 1, 10, 10)
	c := j.Cursor("a")
	drain(t, c, 100, 1<<20)
	if err := c.Commit(6); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the commit in the cursor file", func() bool {
		b, err := os.ReadFile(cursorPath(dir, "a"))
		if err != nil {
			t.Fatal(err)
		}
		seq, _, ok := decodeCursorFile(b)
		return ok && seq == 6
	})
}

// tornSetup writes records 1..10, one per Append, and closes the journal;
// it returns the directory and the path of the segment.
func tornSetup(t *testing.T) (string, string) {
	t.Helper()
	dir := t.TempDir()
	j, err := Open(Options{Dir: dir}, []string{"a"})
	if err != nil {
		t.Fatal(err)
	}
	appendSeq(t, j, 1, 10, 1)
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	// The cursor was created at the start, so it still has everything.
	segs := segFiles(t, dir)
	if len(segs) != 1 {
		t.Fatalf("want one segment, got %v", segs)
	}
	return dir, segs[0]
}

func TestTornTail(t *testing.T) {
	dir, seg := tornSetup(t)
	st, err := os.Stat(seg)
	if err != nil {
		t.Fatal(err)
	}
	// Cut the last record in the middle of its data.
	lastStart := st.Size() - encodedLen(recData(10))
	if err := os.Truncate(seg, st.Size()-3); err != nil {
		t.Fatal(err)
	}

	j := openT(t, Options{Dir: dir}, "a")
	checkSeq(t, drain(t, j.Cursor("a"), 100, 1<<20), 1, 9)
	if !repairsMention(j, seg) {
		t.Fatalf("repairs do not name %s: %v", seg, j.Repairs())
	}
	var ce *CorruptError
	if !errors.As(j.Repairs()[0], &ce) || ce.Offset != lastStart {
		t.Fatalf("repair %v, want offset %d", j.Repairs()[0], lastStart)
	}
	if st, err := os.Stat(seg); err != nil || st.Size() != lastStart {
		t.Fatalf("segment not cut at the torn record: %v, %v", st.Size(), err)
	}
	if last, err := j.Append(recData(10)); err != nil || last != 10 {
		t.Fatalf("Append after a torn tail = %d, %v; want 10", last, err)
	}
	checkSeq(t, drain(t, j.Cursor("a"), 100, 1<<20), 10, 10)
}

func TestTornHeader(t *testing.T) {
	dir, seg := tornSetup(t)
	st, err := os.Stat(seg)
	if err != nil {
		t.Fatal(err)
	}
	lastStart := st.Size() - encodedLen(recData(10))
	if err := os.Truncate(seg, lastStart+5); err != nil {
		t.Fatal(err)
	}
	j := openT(t, Options{Dir: dir}, "a")
	checkSeq(t, drain(t, j.Cursor("a"), 100, 1<<20), 1, 9)
	if last, err := j.Append(recData(10)); err != nil || last != 10 {
		t.Fatalf("Append after a torn header = %d, %v; want 10", last, err)
	}
}

func TestGarbageTail(t *testing.T) {
	for name, garbage := range map[string][]byte{
		"random": []byte("\x17\x00\x00\x00\xde\xad\xbe\xefnot a record at all"),
		"zeros":  make([]byte, 4096),
		"huge":   {0xff, 0xff, 0xff, 0x7f, 1, 2, 3, 4, 5},
	} {
		t.Run(name, func(t *testing.T) {
			dir, seg := tornSetup(t)
			st, err := os.Stat(seg)
			if err != nil {
				t.Fatal(err)
			}
			f, err := os.OpenFile(seg, os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.Write(garbage); err != nil {
				t.Fatal(err)
			}
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}

			j := openT(t, Options{Dir: dir}, "a")
			checkSeq(t, drain(t, j.Cursor("a"), 100, 1<<20), 1, 10)
			var ce *CorruptError
			if len(j.Repairs()) != 1 || !errors.As(j.Repairs()[0], &ce) || ce.File != seg || ce.Offset != st.Size() {
				t.Fatalf("repairs %v, want one at %s offset %d", j.Repairs(), seg, st.Size())
			}
			if last, err := j.Append(recData(11)); err != nil || last != 11 {
				t.Fatalf("Append after garbage = %d, %v; want 11", last, err)
			}
			checkSeq(t, drain(t, j.Cursor("a"), 100, 1<<20), 11, 11)
		})
	}
}

// TestCorruptMiddleSegment: damage in an older segment cuts that segment at
// the bad record; the journal goes on with the next segment and counts what
// was lost.
func TestCorruptMiddleSegment(t *testing.T) {
	dir := t.TempDir()
	o := Options{Dir: dir, MaxBytes: 16 << 20, SegmentBytes: 64 << 10}
	j, err := Open(o, []string{"a", "done"})
	if err != nil {
		t.Fatal(err)
	}
	const n = 200
	for seq := uint64(1); seq <= n; seq++ {
		if _, err := j.Append(bigData(seq, 1000)); err != nil {
			t.Fatal(err)
		}
	}
	if err := j.Cursor("done").Commit(n + 1); err != nil {
		t.Fatal(err)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	segs := segFiles(t, dir)
	if len(segs) < 3 {
		t.Fatalf("want at least 3 segments, got %d", len(segs))
	}
	second, _ := parseSegName(filepath.Base(segs[1]))
	// Flip a data byte of the 11th record of the first segment.
	const bad = 11
	badOff := int64(bad-1) * encodedLen(bigData(1, 1000))
	f, err := os.OpenFile(segs[0], os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte{'!'}, badOff+headerLen+500); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}

	var drops dropLog
	o.OnDrop = drops.record
	j = openT(t, o, "a", "done")
	var ce *CorruptError
	if len(j.Repairs()) != 1 || !errors.As(j.Repairs()[0], &ce) || ce.File != segs[0] || ce.Offset != badOff {
		t.Fatalf("repairs %v, want one at %s offset %d", j.Repairs(), segs[0], badOff)
	}
	lost := second - bad
	if got := j.Dropped("a"); got != lost {
		t.Fatalf("Dropped(a) = %d, want %d", got, lost)
	}
	if got := drops.get("a"); got != 0 {
		t.Fatalf("OnDrop called during Open (%d records), before the caller could be ready", got)
	}
	if got := j.Dropped("done"); got != 0 {
		t.Fatalf("Dropped(done) = %d for a cursor that had delivered everything", got)
	}
	recs := drain(t, j.Cursor("a"), 64, 1<<20)
	if uint64(len(recs)) != n-lost {
		t.Fatalf("read %d records, want %d", len(recs), n-lost)
	}
	for i, r := range recs {
		want := uint64(i + 1)
		if want >= bad {
			want += lost
		}
		if r.Seq != want || string(r.Data[:13]) != string(recData(want)) {
			t.Fatalf("record %d is seq %d %q, want %d", i, r.Seq, r.Data[:13], want)
		}
	}
	if n, _ := j.Cursor("a").Backlog(); n != uint64(len(recs)) {
		t.Fatalf("backlog %d, want %d", n, len(recs))
	}
	if last, err := j.Append([]byte("more")); err != nil || last != n+1 {
		t.Fatalf("Append = %d, %v; want %d", last, err, n+1)
	}
}

// TestCursorFileSlots: a torn write of one slot falls back to the other;
// with both unreadable the cursor starts again from the oldest record.
func TestCursorFileSlots(t *testing.T) {
	dir := t.TempDir()
	o := Options{Dir: dir, SyncInterval: -1}
	j, err := Open(o, []string{"a"})
	if err != nil {
		t.Fatal(err)
	}
	appendSeq(t, j, 1, 20, 20)
	c := j.Cursor("a")
	drain(t, c, 100, 1<<20)
	if err := c.Commit(5); err != nil {
		t.Fatal(err)
	}
	if err := c.Commit(9); err != nil {
		t.Fatal(err)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	path := cursorPath(dir, "a")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	seq, slot, ok := decodeCursorFile(b)
	if !ok || seq != 9 {
		t.Fatalf("cursor file holds %d (%v), want 9", seq, ok)
	}
	b[slot*slotLen+3] ^= 0xff // torn write of the newest slot
	if err := os.WriteFile(path, b, 0o640); err != nil {
		t.Fatal(err)
	}
	j = openT(t, o, "a")
	if got := j.Cursor("a").Committed(); got != 5 {
		t.Fatalf("after a torn slot resumed at %d, want the previous 5", got)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}

	if err := os.WriteFile(path, []byte("garbage"), 0o640); err != nil {
		t.Fatal(err)
	}
	j = openT(t, o, "a")
	if got := j.Cursor("a").Committed(); got != 1 {
		t.Fatalf("with an unreadable cursor file resumed at %d, want the oldest record 1", got)
	}
	if !repairsMention(j, path) {
		t.Fatalf("repairs do not name %s: %v", path, j.Repairs())
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	// The rewritten file is valid again.
	b, err = os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if seq, _, ok := decodeCursorFile(b); !ok || seq != 1 {
		t.Fatalf("cursor file not rewritten: %d, %v", seq, ok)
	}
}

// TestCursorAheadOfData: a cursor that had committed records the disk no
// longer holds keeps sequence numbers from being reused.
func TestCursorAheadOfData(t *testing.T) {
	dir := t.TempDir()
	o := Options{Dir: dir}
	j, err := Open(o, []string{"a", "b"})
	if err != nil {
		t.Fatal(err)
	}
	appendSeq(t, j, 1, 10, 10)
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	cf, err := createCursorFile(dir, "a", 500)
	if err != nil {
		t.Fatal(err)
	}
	_ = cf.f.Close()
	var drops dropLog
	o.OnDrop = drops.record
	j = openT(t, o, "a", "b")
	if !repairsMention(j, cursorPath(dir, "a")) {
		t.Fatalf("repairs do not name the cursor file: %v", j.Repairs())
	}
	if last, err := j.Append([]byte("x")); err != nil || last != 500 {
		t.Fatalf("Append = %d, %v; want 500", last, err)
	}
	// b had not delivered 11..499, which no longer exist.
	if got := j.Dropped("b"); got != 489 || drops.get("b") != 0 {
		t.Fatalf("Dropped(b) = %d, OnDrop %d; want 489 and no OnDrop during Open", got, drops.get("b"))
	}
	recs := drain(t, j.Cursor("b"), 100, 1<<20)
	if len(recs) != 11 || recs[9].Seq != 10 || recs[10].Seq != 500 {
		t.Fatalf("b read %d records %s", len(recs), seqs(recs))
	}
}
