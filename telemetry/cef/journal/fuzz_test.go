package journal

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// validPrefix is an independent reading of a segment: the records before
// the first one with a bad length or checksum.
func validPrefix(b []byte) (recs [][]byte, size int) {
	for len(b)-size >= headerLen {
		n := int(binary.LittleEndian.Uint32(b[size:]))
		sum := binary.LittleEndian.Uint32(b[size+4:])
		if n == 0 || n > len(b)-size-headerLen {
			break
		}
		data := b[size+headerLen : size+headerLen+n]
		if checksum(data) != sum {
			break
		}
		recs = append(recs, data)
		size += headerLen + n
	}
	return recs, size
}

func cursorFileBytes(seqs ...uint64) []byte {
	b := make([]byte, cursorFileLen)
	for i, s := range seqs {
		encodeSlot(b[i*slotLen:(i+1)*slotLen], s)
	}
	return b
}

func FuzzOpenSegment(f *testing.F) {
	var good []byte
	for _, s := range []string{"one", "two", "three", "four"} {
		good = appendRecord(good, []byte(s))
	}
	f.Add(good, cursorFileBytes(1, 1))
	f.Add(good, cursorFileBytes(3, 2))
	f.Add(good[:len(good)-2], cursorFileBytes(2, 9))
	f.Add(append(bytes.Clone(good), 0, 0, 0, 0, 0, 0, 0, 0), []byte{})
	f.Add(append(bytes.Clone(good), 0xff, 0xff, 0xff, 0xff), cursorFileBytes(1<<62, 1))
	f.Add([]byte{}, cursorFileBytes(7, 7))
	f.Add([]byte("garbage that is not a segment"), []byte("garbage cursor"))
	f.Add(good, cursorFileBytes(0, 0))

	f.Fuzz(func(t *testing.T, seg, cur []byte) {
		dir := t.TempDir()
		segPath := filepath.Join(dir, segName(1))
		if err := os.WriteFile(segPath, seg, 0o640); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(cursorPath(dir, "a"), cur, 0o640); err != nil {
			t.Fatal(err)
		}
		want, wantSize := validPrefix(seg)
		o := Options{Dir: dir, SyncInterval: time.Hour}
		j, err := Open(o, []string{"a"})
		if err != nil {
			t.Fatalf("Open failed on damaged content: %v", err)
		}
		defer func() { _ = j.Close() }()
		if wantSize < len(seg) && len(j.Repairs()) == 0 {
			t.Fatal("damage cut off without a repair reported")
		}
		c := j.Cursor("a")
		committed := c.Committed()
		if committed < 1 {
			t.Fatalf("committed position %d", committed)
		}
		if st, err := os.Stat(segPath); err == nil {
			if st.Size() != int64(wantSize) {
				t.Fatalf("segment is %d bytes after Open, the valid prefix %d", st.Size(), wantSize)
			}
		} else if !errors.Is(err, os.ErrNotExist) || committed <= uint64(len(want)) {
			// Only a segment the cursor had delivered may go.
			t.Fatalf("segment with %d valid records gone, cursor at %d: %v", len(want), committed, err)
		}
		backlog, _ := c.Backlog()
		recs := drain(t, c, 3, 10)
		if uint64(len(recs)) != backlog {
			t.Fatalf("backlog %d but %d records read", backlog, len(recs))
		}
		for i, r := range recs {
			if r.Seq < committed || r.Seq > uint64(len(want)) {
				t.Fatalf("record seq %d outside %d..%d", r.Seq, committed, len(want))
			}
			if i > 0 && r.Seq != recs[i-1].Seq+1 {
				t.Fatalf("seq %d after %d", r.Seq, recs[i-1].Seq)
			}
			if !bytes.Equal(r.Data, want[r.Seq-1]) {
				t.Fatalf("record %d differs from the segment", r.Seq)
			}
		}
		if len(recs) > 0 && recs[len(recs)-1].Seq != uint64(len(want)) {
			t.Fatalf("reading stopped at %d of %d", recs[len(recs)-1].Seq, len(want))
		}

		next := max(uint64(len(want))+1, committed)
		last, err := j.Append([]byte("after"))
		if next >= maxSeq {
			if err == nil {
				t.Fatalf("Append past the last sequence number returned %d", last)
			}
			return
		}
		if err != nil || last != next {
			t.Fatalf("Append = %d, %v; want %d", last, err, next)
		}
		if err := c.Commit(last + 1); err != nil {
			t.Fatal(err)
		}
		if err := j.Close(); err != nil {
			t.Fatal(err)
		}
		j, err = Open(o, []string{"a"})
		if err != nil {
			t.Fatal(err)
		}
		if len(j.Repairs()) != 0 {
			t.Fatalf("a repaired journal needed repairs again: %v", j.Repairs())
		}
		if got := j.Cursor("a").Committed(); got != last+1 {
			t.Fatalf("reopened at %d, want %d", got, last+1)
		}
		if got, err := j.Append([]byte("again")); err != nil || got != last+1 {
			t.Fatalf("Append after reopen = %d, %v; want %d", got, err, last+1)
		}
	})
}
