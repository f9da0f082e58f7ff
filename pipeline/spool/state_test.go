package spool

import (
	"bytes"
	"math"
	"os"
	"strings"
	"testing"
	"time"
)

func TestSaveState(t *testing.T) {
	for _, durable := range []bool{true, false} {
		name := "durable"
		if !durable {
			name = "not durable"
		}
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			content := testContent(4096)
			id := commit(t, e.sp, content, sampleMeta(3))
			ent, err := e.sp.Load(Incoming, id)
			if err != nil {
				t.Fatal(err)
			}
			before, _ := os.ReadFile(spoolPath(e, Incoming, id))

			next := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC).UnixMilli()
			ent.State.Attempts = 7
			ent.State.Next = next
			ent.State.Rcpts = []byte{RcptDelivered, RcptPending, RcptFailed}
			if err := e.sp.SaveState(ent, durable); err != nil {
				t.Fatal(err)
			}
			again, err := e.sp.Load(Incoming, id)
			if err != nil {
				t.Fatalf("Load after SaveState: %v", err)
			}
			if again.State.Attempts != 7 || again.State.Next != next || string(again.State.Rcpts) != "DPF" {
				t.Fatalf("state after SaveState = %+v", again.State)
			}
			if !bytes.Equal(readContent(t, again), content) {
				t.Fatal("SaveState changed the content")
			}
			after, _ := os.ReadFile(spoolPath(e, Incoming, id))
			if len(after) != len(before) {
				t.Fatalf("SaveState changed the file size from %d to %d", len(before), len(after))
			}
			// Only line 2 differs.
			sb, se := headLen, headLen+mutableLen(3)
			if !bytes.Equal(before[:sb], after[:sb]) || !bytes.Equal(before[se:], after[se:]) {
				t.Fatal("SaveState wrote outside line 2")
			}
		})
	}
}

func TestSaveStateAfterMove(t *testing.T) {
	e := newEnv(t)
	id := commitSimple(t, e.sp, 2)
	ent, err := e.sp.Load(Incoming, id)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.sp.MoveEntry(ent, Deferred); err != nil {
		t.Fatal(err)
	}
	ent.State.Attempts = 1
	ent.State.Rcpts[1] = RcptDelivered
	if err := e.sp.SaveState(ent, true); err != nil {
		t.Fatal(err)
	}
	again, err := e.sp.Load(Deferred, id)
	if err != nil || again.State.Attempts != 1 || string(again.State.Rcpts) != "PD" {
		t.Fatalf("Load(Deferred) = %+v, %v", again, err)
	}
}

func TestSaveStateErrors(t *testing.T) {
	e := newEnv(t)
	id := commitSimple(t, e.sp, 2)
	ent, err := e.sp.Load(Incoming, id)
	if err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(spoolPath(e, Incoming, id))
	for _, rc := range [][]byte{nil, {RcptDelivered}, {RcptDelivered, RcptDelivered, RcptDelivered}} {
		bad := *ent
		bad.State.Rcpts = rc
		if err := e.sp.SaveState(&bad, true); err == nil || !strings.Contains(err.Error(), "statuses for 2 recipients") {
			t.Errorf("SaveState with %d statuses = %v", len(rc), err)
		}
	}
	// An unknown status byte would make the file unreadable (and so
	// quarantined): SaveState must refuse it.
	bad := *ent
	bad.State.Rcpts = []byte{RcptDelivered, 'X'}
	if err := e.sp.SaveState(&bad, true); err == nil {
		t.Errorf("SaveState with status 'X' succeeded")
	}
	after, _ := os.ReadFile(spoolPath(e, Incoming, id))
	if !bytes.Equal(before, after) {
		t.Fatal("a refused SaveState changed the file")
	}
	// The message is gone from where the entry thinks it is.
	if err := e.sp.Remove(id, Incoming); err != nil {
		t.Fatal(err)
	}
	if err := e.sp.SaveState(ent, true); err == nil {
		t.Error("SaveState of a removed message succeeded")
	}
	if exists(spoolPath(e, Incoming, id)) {
		t.Error("SaveState recreated a removed message")
	}
}

