package spool

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gatewatch/gatewatch/telemetry"
)

// layout gives the offsets of the parts of a committed spool file.
type layout struct {
	size, stateAt, contentAt, metaAt int
}

func fileLayout(t *testing.T, b []byte, rcpts int) layout {
	t.Helper()
	h, err := decodeHead(b[:headLen])
	if err != nil {
		t.Fatal(err)
	}
	l := layout{size: len(b), stateAt: headLen, contentAt: headLen + mutableLen(rcpts)}
	l.metaAt = l.contentAt + int(h.contentLen)
	if l.metaAt+int(h.metaLen) != len(b) {
		t.Fatalf("layout does not add up")
	}
	return l
}

func flip(at int) func([]byte, layout) []byte {
	return func(b []byte, _ layout) []byte { b[at] ^= 0x01; return b }
}

// digit changes the digit at at to another valid (decimal and hex) digit.
func digit(at int) func([]byte, layout) []byte {
	return func(b []byte, _ layout) []byte {
		if b[at] == '0' {
			b[at] = '1'
		} else {
			b[at] = '0'
		}
		return b
	}
}

func TestLoadCorruptFiles(t *testing.T) {
	const rcpts = 2
	content := testContent(3000)
	type mutation func(b []byte, l layout) []byte
	set := func(at func(layout) int, c byte) mutation {
		return func(b []byte, l layout) []byte { b[at(l)] = c; return b }
	}
	truncAt := func(at func(layout) int) mutation {
		return func(b []byte, l layout) []byte { return b[:at(l)] }
	}
	cases := []struct {
		name string
		mut  mutation
	}{
		{"empty file", truncAt(func(layout) int { return 0 })},
		{"truncated in line 1", truncAt(func(layout) int { return 40 })},
		{"truncated after line 1", truncAt(func(layout) int { return headLen })},
		{"truncated in line 2", truncAt(func(l layout) int { return l.stateAt + 10 })},
		{"truncated at content start", truncAt(func(l layout) int { return l.contentAt })},
		{"truncated mid content", truncAt(func(l layout) int { return l.contentAt + 1500 })},
		{"truncated at meta start", truncAt(func(l layout) int { return l.metaAt })},
		{"truncated mid meta", truncAt(func(l layout) int { return l.metaAt + 20 })},
		{"last byte missing", truncAt(func(l layout) int { return l.size - 1 })},
		{"flipped first content byte", func(b []byte, l layout) []byte { return flip(l.contentAt)(b, l) }},
		{"flipped mid content byte", func(b []byte, l layout) []byte { return flip(l.contentAt+1234)(b, l) }},
		{"flipped last content byte", func(b []byte, l layout) []byte { return flip(l.metaAt-1)(b, l) }},
		{"flipped meta byte (still valid JSON)", func(b []byte, l layout) []byte {
			i := bytes.Index(b[l.metaAt:], []byte("sender@example.org"))
			b[l.metaAt+i] = 'S'
			return b
		}},
		{"flipped meta byte (broken JSON)", func(b []byte, l layout) []byte { b[l.metaAt] = '['; return b }},
		{"magic altered", set(func(layout) int { return 0 }, 'X')},
		{"content length digit altered", digit(len("GWSPOOL1 content=00000000000"))},
		{"meta length digit altered", digit(len("GWSPOOL1 content=000000003000 meta=0000000"))},
		{"crc digit altered", digit(len("GWSPOOL1 content=000000003000 meta=00000000 crc="))},
		{"crc last digit altered", digit(len("GWSPOOL1 content=000000003000 meta=00000000 crc=0000000"))},
		{"recipient count altered", digit(len("GWSPOOL1 content=000000003000 meta=00000000 crc=00000000 n=00000"))},
		{"line 1 newline missing", set(func(layout) int { return headLen - 1 }, ' ')},
		{"line 1 layout altered", set(func(layout) int { return len("GWSPOOL1") }, '_')},
		{"invalid status char", set(func(l layout) int { return l.contentAt - 2 }, 'X')},
		{"lowercase status char", set(func(l layout) int { return l.contentAt - 3 }, 'p')},
		{"attempts not a number", set(func(l layout) int { return l.stateAt + 9 }, 'a')},
		{"next not a number", set(func(l layout) int { return l.stateAt + 25 }, '-')},
		{"state line newline missing", set(func(l layout) int { return l.contentAt - 1 }, 'P')},
		{"state line key altered", set(func(l layout) int { return l.stateAt }, 'A')},
		{"extra trailing newline", func(b []byte, _ layout) []byte { return append(b, '\n') }},
		{"extra trailing bytes", func(b []byte, _ layout) []byte { return append(b, "garbage"...) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			good := commit(t, e.sp, []byte("healthy"), sampleMeta(1))
			id := commit(t, e.sp, content, sampleMeta(rcpts))
			path := spoolPath(e, Incoming, id)
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			orig := bytes.Clone(b)
			b = tc.mut(b, fileLayout(t, b, rcpts))
			if bytes.Equal(b, orig) {
				t.Fatal("mutation changed nothing")
			}
			if err := os.WriteFile(path, b, 0o640); err != nil {
				t.Fatal(err)
			}
			before := e.st.CorruptFiles.Load()

			ent, err := e.sp.Load(Incoming, id)
			if !isCorrupt(err) || ent != nil {
				t.Fatalf("Load = %v, %v; want an ErrCorrupt error", ent, err)
			}
			if !strings.Contains(err.Error(), id) {
				t.Errorf("error does not name the message: %v", err)
			}
			if exists(path) {
				t.Error("corrupt file left in incoming/")
			}
			moved, rerr := os.ReadFile(spoolPath(e, Corrupt, id))
			if rerr != nil || !bytes.Equal(moved, b) {
				t.Errorf("corrupt/ does not hold the damaged file as it was: %v", rerr)
			}
			evs := e.rec.OfType(telemetry.SpoolCorrupt)
			if len(evs) != 1 || evs[0].QueueID != id || evs[0].Text != string(Incoming) || evs[0].Err == "" {
				t.Errorf("SpoolCorrupt events = %+v", evs)
			}
			if got := e.st.CorruptFiles.Load(); got != before+1 {
				t.Errorf("CorruptFiles = %d, want %d", got, before+1)
			}
			if e.st.CorruptQueued.Load() != 1 || e.gauge(Incoming) != 1 {
				t.Errorf("gauges after quarantine: corrupt=%d incoming=%d, want 1, 1", e.st.CorruptQueued.Load(), e.gauge(Incoming))
			}
			// The rest of the spool works on.
			if _, err := e.sp.Load(Incoming, good); err != nil {
				t.Errorf("healthy message no longer loads: %v", err)
			}
			if _, err := e.sp.Load(Incoming, id); !errors.Is(err, ErrNotFound) {
				t.Errorf("second Load of the quarantined message = %v, want ErrNotFound", err)
			}
			if n := len(e.rec.OfType(telemetry.SpoolCorrupt)); n != 1 {
				t.Errorf("%d SpoolCorrupt events after the second Load, want 1", n)
			}
			if _, err := e.sp.Load(Corrupt, id); !isCorrupt(err) {
				t.Errorf("Load from corrupt/ = %v, want ErrCorrupt", err)
			}
			ready, _, err := e.sp.Recover()
			if err != nil || len(ready) != 1 || ready[0] != good {
				t.Errorf("Recover after quarantine = %v, %v", ready, err)
			}
		})
	}
}

