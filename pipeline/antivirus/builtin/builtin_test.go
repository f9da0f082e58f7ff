package builtin

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestEICAR(t *testing.T) {
	db, err := LoadDir("")
	if err != nil {
		t.Fatal(err)
	}
	for data, want := range map[string]bool{
		eicarPrefix:                            true,
		eicarPrefix + "\r\n  ":                 true,
		eicarPrefix + "x":                      false,
		"x" + eicarPrefix:                      false,
		eicarPrefix + strings.Repeat(" ", 100): false, // over 128 bytes
	} {
		if _, got := db.Match([]byte(data)); got != want {
			t.Errorf("Match(%.20q... %d bytes) = %v, want %v", data, len(data), got, want)
		}
	}
}

func TestHashSignatures(t *testing.T) {
	dir := t.TempDir()
	payload := []byte("a test payload that is not EICAR but is listed by hash")
	md := md5.Sum(payload)
	sh := sha256.Sum256(payload)
	other := []byte("another listed payload, any size")
	osh := sha256.Sum256(other)
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("test.hdb", fmt.Sprintf("# comment\n%s:%d:Test.MD5\n", hex.EncodeToString(md[:]), len(payload)))
	write("test.hsb", fmt.Sprintf("%s:%d:Test.SHA256:73\n%s:*:Test.Any\n", hex.EncodeToString(sh[:]), len(payload), hex.EncodeToString(osh[:])))
	db, err := LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if db.Count != 3 || db.Newest.IsZero() {
		t.Errorf("Count %d Newest %v", db.Count, db.Newest)
	}
	if name, ok := db.Match(payload); !ok || (name != "Test.MD5" && name != "Test.SHA256") {
		t.Errorf("payload: %q %v", name, ok)
	}
	if name, ok := db.Match(other); !ok || name != "Test.Any" {
		t.Errorf("wildcard size: %q %v", name, ok)
	}
	if _, ok := db.Match(append(payload, '!')); ok {
		t.Error("a changed payload matched")
	}
	write("broken.hdb", "not-hex:12:X\nabcd:12:Short\n"+hex.EncodeToString(md[:])+":many:X\n")
	_, err = LoadDir(dir)
	for _, want := range []string{"broken.hdb:1:", "broken.hdb:2:", "broken.hdb:3:"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v lacks %s", err, want)
		}
	}
	if _, err := LoadDir(filepath.Join(dir, "missing")); err == nil {
		t.Error("a missing directory loaded")
	}
}

func FuzzParseLine(f *testing.F) {
	f.Add("44d88612fea8a8f36de82e1278abb02f:68:Eicar-Test-Signature")
	f.Add("3395856ce81f2b7382dee72602f798b642f14140:*:X:73")
	f.Fuzz(func(t *testing.T, line string) {
		sig, err := ParseLine(line)
		if err != nil {
			return
		}
		if len(sig.Hash) != kindMD5 && len(sig.Hash) != kindSHA1 && len(sig.Hash) != kindSHA256 {
			t.Fatalf("accepted a %d-byte hash", len(sig.Hash))
		}
		if sig.Name == "" || sig.Size < anySize {
			t.Fatalf("accepted %+v", sig)
		}
	})
}