// Line 2 has a fixed width: whatever the values, encode must keep it, or
// SaveState would overwrite the start of the content.
func TestStateEncodeFixedWidth(t *testing.T) {
	cases := []State{
		{Attempts: 0, Next: 0},
		{Attempts: 999999, Next: 9999999999999},
		{Attempts: 1000000, Next: 0},
		{Attempts: math.MaxInt, Next: math.MaxInt64},
		{Attempts: -1, Next: -1},
		{Attempts: math.MinInt, Next: math.MinInt64},
		{Attempts: 3, Next: 10000000000000}, // 14 digits: year 2286
		{Attempts: 3, Next: time.Now().Add(24 * time.Hour).UnixMilli()},
	}
	for _, s := range cases {
		for _, rc := range []string{"P", "PDF", strings.Repeat("D", 100)} {
			s.Rcpts = []byte(rc)
			b := s.encode()
			if len(b) != mutableLen(len(rc)) {
				t.Errorf("encode(%+v) is %d bytes, want %d: %q", s, len(b), mutableLen(len(rc)), b)
				continue
			}
			got, err := decodeState(b, len(rc))
			if err != nil {
				t.Errorf("decodeState(encode(%+v)) = %v", s, err)
				continue
			}
			if got.Attempts < 0 || got.Next < 0 || string(got.Rcpts) != rc {
				t.Errorf("round trip of %+v = %+v", s, got)
			}
			if s.Attempts >= 0 && s.Attempts <= 999999 && got.Attempts != s.Attempts {
				t.Errorf("attempts %d came back as %d", s.Attempts, got.Attempts)
			}
			if s.Next >= 0 && s.Next <= 9999999999999 && got.Next != s.Next {
				t.Errorf("next %d came back as %d", s.Next, got.Next)
			}
		}
	}
}

func TestSaveStateFarFutureKeepsContent(t *testing.T) {
	e := newEnv(t)
	content := []byte("content that must survive")
	id := commit(t, e.sp, content, sampleMeta(1))
	ent, err := e.sp.Load(Incoming, id)
	if err != nil {
		t.Fatal(err)
	}
	ent.State.Next = math.MaxInt64 // "never", as a caller might write it
	if err := e.sp.SaveState(ent, true); err != nil {
		t.Fatal(err)
	}
	again, err := e.sp.Load(Incoming, id)
	if err != nil {
		t.Fatalf("Load after SaveState(Next=MaxInt64): %v", err)
	}
	if !bytes.Equal(readContent(t, again), content) {
		t.Fatal("content changed")
	}
	if again.State.Next <= time.Now().UnixMilli() {
		t.Fatalf("far-future next attempt came back as %d", again.State.Next)
	}
}

func TestHeadEncodeDecode(t *testing.T) {
	for _, h := range []head{
		{contentLen: 0, metaLen: 1, crc: 0, rcpts: 1},
		{contentLen: 999999999999, metaLen: 99999999, crc: 0xffffffff, rcpts: maxRecipents},
		{contentLen: 12345, metaLen: 678, crc: 0xdeadbeef, rcpts: 42},
	} {
		b := h.encode()
		if len(b) != headLen || b[headLen-1] != '\n' {
			t.Fatalf("encode(%+v) = %q", h, b)
		}
		got, err := decodeHead(b)
		if err != nil || got != h {
			t.Fatalf("decodeHead(encode(%+v)) = %+v, %v", h, got, err)
		}
	}
	// Signs are not digits.
	b := head{contentLen: 5, metaLen: 5, crc: 1, rcpts: 1}.encode()
	copy(b[len("GWSPOOL1 content="):], "-00000000005")
	if _, err := decodeHead(b); !isCorrupt(err) {
		t.Errorf("negative content length accepted: %v", err)
	}
	if _, err := decodeHead(b[:headLen-1]); !isCorrupt(err) {
		t.Errorf("short header accepted: %v", err)
	}
}
