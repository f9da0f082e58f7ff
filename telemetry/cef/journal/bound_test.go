package journal

import (
	"bytes"
	"os"
	"testing"
	"time"
)

// boundOptions: four segments of 64 KiB at most, records of about 1 KiB.
func boundOptions(dir string, drops *dropLog) Options {
	return Options{Dir: dir, MaxBytes: 256 << 10, SegmentBytes: 64 << 10, SyncInterval: time.Hour, OnDrop: drops.record}
}

func TestBoundDropsOldest(t *testing.T) {
	dir := t.TempDir()
	var drops dropLog
	o := boundOptions(dir, &drops)
	j := openT(t, o, "lag", "fast")
	lag, fast := j.Cursor("lag"), j.Cursor("fast")
	const n = 1000
	for seq := uint64(1); seq <= n; seq++ {
		if _, err := j.Append(bigData(seq, 1000)); err != nil {
			t.Fatal(err)
		}
		// fast delivers everything as it comes.
		recs, err := fast.Next(10, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) != 1 || recs[0].Seq != seq {
			t.Fatalf("fast read %s, want %d", seqs(recs), seq)
		}
		if err := fast.Commit(seq + 1); err != nil {
			t.Fatal(err)
		}
		if on := segBytesOnDisk(t, dir); on > o.MaxBytes {
			t.Fatalf("segment files hold %d bytes, bound is %d", on, o.MaxBytes)
		}
	}
	dropped := j.Dropped("lag")
	if dropped == 0 || dropped >= n {
		t.Fatalf("lag dropped %d of %d records", dropped, n)
	}
	if got := drops.get("lag"); got != dropped {
		t.Fatalf("OnDrop reported %d, Dropped says %d", got, dropped)
	}
	// lag never committed, so it lost exactly the records before the first
	// one kept.
	if got := lag.Committed(); got != dropped+1 {
		t.Fatalf("lag moved to %d, want %d", got, dropped+1)
	}
	recs := drain(t, lag, 64, 1<<20)
	if uint64(len(recs)) != n-dropped {
		t.Fatalf("lag read %d records after the drop, want %d", len(recs), n-dropped)
	}
	for i, r := range recs {
		want := dropped + 1 + uint64(i)
		if r.Seq != want || !bytes.Equal(r.Data, bigData(want, 1000)) {
			t.Fatalf("lag record %d is seq %d, want %d", i, r.Seq, want)
		}
	}
	if got := j.Dropped("fast"); got != 0 || drops.get("fast") != 0 {
		t.Fatalf("fast lost %d records (OnDrop %d) though it had committed everything", got, drops.get("fast"))
	}
}

