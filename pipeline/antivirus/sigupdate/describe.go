package sigupdate

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gatewatch/gatewatch/pipeline/antivirus/builtin"
)

// Result says what an update did.
type Result struct {
	Changed    bool      // false: the source held exactly what is installed (nothing swapped)
	Version    string    // content digest of the installed set: first 16 hex digits of SHA-256 over the sorted (name, NUL, content, NUL) of every file
	Files      []string  // base names installed, sorted
	Signatures int       // builtin.DB.Count of the installed set
	Released   time.Time // builtin.DB.Newest of the installed set
}

// Current describes what is installed in dir without changing anything
// (Changed is false). It is an error if dir holds no valid set.
func Current(dir string) (Result, error) {
	p, err := resolve(dir)
	if err != nil {
		return Result{}, err
	}
	// No lock: an Install holds it for a whole download and Current should
	// answer meanwhile. Instead, a swap during the reading is noticed by
	// the directory's identity changing, and the reading is repeated.
	var lastErr error
	for range currentAttempts {
		before, err := identity(p.dir)
		if err != nil {
			lastErr = err
			continue // the fallback swap leaves dir missing for a moment
		}
		res, err := describe(p.dir)
		after, _ := identity(p.dir)
		if before != after {
			lastErr = errors.New("replaced while being read")
			continue
		}
		if err != nil {
			return Result{}, fmt.Errorf("signatures in %s: %w", p.dir, err)
		}
		return res, nil
	}
	return Result{}, fmt.Errorf("signatures in %s: %w", p.dir, lastErr)
}

// currentAttempts bounds the re-reading when Installs follow one another
// quickly; each Install takes far longer than one reading.
const currentAttempts = 10

// dirID tells one directory from its replacement: a swapped-in directory
// has another inode, and a rename sets the ctime, which covers an inode
// number reused after the old set was removed.
type dirID struct {
	dev, ino uint64
	ctime    int64
}

func identity(dir string) (dirID, error) {
	var st unix.Stat_t
	if err := unix.Stat(dir, &st); err != nil {
		return dirID{}, &fs.PathError{Op: "stat", Path: dir, Err: err}
	}
	return dirID{dev: st.Dev, ino: st.Ino, ctime: st.Ctim.Nano()}, nil
}

// describe digests and loads the set in dir the way the gateway will see
// it: the .hdb and .hsb files that builtin.LoadDir reads.
func describe(dir string) (Result, error) {
	files, err := setFiles(dir)
	if err != nil {
		return Result{}, err
	}
	version, err := digest(dir, files)
	if err != nil {
		return Result{}, err
	}
	db, err := builtin.LoadDir(dir)
	if err != nil {
		return Result{}, err
	}
	if db.Count == 0 {
		return Result{}, errors.New("holds no signatures")
	}
	return Result{Version: version, Files: files, Signatures: db.Count, Released: db.Newest}, nil
}

func setFiles(dir string) ([]string, error) {
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var files []string
	for _, de := range des {
		if n := de.Name(); strings.HasSuffix(n, ".hdb") || strings.HasSuffix(n, ".hsb") {
			files = append(files, n)
		}
	}
	if len(files) == 0 {
		return nil, errors.New("holds no .hdb or .hsb files")
	}
	sort.Strings(files)
	return files, nil
}

// digest names a set by content only, so the same files fetched again
// (with other mtimes, from another mirror) are recognised as installed.
func digest(dir string, sortedFiles []string) (string, error) {
	h := sha256.New()
	for _, name := range sortedFiles {
		io.WriteString(h, name)
		h.Write([]byte{0})
		if err := hashFile(h, filepath.Join(dir, name)); err != nil {
			return "", err
		}
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

func hashFile(w io.Writer, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(w, f)
	return err
}
