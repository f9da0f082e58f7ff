package traps

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDeriveEngineID(t *testing.T) {
	prefix := []byte{0x80, 0x00, 0x7E, 0xD9, 0x04}
	for _, host := range []string{"", "mx1", "mx1.example.org", strings.Repeat("long-host-name.", 5)} {
		id := DeriveEngineID(host)
		if len(id) < 5 || len(id) > 32 {
			t.Errorf("%q: %d bytes", host, len(id))
		}
		if !bytes.HasPrefix(id, prefix) {
			t.Errorf("%q: % x lacks the enterprise-32473 text-format prefix", host, id)
		}
		if again := DeriveEngineID(host); !bytes.Equal(id, again) {
			t.Errorf("%q: % x then % x", host, id, again)
		}
	}
	if got := string(DeriveEngineID("mx1")[5:]); got != "mx1" {
		t.Errorf("text part %q, want the host name", got)
	}
	if got := DeriveEngineID(strings.Repeat("a", 40)); len(got) != 32 {
		t.Errorf("long host name gave %d bytes, want the 32 maximum", len(got))
	}
	if bytes.Equal(DeriveEngineID("mx1"), DeriveEngineID("mx2")) {
		t.Error("two host names share an engine ID")
	}
	// Not derived when configured, and derived from Hostname otherwise.
	own := []byte{0x80, 0, 0, 0, 1, 2, 3, 4}
	if s := mustNew(t, Options{Stats: newStats(), EngineID: own}); !bytes.Equal(s.EngineID(), own) {
		t.Errorf("configured engine ID % x came back as % x", own, s.EngineID())
	}
	if s := mustNew(t, Options{Stats: newStats(), Hostname: "mx9"}); !bytes.Equal(s.EngineID(), DeriveEngineID("mx9")) {
		t.Errorf("engine ID % x is not derived from the host name", s.EngineID())
	}
	for _, n := range []int{4, 33} {
		if _, err := New(Options{Stats: newStats(), EngineID: make([]byte, n)}); err == nil || !strings.Contains(err.Error(), "EngineID") {
			t.Errorf("%d-byte engine ID: %v", n, err)
		}
	}
}

func TestBootsCountUpAcrossNew(t *testing.T) {
	path := filepath.Join(t.TempDir(), "engine-boots")
	for want := uint32(1); want <= 3; want++ {
		s := mustNew(t, Options{Stats: newStats(), BootsFile: path})
		if s.EngineBoots() != want {
			t.Errorf("New #%d: boots %d", want, s.EngineBoots())
		}
		s.Close()
	}
	if data, err := os.ReadFile(path); err != nil || string(data) != "3\n" {
		t.Errorf("boots file holds %q (%v), want \"3\\n\"", data, err)
	}
	// Only the count itself is left: the temporary files were renamed.
	if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only the boots file", len(entries))
	}
	if s := mustNew(t, Options{Stats: newStats()}); s.EngineBoots() != 1 {
		t.Errorf("without a boots file boots is %d, want 1", s.EngineBoots())
	}
}

func TestBootsFileProblems(t *testing.T) {
	dir := t.TempDir()
	corrupt := filepath.Join(dir, "corrupt")
	if err := os.WriteFile(corrupt, []byte("many\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := New(Options{Stats: newStats(), BootsFile: corrupt}); err == nil || !strings.Contains(err.Error(), "BootsFile") {
		t.Errorf("corrupt boots file: %v", err)
	}
	if _, err := New(Options{Stats: newStats(), BootsFile: filepath.Join(dir, "missing", "boots")}); err == nil ||
		!strings.Contains(err.Error(), "BootsFile") {
		t.Errorf("boots file in a missing directory: %v", err)
	}
	// snmpEngineBoots stops at 2^31-1 (RFC 3414 2.2.2).
	top := filepath.Join(dir, "top")
	if err := os.WriteFile(top, []byte("2147483647\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if b, err := nextBoots(top); err != nil || b != 2147483647 {
		t.Errorf("boots at the maximum became %d (%v)", b, err)
	}
}