// The header carries no ID; a file renamed to another valid ID must not be
// taken for that message.
func TestLoadMetaIDMismatch(t *testing.T) {
	e := newEnv(t)
	id := commitSimple(t, e.sp, 1)
	other := e.sp.NewID()
	b, err := os.ReadFile(spoolPath(e, Incoming, id))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(spoolPath(e, Deferred, other), b, 0o640); err != nil {
		t.Fatal(err)
	}
	_, err = e.sp.Load(Deferred, other)
	if !isCorrupt(err) || !strings.Contains(err.Error(), id) {
		t.Fatalf("Load of a renamed file = %v, want ErrCorrupt naming %s", err, id)
	}
	if exists(spoolPath(e, Deferred, other)) || !exists(spoolPath(e, Corrupt, other)) {
		t.Fatal("mismatched file not moved to corrupt/")
	}
	evs := e.rec.OfType(telemetry.SpoolCorrupt)
	if len(evs) != 1 || evs[0].QueueID != other || evs[0].Text != string(Deferred) {
		t.Fatalf("SpoolCorrupt events = %+v", evs)
	}
	if e.st.CorruptFiles.Load() != 1 {
		t.Errorf("CorruptFiles = %d", e.st.CorruptFiles.Load())
	}
	// The original is unaffected.
	if _, err := e.sp.Load(Incoming, id); err != nil {
		t.Fatal(err)
	}
}

func TestLoadMissingIsNotCorrupt(t *testing.T) {
	e := newEnv(t)
	_, err := e.sp.Load(Incoming, e.sp.NewID())
	if !errors.Is(err, ErrNotFound) || isCorrupt(err) {
		t.Fatalf("Load(missing) = %v", err)
	}
	if _, err := e.sp.Load(Incoming, "../lock"); err == nil || !strings.Contains(err.Error(), "invalid queue ID") {
		t.Fatalf("Load(../lock) = %v", err)
	}
	if len(e.rec.OfType(telemetry.SpoolCorrupt)) != 0 || e.st.CorruptFiles.Load() != 0 {
		t.Fatal("a missing file was reported corrupt")
	}
}

// Find quarantines too, and the event reaches bus subscribers (the log,
// CEF and trap channels).
func TestCorruptEventReachesSubscribers(t *testing.T) {
	e := newEnv(t)
	got := make(chan telemetry.Event, 16)
	sub := e.bus.Subscribe("test", 16, func(ev telemetry.Event, _ bool) { got <- ev })
	defer sub.Close()
	id := commitSimple(t, e.sp, 1)
	path := spoolPath(e, Incoming, id)
	b, _ := os.ReadFile(path)
	if err := os.WriteFile(path, b[:len(b)-3], 0o640); err != nil {
		t.Fatal(err)
	}
	if _, err := e.sp.Find(id); !isCorrupt(err) {
		t.Fatalf("Find = %v, want ErrCorrupt", err)
	}
	timeout := time.After(10 * time.Second)
	for {
		select {
		case ev := <-got:
			if ev.Type != telemetry.SpoolCorrupt {
				continue
			}
			if ev.QueueID != id || ev.Err == "" || ev.Time.IsZero() {
				t.Fatalf("event = %+v", ev)
			}
			return
		case <-timeout:
			t.Fatal("no SpoolCorrupt event reached the subscriber")
		}
	}
}
