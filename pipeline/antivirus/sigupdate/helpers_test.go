package sigupdate

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"
)

// set is a signature set as file name -> content.
type set map[string]string

// hdb returns n MD5 signature lines of payloads derived from tag.
func hdb(tag string, n int) string {
	var b strings.Builder
	for i := range n {
		p := fmt.Sprintf("payload %s %d", tag, i)
		sum := md5.Sum([]byte(p))
		fmt.Fprintf(&b, "%s:%d:Test.%s.%d\n", hex.EncodeToString(sum[:]), len(p), tag, i)
	}
	return b.String()
}

// hsb returns n SHA-256 signature lines of payloads derived from tag.
func hsb(tag string, n int) string {
	var b strings.Builder
	for i := range n {
		p := fmt.Sprintf("sha payload %s %d", tag, i)
		sum := sha256.Sum256([]byte(p))
		fmt.Fprintf(&b, "%s:%d:Test.%s.sha.%d\n", hex.EncodeToString(sum[:]), len(p), tag, i)
	}
	return b.String()
}

// writeSet writes s into a new directory, each file with its own mtime
// (from mtimes, or a fixed past time) so tests can tell which one is
// newest.
func writeSet(t testing.TB, s set, mtimes map[string]time.Time) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range s {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		mt, ok := mtimes[name]
		if !ok {
			mt = time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
		}
		if err := os.Chtimes(path, mt, mt); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// readSet returns every entry of dir with its content.
func readSet(t testing.TB, dir string) set {
	t.Helper()
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	got := set{}
	for _, de := range des {
		b, err := os.ReadFile(filepath.Join(dir, de.Name()))
		if err != nil {
			t.Fatal(err)
		}
		got[de.Name()] = string(b)
	}
	return got
}

func sameSet(a, b set) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func names(s set) []string {
	var n []string
	for k := range s {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}

// specVersion computes Result.Version straight from its definition.
func specVersion(s set) string {
	h := sha256.New()
	for _, n := range names(s) {
		h.Write([]byte(n))
		h.Write([]byte{0})
		h.Write([]byte(s[n]))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

func inode(t testing.TB, path string) uint64 {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Sys().(*syscall.Stat_t).Ino
}

// staged lists staging directories in dir's parent: none may outlive an
// Install.
func staged(t testing.TB, dir string) []string { return siblings(t, dir, ".new-") }

// retired lists replaced sets kept beside dir until the next Install.
func retired(t testing.TB, dir string) []string { return siblings(t, dir, ".old-") }

func siblings(t testing.TB, dir, kind string) []string {
	t.Helper()
	des, err := os.ReadDir(filepath.Dir(dir))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, de := range des {
		if n := de.Name(); strings.HasPrefix(n, "."+filepath.Base(dir)+kind) {
			out = append(out, n)
		}
	}
	return out
}

func specSum(content string) string {
	s := sha256.Sum256([]byte(content))
	return hex.EncodeToString(s[:])
}
