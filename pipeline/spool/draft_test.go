package spool

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/gatewatch/gatewatch/telemetry"
)

func TestDraftCommitRoundTrip(t *testing.T) {
	cases := []struct {
		name   string
		size   int
		chunk  int // 0: one Write for all content
		rcpts  int
		noBody bool
	}{
		{name: "empty", size: 0, rcpts: 1},
		{name: "small", size: 300, rcpts: 1},
		{name: "bare CR and 8-bit, 3 recipients", size: 5 << 10, chunk: 7, rcpts: 3},
		{name: "3MB one write", size: 3 << 20, rcpts: 2},
		{name: "3MB odd chunks", size: 3<<20 + 17, chunk: 7919, rcpts: 5},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			var mu sync.Mutex
			var queued []string
			var entries []*Entry
			e.sp.OnQueued(func(en *Entry) {
				mu.Lock()
				queued = append(queued, en.Meta.ID)
				entries = append(entries, en)
				mu.Unlock()
			})
			content := testContent(tc.size)
			id := e.sp.NewID()
			d, err := e.sp.NewDraft(id, tc.rcpts)
			if err != nil {
				t.Fatal(err)
			}
			if d.ID() != id {
				t.Fatalf("draft ID %q, want %q", d.ID(), id)
			}
			if !exists(filepath.Join(e.dir, tmpDir, id)) {
				t.Fatalf("draft file not in tmp/")
			}
			if tc.chunk == 0 {
				n, err := d.Write(content)
				if err != nil || n != len(content) {
					t.Fatalf("Write = %d, %v; want %d, nil", n, err, len(content))
				}
			} else {
				for rest := content; len(rest) > 0; {
					k := min(tc.chunk, len(rest))
					if n, err := d.Write(rest[:k]); err != nil || n != k {
						t.Fatalf("Write = %d, %v; want %d, nil", n, err, k)
					}
					rest = rest[k:]
				}
			}
			if err := d.EndContent(); err != nil {
				t.Fatal(err)
			}
			if d.Size() != int64(len(content)) {
				t.Fatalf("Size = %d, want %d", d.Size(), len(content))
			}
			got, err := io.ReadAll(io.NewSectionReader(d, 0, d.Size()))
			if err != nil {
				t.Fatalf("read draft: %v", err)
			}
			if !bytes.Equal(got, content) {
				t.Fatalf("draft content differs (got %d bytes, want %d)", len(got), len(content))
			}
			checkReadAtContract(t, d, content)

			meta := sampleMeta(tc.rcpts)
			if err := d.Commit(meta); err != nil {
				t.Fatalf("Commit: %v", err)
			}
			if meta.ID != id || meta.Size != int64(len(content)) {
				t.Fatalf("Commit set meta ID/Size to %q/%d, want %q/%d", meta.ID, meta.Size, id, len(content))
			}
			if names := dirNames(t, filepath.Join(e.dir, tmpDir)); len(names) != 0 {
				t.Fatalf("tmp/ not empty after Commit: %v", names)
			}
			if names := dirNames(t, filepath.Join(e.dir, string(Incoming))); !slices.Equal(names, []string{id}) {
				t.Fatalf("incoming/ = %v, want [%s]", names, id)
			}
			fi, err := os.Stat(spoolPath(e, Incoming, id))
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm()&0o007 != 0 {
				t.Errorf("spool file is world-accessible: %v", fi.Mode())
			}

			ent, err := e.sp.Load(Incoming, id)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if !reflect.DeepEqual(ent.Meta, *meta) {
				t.Fatalf("Meta round trip:\n got %+v\nwant %+v", ent.Meta, *meta)
			}
			if ent.QState != Incoming {
				t.Errorf("QState = %q", ent.QState)
			}
			if ent.State.Attempts != 0 || ent.State.Next != 0 || string(ent.State.Rcpts) != strings.Repeat("P", tc.rcpts) {
				t.Errorf("initial state = %+v", ent.State)
			}
			if got := readContent(t, ent); !bytes.Equal(got, content) {
				t.Fatalf("OpenContent differs (got %d bytes, want %d)", len(got), len(content))
			}
			// Content is a section: its size is the content size, and a
			// read past it does not leak the meta.
			c, err := ent.OpenContent()
			if err != nil {
				t.Fatal(err)
			}
			if c.Size() != int64(len(content)) {
				t.Errorf("Content.Size = %d", c.Size())
			}
			if n, err := c.ReadAt(make([]byte, 10), int64(len(content))); n != 0 || err != io.EOF {
				t.Errorf("ReadAt past content = %d, %v; want 0, EOF", n, err)
			}
			if err := c.Close(); err != nil {
				t.Errorf("Content.Close: %v", err)
			}

			// ReadFile without verify gives the same.
			raw, err := ReadFile(spoolPath(e, Incoming, id), false)
			if err != nil || !reflect.DeepEqual(raw.Meta, *meta) {
				t.Fatalf("ReadFile(verify=false) = %+v, %v", raw, err)
			}

			mu.Lock()
			if !slices.Equal(queued, []string{id}) {
				t.Errorf("OnQueued saw %v, want [%s]", queued, id)
			}
			// The entry handed over is as good as one loaded from disk.
			if len(entries) == 1 {
				en := entries[0]
				if en.QState != Incoming || !reflect.DeepEqual(en.Meta, *meta) || string(en.State.Rcpts) != strings.Repeat("P", tc.rcpts) {
					t.Errorf("handed-over entry = %+v", en)
				}
				c, err := en.OpenContent()
				if err != nil {
					t.Fatal(err)
				}
				got, _ := io.ReadAll(c)
				c.Close()
				if !bytes.Equal(got, content) {
					t.Error("handed-over entry reads different content")
				}
			}
			mu.Unlock()
			evs := e.rec.OfType(telemetry.MessageQueued)
			if len(evs) != 1 {
				t.Fatalf("%d MessageQueued events, want 1", len(evs))
			}
			ev := evs[0]
			if ev.QueueID != id || ev.Sender != meta.Envelope.From || ev.Recipients != tc.rcpts || ev.Size != int64(len(content)) {
				t.Errorf("MessageQueued event = %+v", ev)
			}
			if got := e.st.SpoolWrite.Load().Count; got != 1 {
				t.Errorf("SpoolWrite observations = %d, want 1", got)
			}
			if got := e.gauge(Incoming); got != 1 {
				t.Errorf("incoming gauge = %d, want 1", got)
			}
		})
	}
}

