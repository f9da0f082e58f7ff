package sigupdate

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"golang.org/x/sys/unix"
)

// exchangeFunc atomically exchanges two paths; a parameter so that tests
// can exercise the fallback for filesystems without RENAME_EXCHANGE.
type exchangeFunc func(a, b string) error

func renameExchange(a, b string) error {
	if err := unix.Renameat2(unix.AT_FDCWD, a, unix.AT_FDCWD, b, unix.RENAME_EXCHANGE); err != nil {
		return &os.LinkError{Op: "renameat2 RENAME_EXCHANGE", Old: a, New: b, Err: err}
	}
	return nil
}

// swapIn makes the complete set in staging appear at p.dir.
//
// The set it replaces is kept, as .<base>.old-*, until the next Install
// removes it. A reader that opened the old directory just before the swap
// (builtin.LoadDir lists it, then opens the files by path) would otherwise
// list an emptied directory and load zero signatures without an error.
func swapIn(p paths, staging string, exchange exchangeFunc) error {
	if _, err := os.Lstat(p.dir); errors.Is(err, fs.ErrNotExist) {
		if err := os.Rename(staging, p.dir); err != nil {
			return err
		}
		return syncDir(p.parent)
	}
	if err := exchange(staging, p.dir); err != nil {
		if !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOSYS) {
			return err
		}
		if err := swapByRenames(p, staging); err != nil {
			return err
		}
	} else {
		// The old set is now at staging, which Install removes on return.
		// Failing to move it merely loses the grace period.
		_, _ = moveAside(p, staging)
	}
	return syncDir(p.parent)
}

// swapByRenames is for filesystems without RENAME_EXCHANGE. Between its
// two renames dir does not exist for the time of one system call: a
// reader looking then finds no directory (an error, never a mixed set),
// and one that already has the old directory open keeps reading the old
// set.
func swapByRenames(p paths, staging string) error {
	old, err := moveAside(p, p.dir)
	if err != nil {
		return err
	}
	if err := os.Rename(staging, p.dir); err != nil {
		if back := os.Rename(old, p.dir); back != nil {
			return fmt.Errorf("%w; moving the old set back failed too: %w (it is at %s)", err, back, old)
		}
		return err
	}
	return nil
}

// moveAside renames the directory at path to a fresh .<base>.old-* name,
// where the next Install finds it as a leftover.
func moveAside(p paths, path string) (string, error) {
	// A fresh empty directory reserves a unique name, which rename(2) may
	// then replace; os.Rename refuses any existing directory, hence unix.
	old, err := mkdirUnique(p.parent, p.oldPrefix())
	if err != nil {
		return "", err
	}
	if err := unix.Rename(path, old); err != nil {
		os.Remove(old)
		return "", &os.LinkError{Op: "rename", Old: path, New: old, Err: err}
	}
	return old, nil
}
