package spool

import (
	"bytes"
	"errors"
	"os"
	"reflect"
	"testing"

	"github.com/gatewatch/gatewatch/internal/eventlog"
)

// seedFiles commits a few real messages and returns their spool files.
func seedFiles(tb testing.TB, dir string) [][]byte {
	tb.Helper()
	sp, err := Open(Config{Dir: dir}, &eventlog.Recorder{}, nil)
	if err != nil {
		tb.Fatal(err)
	}
	defer sp.Close()
	var files [][]byte
	for _, c := range []struct {
		content []byte
		rcpts   int
	}{
		{nil, 1},
		{[]byte("Subject: hi\r\n\r\nbody\r\n"), 1},
		{testContent(700), 3},
		{[]byte("\r\r\n\x00\xff"), 12},
	} {
		id := commit(tb, sp, c.content, sampleMeta(c.rcpts))
		b, err := os.ReadFile(sp.path(Incoming, id))
		if err != nil {
			tb.Fatal(err)
		}
		files = append(files, b)
	}
	return files
}

func FuzzParse(f *testing.F) {
	for _, b := range seedFiles(f, f.TempDir()) {
		h, err := decodeHead(b)
		if err != nil {
			f.Fatal(err)
		}
		contentAt := headLen + mutableLen(h.rcpts)
		f.Add(b, true)
		f.Add(b, false)
		// Mutations of real files.
		f.Add(b[:len(b)-1], true)
		f.Add(b[:headLen], false)
		f.Add(b[:contentAt], false)
		f.Add(append(bytes.Clone(b), '\n'), false)
		m := bytes.Clone(b)
		m[contentAt-2] = RcptDelivered // a legal state change
		f.Add(m, true)
		m = bytes.Clone(b)
		m[contentAt-2] = 'X'
		f.Add(m, false)
		m = bytes.Clone(b)
		m[len("GWSPOOL1 content=000000000")] = '9'
		f.Add(m, false)
		m = bytes.Clone(b)
		copy(m[len("GWSPOOL1 content=000000000000 meta=00000000 crc=00000000 n="):], "999999")
		f.Add(m, false)
		m = bytes.Clone(b)
		copy(m[headLen:], "attempts=+00001 next=+000000000000")
		f.Add(m, false)
		m = bytes.Clone(b)
		m[len(m)-2] ^= 0x20
		f.Add(m, true)
	}
	f.Add([]byte{}, false)
	f.Add([]byte("GWSPOOL1"), false)

	f.Fuzz(func(t *testing.T, data []byte, verify bool) {
		size := int64(len(data))
		e, err := parse(bytes.NewReader(data), size, verify)
		if err != nil {
			if e != nil {
				t.Fatalf("parse returned an entry and an error (%v)", err)
			}
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("parse error %v does not wrap ErrCorrupt", err)
			}
			return
		}
		if got, want := len(e.Meta.Envelope.Recipients), len(e.State.Rcpts); got != want || want < 1 {
			t.Fatalf("%d recipients in meta, %d statuses", got, want)
		}
		if e.contentOff < headLen || e.contentLen < 0 || e.contentOff+e.contentLen > size {
			t.Fatalf("content [%d, +%d) outside a %d-byte file", e.contentOff, e.contentLen, size)
		}
		if e.Meta.Size != e.contentLen {
			t.Fatalf("meta size %d, content %d", e.Meta.Size, e.contentLen)
		}
		if e.State.Attempts < 0 || e.State.Next < 0 {
			t.Fatalf("negative state %+v", e.State)
		}
		for _, c := range e.State.Rcpts {
			if c != RcptPending && c != RcptDelivered && c != RcptFailed {
				t.Fatalf("status %q accepted", c)
			}
		}
		// Writing the state back must fit its line exactly.
		if n := len(e.State.encode()); int64(headLen+n) != e.contentOff {
			t.Fatalf("re-encoded state line is %d bytes, the file's is %d", n, e.contentOff-headLen)
		}
		// verify only adds checks.
		if verify {
			e2, err := parse(bytes.NewReader(data), size, false)
			if err != nil {
				t.Fatalf("verified file fails to parse unverified: %v", err)
			}
			if !reflect.DeepEqual(e, e2) {
				t.Fatalf("verified and unverified parses differ")
			}
		}
	})
}
