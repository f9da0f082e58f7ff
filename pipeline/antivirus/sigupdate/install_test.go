package sigupdate

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

var (
	older = time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	newer = time.Date(2021, 6, 7, 8, 9, 10, 0, time.UTC)
)

func TestInstallLocal(t *testing.T) {
	ctx := context.Background()
	first := set{"main.hdb": hdb("main", 3), "daily.hsb": hsb("daily", 2), "gone.hdb": hdb("gone", 1)}
	src1 := writeSet(t, first, map[string]time.Time{"main.hdb": older, "daily.hsb": newer, "gone.hdb": older})
	dir := filepath.Join(t.TempDir(), "sigs")

	res, err := Install(ctx, src1, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Changed || res.Signatures != 6 || !res.Released.Equal(newer) ||
		res.Version != specVersion(first) || !slices.Equal(res.Files, names(first)) {
		t.Errorf("first install: %+v", res)
	}
	if got := readSet(t, dir); !sameSet(got, first) {
		t.Errorf("dir holds %v", names(got))
	}
	st, err := os.Stat(filepath.Join(dir, "main.hdb"))
	if err != nil || st.Mode().Perm() != 0o644 || !st.ModTime().Equal(older) {
		t.Errorf("installed file: %v, %v", st, err)
	}
	if d, err := os.Stat(dir); err != nil || d.Mode().Perm() != 0o755 {
		t.Errorf("new dir: %v, %v", d, err)
	}

	second := set{"main.hdb": hdb("main2", 4), "extra.hsb": hsb("extra", 5)}
	src2 := writeSet(t, second, map[string]time.Time{"main.hdb": newer, "extra.hsb": older})
	if err := os.Chmod(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	res, err = Install(ctx, src2, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Changed || res.Signatures != 9 || !res.Released.Equal(newer) || res.Version != specVersion(second) {
		t.Errorf("second install: %+v", res)
	}
	if got := readSet(t, dir); !sameSet(got, second) {
		t.Errorf("dir holds %v, want %v (gone.hdb and daily.hsb removed)", names(got), names(second))
	}
	if d, err := os.Stat(dir); err != nil || d.Mode().Perm() != 0o750 {
		t.Errorf("replaced dir lost its mode: %v, %v", d, err)
	}
	if l := staged(t, dir); len(l) != 0 {
		t.Errorf("left behind: %v", l)
	}
	if l := retired(t, dir); len(l) != 1 || !sameSet(readSet(t, filepath.Join(filepath.Dir(dir), l[0])), first) {
		t.Errorf("replaced set kept as %v, want the first set once", l)
	}

	cur, err := Current(dir)
	if err != nil || cur.Changed || cur.Version != res.Version || cur.Signatures != res.Signatures ||
		!cur.Released.Equal(res.Released) || !slices.Equal(cur.Files, res.Files) {
		t.Errorf("Current = %+v, %v; Install said %+v", cur, err, res)
	}
}

func TestInstallUnchanged(t *testing.T) {
	ctx := context.Background()
	s := set{"main.hdb": hdb("m", 2)}
	src := writeSet(t, s, nil)
	dir := filepath.Join(t.TempDir(), "sigs")
	first, err := Install(ctx, src, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ino := inode(t, dir)
	// The same content with another mtime is still the same set.
	again := writeSet(t, s, map[string]time.Time{"main.hdb": newer})
	res, err := Install(ctx, again, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Changed || res.Version != first.Version || !res.Released.Equal(first.Released) {
		t.Errorf("same set again: %+v, first %+v", res, first)
	}
	if inode(t, dir) != ino {
		t.Error("dir was replaced")
	}
	if l := append(staged(t, dir), retired(t, dir)...); len(l) != 0 {
		t.Errorf("left behind: %v", l)
	}
}

// failedInstall runs an Install that must fail with all of want in its
// error and checks that dir and its parent are as they were.
func failedInstall(t *testing.T, from, dir string, opt Options, want ...string) {
	t.Helper()
	before := readSet(t, dir)
	ino := inode(t, dir)
	_, err := Install(context.Background(), from, dir, opt)
	if err == nil {
		t.Fatalf("Install from %s succeeded", from)
	}
	t.Log(err)
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q lacks %q", err, w)
		}
	}
	if after := readSet(t, dir); !sameSet(before, after) || inode(t, dir) != ino {
		t.Errorf("dir changed: %v -> %v", names(before), names(after))
	}
	if l := staged(t, dir); len(l) != 0 {
		t.Errorf("left behind: %v", l)
	}
	if l := retired(t, dir); len(l) != 0 {
		t.Errorf("a failed Install set aside %v", l)
	}
}

func installed(t *testing.T, s set) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "sigs")
	if _, err := Install(context.Background(), writeSet(t, s, nil), dir, Options{}); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestInstallBadSignature(t *testing.T) {
	dir := installed(t, set{"main.hdb": hdb("m", 2)})
	src := writeSet(t, set{"good.hdb": hdb("g", 3), "bad.hdb": hdb("b", 2) + "nothex:12:X\n"}, nil)
	failedInstall(t, src, dir, Options{}, "signatures from "+src, "bad.hdb:3:")
}

func TestInstallRefusals(t *testing.T) {
	dir := installed(t, set{"main.hdb": hdb("m", 2)})
	for _, tc := range []struct {
		name string
		src  set
		want []string
	}{
		{"no signatures", set{"empty.hdb": "# nothing yet\n"}, []string{"holds no signatures"}},
		{"no files", set{"readme.txt": "x"}, []string{"no .hdb or .hsb files"}},
		{"index lists a missing file", set{"index": "a.hdb\nb.hdb\n", "a.hdb": hdb("a", 1)}, []string{"b.hdb"}},
		{"index digest mismatch", set{"index": "a.hdb " + strings.Repeat("00", 32) + "\n", "a.hdb": hdb("a", 1)},
			[]string{"a.hdb", "SHA-256 mismatch", strings.Repeat("00", 32), specSum(hdb("a", 1))}},
		{"bad index", set{"index": "a.hdb\n../x.hdb\n", "a.hdb": hdb("a", 1)}, []string{"index line 2"}},
		{"odd local name", set{"a b.hdb": hdb("a", 1)}, []string{"a b.hdb"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			failedInstall(t, writeSet(t, tc.src, nil), dir, Options{}, tc.want...)
		})
	}
	t.Run("file limit", func(t *testing.T) {
		failedInstall(t, writeSet(t, set{"a.hdb": hdb("a", 10)}, nil), dir, Options{MaxFileBytes: 100},
			"a.hdb", "100-byte per-file limit")
	})
	t.Run("total limit", func(t *testing.T) {
		s := set{"a.hdb": hdb("a", 2), "b.hdb": hdb("b", 2)}
		total := int64(len(s["a.hdb"]) + len(s["b.hdb"]))
		failedInstall(t, writeSet(t, s, nil), dir, Options{MaxTotal: total - 1}, "total limit")
		if _, err := Install(context.Background(), writeSet(t, s, nil), dir, Options{MaxTotal: total, MaxFileBytes: int64(len(s["a.hdb"]))}); err != nil {
			t.Errorf("a set exactly at the limits: %v", err)
		}
	})
}

func TestInstallLocalIndexDecides(t *testing.T) {
	s := set{"a.hdb": hdb("a", 1), "b.hsb": hsb("b", 2), "c.hdb": hdb("c", 4)}
	s["index"] = "# only these\nb.hsb " + specSum(s["b.hsb"]) + "\nc.hdb\n"
	dir := filepath.Join(t.TempDir(), "sigs")
	res, err := Install(context.Background(), writeSet(t, s, nil), dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := set{"b.hsb": s["b.hsb"], "c.hdb": s["c.hdb"]}
	if got := readSet(t, dir); !sameSet(got, want) || res.Signatures != 6 {
		t.Errorf("installed %v, %d signatures", names(got), res.Signatures)
	}
}

func TestInstallRemovesLeftovers(t *testing.T) {
	dir := installed(t, set{"main.hdb": hdb("m", 2)})
	parent := filepath.Dir(dir)
	crashed := []string{".sigs.new-0123456789abcdef", ".sigs.old-fedcba9876543210"}
	keep := ".sigs.new-notours" // a sibling "sigs.new-notours"'s business, or nobody's
	for _, n := range append(crashed, keep) {
		if err := os.MkdirAll(filepath.Join(parent, n, "sub"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := Install(context.Background(), writeSet(t, set{"x.hdb": hdb("x", 1)}, nil), dir, Options{}); err != nil {
		t.Fatal(err)
	}
	l := append(staged(t, dir), retired(t, dir)...)
	if len(l) != 2 || !slices.Contains(l, keep) || slices.Contains(l, crashed[0]) || slices.Contains(l, crashed[1]) {
		t.Errorf("after Install: %v, want %s and the set just replaced", l, keep)
	}
}

func TestInstallFallbackSwap(t *testing.T) {
	ctx := context.Background()
	dir := installed(t, set{"old.hdb": hdb("o", 2)})
	next := set{"new.hdb": hdb("n", 3)}
	noExchange := func(a, b string) error { return &os.LinkError{Op: "renameat2", Old: a, New: b, Err: unix.EINVAL} }
	res, err := install(ctx, writeSet(t, next, nil), dir, Options{}, noExchange)
	if err != nil {
		t.Fatal(err)
	}
	if got := readSet(t, dir); !res.Changed || !sameSet(got, next) {
		t.Errorf("after fallback swap: %v, %+v", names(got), res)
	}
	if l := staged(t, dir); len(l) != 0 {
		t.Errorf("left behind: %v", l)
	}
	kept := retired(t, dir)
	if len(kept) != 1 || !sameSet(readSet(t, filepath.Join(filepath.Dir(dir), kept[0])), set{"old.hdb": hdb("o", 2)}) {
		t.Errorf("replaced set kept as %v", kept)
	}

	// Any other failure of the exchange leaves everything as it was.
	before := readSet(t, dir)
	broken := func(a, b string) error { return &os.LinkError{Op: "renameat2", Old: a, New: b, Err: unix.EIO} }
	if _, err := install(ctx, writeSet(t, set{"other.hdb": hdb("x", 1)}, nil), dir, Options{}, broken); !errors.Is(err, unix.EIO) {
		t.Errorf("failed exchange: %v", err)
	}
	if got := readSet(t, dir); !sameSet(got, before) {
		t.Errorf("after a failed exchange dir holds %v", names(got))
	}
	if l := staged(t, dir); len(l) != 0 {
		t.Errorf("left behind: %v", l)
	}
}

func TestInstallThroughSymlink(t *testing.T) {
	real := installed(t, set{"a.hdb": hdb("a", 1)})
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	next := set{"b.hdb": hdb("b", 2)}
	if _, err := Install(context.Background(), writeSet(t, next, nil), link, Options{}); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the symlink was replaced: %v, %v", fi, err)
	}
	if got := readSet(t, real); !sameSet(got, next) {
		t.Errorf("target holds %v", names(got))
	}
}

func TestInstallWaitsForLock(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "sigs")
	src := writeSet(t, set{"a.hdb": hdb("a", 1)}, nil)
	lf, err := os.OpenFile(filepath.Join(filepath.Dir(dir), ".sigs.lock"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer lf.Close()
	if err := unix.Flock(int(lf.Fd()), unix.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if _, err := Install(ctx, src, dir, Options{}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Install while another holds the lock: %v", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("dir created without the lock: %v", err)
	}
	unix.Flock(int(lf.Fd()), unix.LOCK_UN)
	if _, err := Install(context.Background(), src, dir, Options{}); err != nil {
		t.Errorf("after unlock: %v", err)
	}
}

func TestCurrentErrors(t *testing.T) {
	base := t.TempDir()
	if _, err := Current(filepath.Join(base, "missing")); err == nil {
		t.Error("Current of a missing dir succeeded")
	}
	bad := writeSet(t, set{"x.hdb": "broken\n"}, nil)
	if _, err := Current(bad); err == nil || !strings.Contains(err.Error(), "x.hdb:1:") {
		t.Errorf("Current of a broken set: %v", err)
	}
	if _, err := Current(writeSet(t, set{"x.hdb": "# empty\n"}, nil)); err == nil {
		t.Error("Current of a set without signatures succeeded")
	}
	if _, err := Install(context.Background(), "ftp://example.org/sigs", filepath.Join(base, "s"), Options{}); err == nil {
		t.Error("an ftp source was accepted")
	}
}
