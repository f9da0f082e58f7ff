package objects

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

type unreadable struct{}

func (unreadable) Read([]byte) (int, error) { return 0, errors.New("read again") }

func TestWalkSharedReplays(t *testing.T) {
	msg := "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nhello\r\n" +
		"--b\r\nContent-Type: application/octet-stream; name=a.bin\r\n\r\nbinary\r\n--b--\r\n"
	lim := Limits{MaxDepth: 5, MaxObjects: 100, MaxTotal: 1 << 20, MaxObject: 1 << 20, MaxRatio: 100}
	var slot any
	var first, second []string
	if err := WalkShared(&slot, strings.NewReader(msg), lim, func(o *Object) error { first = append(first, o.Path+"="+string(o.Data)); return nil }); err != nil {
		t.Fatal(err)
	}
	// The second stage gets the same objects without the message being read.
	if err := WalkShared(&slot, unreadable{}, lim, func(o *Object) error { second = append(second, o.Path+"="+string(o.Data)); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(first) < 2 || strings.Join(first, "|") != strings.Join(second, "|") {
		t.Errorf("first walk %q, replay %q", first, second)
	}
	// Other limits: walked again.
	other := lim
	other.MaxObjects = 1
	if err := WalkShared(&slot, unreadable{}, other, func(*Object) error { return nil }); err == nil {
		t.Error("a walk under other limits replayed the first one")
	}
}

func TestWalkSharedKeepsNoLargeMessage(t *testing.T) {
	big := bytes.Repeat([]byte("x"), sharedMax+1)
	lim := Limits{MaxDepth: 5, MaxObjects: 100, MaxTotal: 64 << 20, MaxObject: 64 << 20, MaxRatio: 100}
	var slot any
	if err := WalkShared(&slot, bytes.NewReader(append([]byte("Subject: big\r\n\r\n"), big...)), lim, func(*Object) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if slot != nil {
		t.Errorf("a message over %d bytes was kept for the next stage", sharedMax)
	}
}
