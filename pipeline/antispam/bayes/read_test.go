package bayes

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// collect runs ReadMessages and returns names and messages in call order.
func collect(t *testing.T, path string) (names []string, msgs []string) {
	t.Helper()
	err := ReadMessages(path, func(name string, msg []byte) error {
		names = append(names, name)
		msgs = append(msgs, string(msg))
		return nil
	})
	if err != nil {
		t.Fatalf("ReadMessages(%s): %v", path, err)
	}
	return names, msgs
}

func mustWrite(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestReadMbox(t *testing.T) {
	path := filepath.Join(t.TempDir(), "inbox.mbox")
	mustWrite(t, path, "From a@example.org Mon Jan  1 00:00:00 2024\n"+
		"Subject: one\n\nfirst body\n\n"+
		"From b@example.org Mon Jan  1 00:00:01 2024\n"+
		"Subject: two\n\n>From the start, quoted\n>>From twice quoted\n> From not a quote\n\n"+
		"From c@example.org Mon Jan  1 00:00:02 2024\n"+
		"Subject: three\n\nlast body\n")
	names, msgs := collect(t, path)
	want := []string{
		"Subject: one\n\nfirst body\n",
		"Subject: two\n\nFrom the start, quoted\n>From twice quoted\n> From not a quote\n",
		"Subject: three\n\nlast body\n",
	}
	if !slices.Equal(msgs, want) {
		t.Errorf("messages:\n%q\nwant\n%q", msgs, want)
	}
	if wantNames := []string{path + "#1", path + "#2", path + "#3"}; !slices.Equal(names, wantNames) {
		t.Errorf("names %q, want %q", names, wantNames)
	}
}

func TestReadSingleMessageFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "one.eml")
	mustWrite(t, path, "Subject: plain file\r\n\r\nFrom here on, a body line.\r\n")
	names, msgs := collect(t, path)
	if len(msgs) != 1 || names[0] != path || !strings.Contains(msgs[0], "From here on") {
		t.Errorf("got %q %q", names, msgs)
	}
}

func TestReadMaildir(t *testing.T) {
	dir := t.TempDir()
	mustWrite(t, filepath.Join(dir, "cur", "1.host:2,S"), "Subject: seen\n\nx\n")
	mustWrite(t, filepath.Join(dir, "new", "2.host"), "Subject: new\n\ny\n")
	mustWrite(t, filepath.Join(dir, "tmp", "3.host"), "Subject: being delivered\n\nz\n")
	mustWrite(t, filepath.Join(dir, "cur", ".hidden"), "Subject: hidden\n\nh\n")
	_, msgs := collect(t, dir)
	want := []string{"Subject: seen\n\nx\n", "Subject: new\n\ny\n"}
	if !slices.Equal(msgs, want) {
		t.Errorf("messages %q, want %q", msgs, want)
	}
}

func TestReadDirectoryTree(t *testing.T) {
	dir := t.TempDir()
	mustWrite(t, filepath.Join(dir, "a.eml"), "Subject: a\n\nbody a\n")
	// The SpamAssassin corpus layout: an mbox "From " line, then one message.
	mustWrite(t, filepath.Join(dir, "sub", "b.eml"), "From someone Tue Aug  6 11:51:02 2002\nSubject: b\n\nFrom me, body b\n")
	mustWrite(t, filepath.Join(dir, "sub", "empty.eml"), "\n")
	mustWrite(t, filepath.Join(dir, "box", "cur", "c"), "Subject: c\n\nbody c\n")
	mustWrite(t, filepath.Join(dir, "box", "new", "d"), "Subject: d\n\nbody d\n")
	mustWrite(t, filepath.Join(dir, "box", "tmp", "e"), "Subject: e\n\nbody e\n")
	if err := os.Symlink(filepath.Join(dir, "a.eml"), filepath.Join(dir, "z-link.eml")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(dir, filepath.Join(dir, "loop")); err != nil {
		t.Fatal(err)
	}
	names, msgs := collect(t, dir)
	want := []string{
		"Subject: a\n\nbody a\n",
		"Subject: c\n\nbody c\n",
		"Subject: d\n\nbody d\n",
		"Subject: b\n\nFrom me, body b\n",
		"Subject: a\n\nbody a\n",
	}
	if !slices.Equal(msgs, want) {
		t.Errorf("messages %q, want %q (names %q)", msgs, want, names)
	}
}

func TestReadMessagesErrors(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "no-such-dir")
	err := ReadMessages(missing, func(string, []byte) error { return nil })
	if err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing path: %v, want an error naming %s", err, missing)
	}

	broken := filepath.Join(dir, "tree", "broken.eml")
	if err := os.MkdirAll(filepath.Dir(broken), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(dir, "gone"), broken); err != nil {
		t.Fatal(err)
	}
	err = ReadMessages(filepath.Dir(broken), func(string, []byte) error { return nil })
	if err == nil || !strings.Contains(err.Error(), broken) {
		t.Errorf("dangling link: %v, want an error naming %s", err, broken)
	}

	good := filepath.Join(dir, "good.eml")
	mustWrite(t, good, "Subject: x\n\ny\n")
	stop := errors.New("stop here")
	err = ReadMessages(good, func(string, []byte) error { return stop })
	if !errors.Is(err, stop) || !strings.Contains(err.Error(), good) {
		t.Errorf("callback error: %v, want it wrapped with %s", err, good)
	}
}
