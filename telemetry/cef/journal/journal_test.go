package journal

import (
	"bytes"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestRoundTrip(t *testing.T) {
	j := openT(t, Options{Dir: t.TempDir()}, "a", "b")
	appendSeq(t, j, 1, 100, 10)
	a, b := j.Cursor("a"), j.Cursor("b")

	// a reads in small batches and commits each.
	var got []Record
	for {
		recs, err := a.Next(7, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) == 0 {
			break
		}
		if len(recs) > 7 {
			t.Fatalf("Next(7) returned %d records", len(recs))
		}
		got = append(got, recs...)
		if err := a.Commit(recs[len(recs)-1].Seq + 1); err != nil {
			t.Fatal(err)
		}
	}
	checkSeq(t, got, 1, 100)
	if n, by := a.Backlog(); n != 0 || by != 0 {
		t.Fatalf("a backlog after committing everything = %d records, %d bytes", n, by)
	}
	if c := a.Committed(); c != 101 {
		t.Fatalf("a committed = %d, want 101", c)
	}

	// b was not touched by a's progress.
	if c := b.Committed(); c != 1 {
		t.Fatalf("b committed = %d, want 1", c)
	}
	var all [][]byte
	for seq := uint64(1); seq <= 100; seq++ {
		all = append(all, recData(seq))
	}
	if n, by := b.Backlog(); n != 100 || by != encodedLen(all...) {
		t.Fatalf("b backlog = %d records, %d bytes; want 100, %d", n, by, encodedLen(all...))
	}
	// A byte limit below one record still yields exactly one.
	recs, err := b.Next(10, 1)
	if err != nil {
		t.Fatal(err)
	}
	checkSeq(t, recs, 1, 1)
	// A byte limit of two records' data yields two.
	recs, err = b.Next(10, 2*len(recData(2)))
	if err != nil {
		t.Fatal(err)
	}
	checkSeq(t, recs, 2, 3)
	rest := drain(t, b, 1000, 1<<20)
	checkSeq(t, rest, 4, 100)
	if err := b.Commit(51); err != nil {
		t.Fatal(err)
	}
	if n, by := b.Backlog(); n != 50 || by != encodedLen(all[50:]...) {
		t.Fatalf("b backlog after commit 51 = %d records, %d bytes; want 50, %d", n, by, encodedLen(all[50:]...))
	}
	if n, _ := a.Backlog(); n != 0 {
		t.Fatalf("b's commit changed a's backlog to %d", n)
	}
}

func TestNextDataStaysValid(t *testing.T) {
	j := openT(t, Options{Dir: t.TempDir()}, "a")
	appendSeq(t, j, 1, 3, 3)
	c := j.Cursor("a")
	first, err := c.Next(3, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	// Growing one record's data must not overwrite its neighbour.
	_ = append(first[0].Data, "XXXXXXXXXXXXXXXXXXXX"...)
	appendSeq(t, j, 4, 200, 50)
	if err := c.Commit(4); err != nil {
		t.Fatal(err)
	}
	checkSeq(t, drain(t, c, 64, 1<<20), 4, 200)
	checkSeq(t, first, 1, 3)
}

func TestRewind(t *testing.T) {
	j := openT(t, Options{Dir: t.TempDir()}, "a")
	appendSeq(t, j, 1, 100, 100)
	c := j.Cursor("a")

	recs, err := c.Next(10, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	checkSeq(t, recs, 1, 10)
	// Only part of the batch was acknowledged.
	if err := c.Commit(7); err != nil {
		t.Fatal(err)
	}
	recs, err = c.Next(4, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	checkSeq(t, recs, 11, 14)
	c.Rewind()
	checkSeq(t, drain(t, c, 16, 1<<20), 7, 100)

	// Committing backwards is ignored.
	if err := c.Commit(3); err != nil {
		t.Fatal(err)
	}
	if got := c.Committed(); got != 7 {
		t.Fatalf("committed after going backwards = %d, want 7", got)
	}
	// A position between index entries, far from the read position.
	if err := c.Commit(78); err != nil {
		t.Fatal(err)
	}
	if got := c.Committed(); got != 78 {
		t.Fatalf("committed = %d, want 78", got)
	}
	var tail [][]byte
	for seq := uint64(78); seq <= 100; seq++ {
		tail = append(tail, recData(seq))
	}
	if n, by := c.Backlog(); n != 23 || by != encodedLen(tail...) {
		t.Fatalf("backlog = %d records, %d bytes; want 23, %d", n, by, encodedLen(tail...))
	}
	c.Rewind()
	checkSeq(t, drain(t, c, 5, 1<<20), 78, 100)
	// Committing past the end counts as up to the end.
	if err := c.Commit(1000); err != nil {
		t.Fatal(err)
	}
	if got := c.Committed(); got != 101 {
		t.Fatalf("committed past the end = %d, want 101", got)
	}
	if last, err := j.Append(recData(101)); err != nil || last != 101 {
		t.Fatalf("Append after committing past the end = %d, %v", last, err)
	}
	checkSeq(t, drain(t, c, 5, 1<<20), 101, 101)
}

func TestReady(t *testing.T) {
	j, err := Open(Options{Dir: t.TempDir()}, []string{"a"})
	if err != nil {
		t.Fatal(err)
	}
	c := j.Cursor("a")
	select {
	case <-c.Ready():
		t.Fatal("Ready signalled on an empty journal")
	default:
	}
	appendSeq(t, j, 1, 5, 5)
	select {
	case <-c.Ready():
	default:
		t.Fatal("Ready not signalled after Append")
	}
	checkSeq(t, drain(t, c, 10, 1<<20), 1, 5)
	c.Rewind()
	select {
	case <-c.Ready():
	default:
		t.Fatal("Ready not signalled after Rewind with uncommitted records")
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	if _, ok := <-c.Ready(); ok {
		t.Fatal("Ready still open after Close")
	}
}

func TestClosed(t *testing.T) {
	j, err := Open(Options{Dir: t.TempDir()}, []string{"a"})
	if err != nil {
		t.Fatal(err)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	c := j.Cursor("a")
	if _, err := j.Append([]byte("x")); !errors.Is(err, ErrClosed) {
		t.Errorf("Append after Close: %v", err)
	}
	if _, err := c.Next(1, 1); !errors.Is(err, ErrClosed) {
		t.Errorf("Next after Close: %v", err)
	}
	if err := c.Commit(1); !errors.Is(err, ErrClosed) {
		t.Errorf("Commit after Close: %v", err)
	}
	if err := j.Sync(); !errors.Is(err, ErrClosed) {
		t.Errorf("Sync after Close: %v", err)
	}
	if err := j.Close(); !errors.Is(err, ErrClosed) {
		t.Errorf("second Close: %v", err)
	}
}

func TestCursorNames(t *testing.T) {
	dir := t.TempDir()
	for _, names := range [][]string{{""}, {"a/b"}, {"a\x00"}, {".."}, {"x..y"}, {"a", "a"}} {
		if j, err := Open(Options{Dir: dir}, names); err == nil {
			_ = j.Close()
			t.Errorf("Open accepted cursor names %q", names)
		}
	}
	j := openT(t, Options{Dir: dir}, "siem-1.example.org:6514", "a.b")
	if j.Cursor("siem-1.example.org:6514") == nil || j.Cursor("a.b") == nil {
		t.Fatal("valid cursor names not opened")
	}
	if j.Cursor("other") != nil {
		t.Fatal("Cursor returned a cursor for a name not given to Open")
	}
	if j.Dropped("other") != 0 {
		t.Fatal("Dropped of an unknown cursor is not 0")
	}
}

func TestEmptyAndOversizedRecordsRefused(t *testing.T) {
	j := openT(t, Options{Dir: t.TempDir()}, "a")
	if _, err := j.Append([]byte("ok"), nil); err == nil {
		t.Fatal("Append accepted an empty record")
	}
	// The refused batch left nothing behind.
	if last, err := j.Append([]byte("next")); err != nil || last != 1 {
		t.Fatalf("Append after a refused batch = %d, %v; want 1", last, err)
	}
	if last, err := j.Append(); err != nil || last != 1 {
		t.Fatalf("empty Append = %d, %v; want 1", last, err)
	}
}

func TestLocked(t *testing.T) {
	dir := t.TempDir()
	j, err := Open(Options{Dir: dir}, []string{"a"})
	if err != nil {
		t.Fatal(err)
	}
	if j2, err := Open(Options{Dir: dir}, []string{"a"}); err == nil {
		_ = j2.Close()
		t.Fatal("a second Open of an open journal succeeded")
	} else if !strings.Contains(err.Error(), "already open") {
		t.Fatalf("second Open: %v", err)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	j = openT(t, Options{Dir: dir}, "a")
	if j.Cursor("a") == nil {
		t.Fatal("reopen after Close lost the cursor")
	}
}

// TestConcurrent runs the intended goroutines together: one appender, a
// sender per cursor (one of them rewinding now and then, as after a broken
// connection), and a stats reader. Every sender must end up delivering
// every record once, in order.
func TestConcurrent(t *testing.T) {
	const total = 20000
	j := openT(t, Options{Dir: t.TempDir(), MaxBytes: 16 << 20, SegmentBytes: 64 << 10, SyncInterval: time.Millisecond}, "a", "b")
	stop := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, 8)

	wg.Go(func() {
		for seq := uint64(1); seq <= total; {
			n := int(seq%37) + 1
			var recs [][]byte
			for ; seq <= total && len(recs) < n; seq++ {
				recs = append(recs, recData(seq))
			}
			if _, err := j.Append(recs...); err != nil {
				errs <- err
				return
			}
		}
	})
	delivered := make([][]uint64, 2)
	for i, name := range []string{"a", "b"} {
		wg.Go(func() {
			c := j.Cursor(name)
			var next uint64 = 1
			for step := 0; next <= total; step++ {
				recs, err := c.Next(50, 4096)
				if err != nil {
					errs <- err
					return
				}
				if len(recs) == 0 {
					select {
					case <-c.Ready():
					case <-time.After(10 * time.Second):
						errs <- errors.New(name + ": Ready never signalled")
						return
					}
					continue
				}
				if name == "b" && step%7 == 3 {
					c.Rewind() // the connection broke before these were acknowledged
					continue
				}
				for _, r := range recs {
					if r.Seq != next || !bytes.Equal(r.Data, recData(r.Seq)) {
						errs <- errors.New(name + ": out of order or wrong data")
						return
					}
					delivered[i] = append(delivered[i], r.Seq)
					next++
				}
				if err := c.Commit(next); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	var statsWG sync.WaitGroup
	statsWG.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			for _, name := range []string{"a", "b"} {
				c := j.Cursor(name)
				n, by := c.Backlog()
				if n > total || by < 0 {
					errs <- errors.New("impossible backlog")
					return
				}
				_ = c.Committed()
				if j.Dropped(name) != 0 {
					errs <- errors.New("records dropped below the bound")
					return
				}
			}
		}
	})
	wg.Wait()
	close(stop)
	statsWG.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for i, d := range delivered {
		if len(d) != total || d[0] != 1 || d[total-1] != total {
			t.Fatalf("cursor %d delivered %d records", i, len(d))
		}
	}
	for _, name := range []string{"a", "b"} {
		if n, _ := j.Cursor(name).Backlog(); n != 0 {
			t.Fatalf("%s backlog %d after delivering everything", name, n)
		}
	}
}
