package sigupdate

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Options bound what an update may fetch.
type Options struct {
	Client       *http.Client // nil: a client with a 60 s timeout
	MaxFileBytes int64        // 0: 512 MiB per file
	MaxTotal     int64        // 0: 2 GiB for the whole set
}

func (o Options) client() *http.Client {
	if o.Client != nil {
		return o.Client
	}
	return &http.Client{Timeout: 60 * time.Second}
}

// Install fetches the signature set at from (a local directory path, or an
// http:// or https:// URL of a directory) and installs it as dir.
//
// The set is validated before it replaces anything; on any error dir is
// left as it was. Installs into the same dir are serialised by a lock file
// next to it. The replaced set stays beside dir, as .<base>.old-*, until
// the next Install, so that a reader caught mid-swap finds it whole; disk
// space for two sets is needed anyway while the new one is staged.
func Install(ctx context.Context, from, dir string, opt Options) (Result, error) {
	return install(ctx, from, dir, opt, renameExchange)
}

func install(ctx context.Context, from, dir string, opt Options, exchange exchangeFunc) (Result, error) {
	p, err := resolve(dir)
	if err != nil {
		return Result{}, err
	}
	src, err := newSource(from, opt.client())
	if err != nil {
		return Result{}, err
	}
	mode := fs.FileMode(0o755)
	switch st, err := os.Stat(p.dir); {
	case err == nil && !st.IsDir():
		return Result{}, fmt.Errorf("install into %s: not a directory", p.dir)
	case err == nil:
		mode = st.Mode().Perm()
	case !errors.Is(err, fs.ErrNotExist):
		return Result{}, fmt.Errorf("install into %s: %w", p.dir, err)
	}

	lock, err := lockSet(ctx, p.lock)
	if err != nil {
		return Result{}, fmt.Errorf("install into %s: %w", p.dir, err)
	}
	defer lock.Close()
	if err := p.removeLeftovers(); err != nil {
		return Result{}, fmt.Errorf("install into %s: removing what an earlier update left: %w", p.dir, err)
	}

	lim := newLimits(opt)
	entries, err := src.list(ctx, lim)
	if err != nil {
		return Result{}, fmt.Errorf("signatures from %s: %w", from, err)
	}
	staging, err := mkdirUnique(p.parent, p.newPrefix())
	if err != nil {
		return Result{}, fmt.Errorf("install into %s: %w", p.dir, err)
	}
	// After a successful swap nothing is left at staging, so this only
	// removes a failed or unneeded set.
	defer os.RemoveAll(staging)
	if err := os.Chmod(staging, mode); err != nil {
		return Result{}, fmt.Errorf("install into %s: %w", p.dir, err)
	}
	if err := fetchSet(ctx, src, entries, staging, lim); err != nil {
		return Result{}, fmt.Errorf("signatures from %s: %w", from, err)
	}
	res, err := describe(staging)
	if err != nil {
		return Result{}, fmt.Errorf("signatures from %s: %w", from, withoutDir(err, staging))
	}
	// An invalid installed set is simply replaced.
	if cur, err := describe(p.dir); err == nil && cur.Version == res.Version {
		return cur, nil
	}
	if err := syncDir(staging); err != nil {
		return Result{}, fmt.Errorf("install into %s: %w", p.dir, err)
	}
	if err := swapIn(p, staging, exchange); err != nil {
		return Result{}, fmt.Errorf("install into %s: %w", p.dir, err)
	}
	res.Changed = true
	return res, nil
}

// paths are the names an Install uses around the signature directory;
// all of them are in its parent so that renames stay on one filesystem.
type paths struct {
	dir, parent, base, lock string
}

func resolve(dir string) (paths, error) {
	if dir == "" {
		return paths{}, errors.New("no signature directory given")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return paths{}, err
	}
	// A symlinked signature directory is updated where it points, which
	// also puts staging on the right filesystem.
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		abs = real
	} else if !errors.Is(err, fs.ErrNotExist) {
		return paths{}, fmt.Errorf("signature directory: %w", err)
	}
	parent, base := filepath.Split(abs)
	if base == "" {
		return paths{}, fmt.Errorf("signature directory %s: cannot replace a root", dir)
	}
	parent = filepath.Clean(parent)
	return paths{dir: abs, parent: parent, base: base, lock: filepath.Join(parent, "."+base+".lock")}, nil
}

func (p paths) newPrefix() string { return "." + p.base + ".new-" }
func (p paths) oldPrefix() string { return "." + p.base + ".old-" }

// uniqueLen is the length of the random part of staging names. Matching it
// exactly keeps removeLeftovers of "sigs" off the staging of a sibling
// directory that happens to be called "sigs.new-x".
const uniqueLen = 16

// mkdirUnique makes an empty directory named prefix plus random hex.
func mkdirUnique(parent, prefix string) (string, error) {
	for {
		var b [uniqueLen / 2]byte
		rand.Read(b[:])
		path := filepath.Join(parent, prefix+hex.EncodeToString(b[:]))
		err := os.Mkdir(path, 0o700)
		if !errors.Is(err, fs.ErrExist) {
			return path, err
		}
	}
}

func isUnique(name, prefix string) bool {
	rest, ok := strings.CutPrefix(name, prefix)
	if !ok || len(rest) != uniqueLen {
		return false
	}
	_, err := hex.DecodeString(rest)
	return err == nil
}

// removeLeftovers clears the set the previous Install replaced and the
// staging of one that crashed. It must run under the lock: otherwise it
// could remove the staging of an Install in progress.
func (p paths) removeLeftovers() error {
	des, err := os.ReadDir(p.parent)
	if err != nil {
		return err
	}
	var errs []error
	for _, de := range des {
		if n := de.Name(); isUnique(n, p.newPrefix()) || isUnique(n, p.oldPrefix()) {
			errs = append(errs, os.RemoveAll(filepath.Join(p.parent, n)))
		}
	}
	return errors.Join(errs...)
}

// withoutDir drops dir from the paths in err's message: the operator
// knows the files by their names in the source, and staging is gone by
// the time the error is read.
func withoutDir(err error, dir string) error {
	return &rewordedError{msg: strings.ReplaceAll(err.Error(), dir+string(filepath.Separator), ""), err: err}
}

type rewordedError struct {
	msg string
	err error
}

func (e *rewordedError) Error() string { return e.msg }
func (e *rewordedError) Unwrap() error { return e.err }