// checkReadAtContract checks io.ReaderAt behaviour of a draft at the edges.
func checkReadAtContract(t *testing.T, d *Draft, content []byte) {
	t.Helper()
	n := int64(len(content))
	if k, err := d.ReadAt(make([]byte, 4), n); k != 0 || err != io.EOF {
		t.Errorf("ReadAt(at end) = %d, %v; want 0, EOF", k, err)
	}
	if k, err := d.ReadAt(make([]byte, 4), n+100); k != 0 || err != io.EOF {
		t.Errorf("ReadAt(past end) = %d, %v; want 0, EOF", k, err)
	}
	if n >= 3 {
		p := make([]byte, 10)
		k, err := d.ReadAt(p, n-3)
		if k != 3 || err != io.EOF || !bytes.Equal(p[:3], content[n-3:]) {
			t.Errorf("ReadAt(straddling end) = %d, %v, %q; want 3, EOF, %q", k, err, p[:k], content[n-3:])
		}
		p = make([]byte, 3)
		k, err = d.ReadAt(p, n-3)
		if k != 3 || (err != nil && err != io.EOF) || !bytes.Equal(p, content[n-3:]) {
			t.Errorf("ReadAt(exactly to end) = %d, %v", k, err)
		}
	}
	// A negative offset must be refused, not read the file's header lines.
	if k, err := d.ReadAt(make([]byte, 4), -4); err == nil || k != 0 {
		t.Errorf("ReadAt(-4) = %d, %v; want 0 and an error", k, err)
	}
}

func TestDraftFileFormat(t *testing.T) {
	e := newEnv(t)
	content := []byte("hello\rworld\xff")
	id := commit(t, e.sp, content, sampleMeta(2))
	b, err := os.ReadFile(spoolPath(e, Incoming, id))
	if err != nil {
		t.Fatal(err)
	}
	line1 := string(b[:headLen])
	if !strings.HasPrefix(line1, "GWSPOOL1 content=000000000012 meta=") || !strings.HasSuffix(line1, " \n") ||
		!strings.Contains(line1, " n=000002") {
		t.Errorf("line 1 = %q", line1)
	}
	line2 := string(b[headLen : headLen+mutableLen(2)])
	if line2 != "attempts=000000 next=0000000000000 status=PP\n" {
		t.Errorf("line 2 = %q", line2)
	}
	if got := b[headLen+mutableLen(2):][:len(content)]; !bytes.Equal(got, content) {
		t.Errorf("content in file = %q", got)
	}
	if b[len(b)-1] != '}' {
		t.Errorf("file does not end with the meta JSON")
	}
}

