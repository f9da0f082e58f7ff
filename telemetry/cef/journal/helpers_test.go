package journal

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// data returns the payload of the record with sequence number seq in tests
// that append recData records from 1 on.
func recData(seq uint64) []byte { return fmt.Appendf(nil, "record-%06d", seq) }

// bigData returns a payload of n bytes that names seq.
func bigData(seq uint64, n int) []byte {
	b := bytes.Repeat([]byte{'x'}, n)
	copy(b, recData(seq))
	return b
}

func openT(t testing.TB, o Options, names ...string) *Journal {
	t.Helper()
	j, err := Open(o, names)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = j.Close() })
	return j
}

// appendSeq appends recData(from) .. recData(to) in batches of batch.
func appendSeq(t testing.TB, j *Journal, from, to uint64, batch int) {
	t.Helper()
	for seq := from; seq <= to; {
		var recs [][]byte
		for ; seq <= to && len(recs) < batch; seq++ {
			recs = append(recs, recData(seq))
		}
		last, err := j.Append(recs...)
		if err != nil {
			t.Fatalf("Append: %v", err)
		}
		if last != seq-1 {
			t.Fatalf("Append returned %d, want %d", last, seq-1)
		}
	}
}

// drain reads the cursor until it has caught up.
func drain(t testing.TB, c *Cursor, max, maxBytes int) []Record {
	t.Helper()
	var all []Record
	for {
		recs, err := c.Next(max, maxBytes)
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		if len(recs) == 0 {
			return all
		}
		if len(recs) > max {
			t.Fatalf("Next(%d, %d) returned %d records", max, maxBytes, len(recs))
		}
		all = append(all, recs...)
	}
}

// checkSeq asserts recs are exactly the recData records from..to.
func checkSeq(t testing.TB, recs []Record, from, to uint64) {
	t.Helper()
	if want := int(to - from + 1); from > to && len(recs) != 0 || from <= to && len(recs) != want {
		t.Fatalf("got %d records %s, want %d..%d", len(recs), seqs(recs), from, to)
	}
	for i, r := range recs {
		seq := from + uint64(i)
		if r.Seq != seq {
			t.Fatalf("record %d has seq %d, want %d (%s)", i, r.Seq, seq, seqs(recs))
		}
		if !bytes.Equal(r.Data, recData(seq)) {
			t.Fatalf("record %d: data %q, want %q", seq, r.Data, recData(seq))
		}
	}
}

// seqs summarises record sequence numbers for failure messages.
func seqs(recs []Record) string {
	if len(recs) == 0 {
		return "[]"
	}
	return fmt.Sprintf("[%d..%d]", recs[0].Seq, recs[len(recs)-1].Seq)
}

func segFiles(t testing.TB, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*"+segSuffix))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(m)
	return m
}

func segBytesOnDisk(t testing.TB, dir string) int64 {
	t.Helper()
	var n int64
	for _, p := range segFiles(t, dir) {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		n += st.Size()
	}
	return n
}

func encodedLen(data ...[]byte) int64 {
	var n int64
	for _, d := range data {
		n += headerLen + int64(len(d))
	}
	return n
}

// crash abandons j as a killed process would: no final sync, no cursor
// persisted, descriptors simply gone. What was written with write(2) stays
// in the page cache, so a reopen sees it, as after a real kill.
func crash(j *Journal) { _ = j.shut(false) }

// dropLog collects OnDrop reports.
type dropLog struct {
	mu sync.Mutex
	n  map[string]uint64
}

func (d *dropLog) record(name string, n uint64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.n == nil {
		d.n = map[string]uint64{}
	}
	d.n[name] += n
}

func (d *dropLog) get(name string) uint64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.n[name]
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond) // polling interval, not synchronisation
	}
}

func repairsMention(j *Journal, file string) bool {
	return slices.ContainsFunc(j.Repairs(), func(err error) bool {
		return strings.Contains(err.Error(), filepath.Base(file))
	})
}