// TestBoundPartialCommit: only the records after the committed position
// count as lost, including ones handed out but not acknowledged.
func TestBoundPartialCommit(t *testing.T) {
	dir := t.TempDir()
	var drops dropLog
	j := openT(t, boundOptions(dir, &drops), "lag")
	lag := j.Cursor("lag")
	for seq := uint64(1); seq <= 100; seq++ {
		if _, err := j.Append(bigData(seq, 1000)); err != nil {
			t.Fatal(err)
		}
	}
	recs, err := lag.Next(40, 1<<20)
	if err != nil || len(recs) != 40 {
		t.Fatalf("Next: %d records, %v", len(recs), err)
	}
	if err := lag.Commit(31); err != nil {
		t.Fatal(err)
	}
	first := segFiles(t, dir)[0]
	for seq := uint64(101); seq <= 400; seq++ {
		if _, err := j.Append(bigData(seq, 1000)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(first); err == nil {
		t.Fatal("the oldest segment survived the bound")
	}
	kept := lag.Committed()
	if kept <= 31 {
		t.Fatalf("lag still at %d after its segment was deleted", kept)
	}
	if got, want := j.Dropped("lag"), kept-31; got != want || drops.get("lag") != want {
		t.Fatalf("Dropped %d, OnDrop %d; want %d", got, drops.get("lag"), want)
	}
	// The read position moved with it: the next record is the first kept.
	recs, err = lag.Next(1, 1)
	if err != nil || len(recs) != 1 || recs[0].Seq != kept {
		t.Fatalf("Next after the drop: %s, %v; want %d", seqs(recs), err, kept)
	}
	// Rewind goes to the new committed position, not before it.
	lag.Rewind()
	recs, err = lag.Next(1, 1)
	if err != nil || len(recs) != 1 || recs[0].Seq != kept {
		t.Fatalf("Next after Rewind: %s, %v; want %d", seqs(recs), err, kept)
	}
}

func TestDeliveredSegmentsDeleted(t *testing.T) {
	dir := t.TempDir()
	j := openT(t, Options{Dir: dir, MaxBytes: 16 << 20, SegmentBytes: 64 << 10, SyncInterval: -1}, "a", "b")
	for seq := uint64(1); seq <= 300; seq++ {
		if _, err := j.Append(bigData(seq, 1000)); err != nil {
			t.Fatal(err)
		}
	}
	before := len(segFiles(t, dir))
	if before < 4 {
		t.Fatalf("want at least 4 segments, got %d", before)
	}
	a, b := j.Cursor("a"), j.Cursor("b")
	drain(t, a, 1000, 1<<30)
	if err := a.Commit(301); err != nil {
		t.Fatal(err)
	}
	if got := len(segFiles(t, dir)); got != before {
		t.Fatalf("segments deleted while b still needed them: %d of %d left", got, before)
	}
	drain(t, b, 1000, 1<<30)
	if err := b.Commit(150); err != nil {
		t.Fatal(err)
	}
	mid := len(segFiles(t, dir))
	if mid >= before || mid <= 1 {
		t.Fatalf("after b delivered half, %d of %d segments left", mid, before)
	}
	if err := b.Commit(301); err != nil {
		t.Fatal(err)
	}
	if got := segFiles(t, dir); len(got) != 1 {
		t.Fatalf("after everything was delivered, segments left: %v", got)
	}
	// The bytes still counted match the disk.
	if on := segBytesOnDisk(t, dir); on > 64<<10 {
		t.Fatalf("%d bytes left on disk", on)
	}
}

// TestDeliveredSegmentsDeletedInBackground: with periodic syncs, deletion
// follows the commit without any further call.
func TestDeliveredSegmentsDeletedInBackground(t *testing.T) {
	dir := t.TempDir()
	j := openT(t, Options{Dir: dir, MaxBytes: 16 << 20, SegmentBytes: 64 << 10, SyncInterval: 2 * time.Millisecond}, "a")
	for seq := uint64(1); seq <= 300; seq++ {
		if _, err := j.Append(bigData(seq, 1000)); err != nil {
			t.Fatal(err)
		}
	}
	if len(segFiles(t, dir)) < 4 {
		t.Fatal("want several segments")
	}
	c := j.Cursor("a")
	drain(t, c, 1000, 1<<30)
	if err := c.Commit(301); err != nil {
		t.Fatal(err)
	}
	eventually(t, "delivered segments to be deleted", func() bool { return len(segFiles(t, dir)) == 1 })
}

func TestLargeRecord(t *testing.T) {
	dir := t.TempDir()
	o := Options{Dir: dir, MaxBytes: 1 << 20, SegmentBytes: 64 << 10}
	j, err := Open(o, []string{"a"})
	if err != nil {
		t.Fatal(err)
	}
	big := bigData(2, 200<<10)
	if _, err := j.Append(recData(1)); err != nil {
		t.Fatal(err)
	}
	if last, err := j.Append(big); err != nil || last != 2 {
		t.Fatalf("Append of a large record = %d, %v", last, err)
	}
	if _, err := j.Append(recData(3)); err != nil {
		t.Fatal(err)
	}
	// The large record sits alone in its segment.
	segs := segFiles(t, dir)
	if len(segs) != 3 {
		t.Fatalf("want 3 segments, got %v", segs)
	}
	if st, err := os.Stat(segs[1]); err != nil || st.Size() != encodedLen(big) {
		t.Fatalf("large record's segment: %v, %v", st.Size(), err)
	}
	check := func(c *Cursor) {
		t.Helper()
		for _, want := range [][]byte{recData(1), big, recData(3)} {
			// A byte limit far below the record still returns it.
			recs, err := c.Next(10, 100)
			if err != nil {
				t.Fatal(err)
			}
			if len(recs) != 1 || !bytes.Equal(recs[0].Data, want) {
				t.Fatalf("read %d records (%s), want one of %d bytes", len(recs), seqs(recs), len(want))
			}
		}
	}
	check(j.Cursor("a"))
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	j = openT(t, o, "a")
	check(j.Cursor("a"))
}