func TestDraftAbort(t *testing.T) {
	e := newEnv(t)
	id := e.sp.NewID()
	d, err := e.sp.NewDraft(id, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Write([]byte("partial")); err != nil {
		t.Fatal(err)
	}
	d.Abort()
	if names := dirNames(t, filepath.Join(e.dir, tmpDir)); len(names) != 0 {
		t.Fatalf("tmp/ after Abort = %v", names)
	}
	d.Abort() // idempotent, no panic
	if _, err := e.sp.Load(Incoming, id); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Load after Abort = %v, want ErrNotFound", err)
	}
	if len(e.rec.OfType(telemetry.MessageQueued)) != 0 {
		t.Errorf("an aborted draft was reported queued")
	}
	// The ID can be used again once aborted.
	d2, err := e.sp.NewDraft(id, 1)
	if err != nil {
		t.Fatalf("NewDraft after Abort: %v", err)
	}
	d2.Abort()
}

func TestAbortAfterCommitKeepsMessage(t *testing.T) {
	e := newEnv(t)
	id := e.sp.NewID()
	d, err := e.sp.NewDraft(id, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Commit(sampleMeta(1)); err != nil {
		t.Fatal(err)
	}
	d.Abort() // deferred cleanups often do this
	if _, err := e.sp.Load(Incoming, id); err != nil {
		t.Fatalf("Abort after Commit lost the message: %v", err)
	}
}

func TestDraftErrors(t *testing.T) {
	e := newEnv(t)
	for _, bad := range []string{"", "../etc/passwd", strings.Repeat("A", 17), "0123456789abcdef"} {
		if _, err := e.sp.NewDraft(bad, 1); err == nil || !strings.Contains(err.Error(), "invalid queue ID") {
			t.Errorf("NewDraft(%q) = %v, want invalid queue ID", bad, err)
		}
	}
	for _, n := range []int{0, -1, maxRecipents + 1} {
		if _, err := e.sp.NewDraft(e.sp.NewID(), n); err == nil {
			t.Errorf("NewDraft with %d recipients succeeded", n)
		}
	}
	if names := dirNames(t, filepath.Join(e.dir, tmpDir)); len(names) != 0 {
		t.Fatalf("refused drafts left files: %v", names)
	}

	// Same ID twice: the second is refused and the first is untouched.
	id := e.sp.NewID()
	d, err := e.sp.NewDraft(id, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.sp.NewDraft(id, 1); err == nil {
		t.Fatal("second draft with the same ID was allowed")
	}

	// Write after EndContent.
	if _, err := d.Write([]byte("a")); err != nil {
		t.Fatal(err)
	}
	if err := d.EndContent(); err != nil {
		t.Fatal(err)
	}
	if n, err := d.Write([]byte("b")); err == nil || n != 0 {
		t.Errorf("Write after EndContent = %d, %v", n, err)
	}

	// Recipient count mismatch: Commit refuses and throws the draft away.
	if err := d.Commit(sampleMeta(2)); err == nil {
		t.Fatal("Commit with 2 recipients for a 1-recipient draft succeeded")
	}
	if exists(filepath.Join(e.dir, tmpDir, id)) || exists(spoolPath(e, Incoming, id)) {
		t.Fatal("refused Commit left a file")
	}
	if len(e.rec.OfType(telemetry.MessageQueued)) != 0 || e.gauge(Incoming) != 0 {
		t.Fatal("refused Commit was counted as queued")
	}
}

func TestCommitWithoutEndContent(t *testing.T) {
	e := newEnv(t)
	content := testContent(100 << 10) // more than the write buffer
	id := e.sp.NewID()
	d, err := e.sp.NewDraft(id, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Write(content); err != nil {
		t.Fatal(err)
	}
	if err := d.Commit(sampleMeta(1)); err != nil {
		t.Fatal(err)
	}
	ent, err := e.sp.Load(Incoming, id)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(readContent(t, ent), content) {
		t.Fatal("content differs")
	}
}

func TestConcurrentCommits(t *testing.T) {
	e := newEnv(t)
	const n = 40
	var mu sync.Mutex
	seen := map[string]int{}
	e.sp.OnQueued(func(en *Entry) {
		mu.Lock()
		seen[en.Meta.ID]++
		mu.Unlock()
	})
	ids := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			id := e.sp.NewID()
			ids[i] = id
			d, err := e.sp.NewDraft(id, 1)
			if err != nil {
				errs[i] = err
				return
			}
			if _, err := d.Write([]byte(id)); err != nil {
				errs[i] = err
				return
			}
			errs[i] = d.Commit(sampleMeta(1))
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("commit %d: %v", i, err)
		}
	}
	for _, id := range ids {
		ent, err := e.sp.Load(Incoming, id)
		if err != nil {
			t.Fatalf("Load %s: %v", id, err)
		}
		if string(readContent(t, ent)) != id {
			t.Fatalf("%s holds another message's content", id)
		}
		if seen[id] != 1 {
			t.Errorf("OnQueued called %d times for %s", seen[id], id)
		}
	}
	if got := e.gauge(Incoming); got != n {
		t.Errorf("incoming gauge = %d, want %d", got, n)
	}
	if f := e.sp.syncer.fsyncs(); f < 1 || f > n {
		t.Errorf("%d commits made %d directory fsyncs", n, f)
	}
}

func TestFindAndMoveEntry(t *testing.T) {
	e := newEnv(t)
	content := []byte("moved content")
	id := commit(t, e.sp, content, sampleMeta(1))
	ent, err := e.sp.Find(id)
	if err != nil || ent.QState != Incoming {
		t.Fatalf("Find = %+v, %v", ent, err)
	}
	if err := e.sp.MoveEntry(ent, Deferred); err != nil {
		t.Fatal(err)
	}
	if ent.QState != Deferred || exists(spoolPath(e, Incoming, id)) || !exists(spoolPath(e, Deferred, id)) {
		t.Fatalf("MoveEntry did not move: QState %q", ent.QState)
	}
	if !bytes.Equal(readContent(t, ent), content) {
		t.Fatal("content unreadable after MoveEntry")
	}
	if e.gauge(Incoming) != 0 || e.gauge(Deferred) != 1 {
		t.Errorf("gauges incoming=%d deferred=%d", e.gauge(Incoming), e.gauge(Deferred))
	}
	found, err := e.sp.Find(id)
	if err != nil || found.QState != Deferred {
		t.Fatalf("Find after move = %+v, %v", found, err)
	}
	if _, err := e.sp.Find("0000000000000000"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Find(unknown) = %v", err)
	}
	if _, err := e.sp.Find("../incoming/x"); err == nil || !strings.Contains(err.Error(), "invalid queue ID") {
		t.Errorf("Find(bad) = %v", err)
	}
	if err := e.sp.Move(id, Incoming, Hold); err == nil {
		t.Errorf("Move from a state that does not hold the message succeeded")
	}
	if e.gauge(Incoming) != 0 || e.gauge(Hold) != 0 {
		t.Errorf("a failed Move changed gauges: incoming=%d hold=%d", e.gauge(Incoming), e.gauge(Hold))
	}
}

func TestListOrderAndFiltering(t *testing.T) {
	e := newEnv(t)
	var ids []string
	for range 5 {
		ids = append(ids, commitSimple(t, e.sp, 1))
	}
	// Stray names are not messages.
	for _, junk := range []string{"README", "abc", ".hidden", strings.Repeat("Z", 17)} {
		if err := os.WriteFile(filepath.Join(e.dir, string(Incoming), junk), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	got, err := e.sp.List(Incoming)
	if err != nil {
		t.Fatal(err)
	}
	want := slices.Clone(ids)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("List = %v, want %v", got, want)
	}
	if e.sp.Dir() != e.dir {
		t.Errorf("Dir = %q", e.sp.Dir())
	}
}

func TestConfigValidate(t *testing.T) {
	if err := (Config{Dir: " "}).Validate(); err == nil || !strings.Contains(err.Error(), "spool.dir") {
		t.Errorf("Validate(blank) = %v", err)
	}
	if err := (Config{Dir: "/var/spool/gw"}).Validate(); err != nil {
		t.Errorf("Validate(ok) = %v", err)
	}
}
