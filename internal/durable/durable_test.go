package durable

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "model")
	if err := WriteFile(path, 0o600, func(w io.Writer) error { _, err := io.WriteString(w, "v1"); return err }); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	fi, _ := os.Stat(path)
	if err != nil || string(b) != "v1" || fi.Mode().Perm() != 0o600 {
		t.Fatalf("content %q mode %v err %v", b, fi.Mode(), err)
	}
	// A failing writer leaves the old file and no temporary behind.
	if err := WriteFile(path, 0o600, func(w io.Writer) error { return errors.New("disk full") }); err == nil {
		t.Fatal("failure not reported")
	}
	if b, _ := os.ReadFile(path); string(b) != "v1" {
		t.Errorf("old content lost: %q", b)
	}
	if names, _ := os.ReadDir(dir); len(names) != 1 {
		t.Errorf("leftovers: %v", names)
	}
	if err := SyncDir(filepath.Join(dir, "missing")); err == nil {
		t.Error("SyncDir of a missing directory succeeded")
	}
}
