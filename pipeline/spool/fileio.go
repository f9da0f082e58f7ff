package spool

import (
	"os"
	"syscall"
)

// The spool opens and renames a few files per message. os.OpenFile spends
// four fcntl calls on a regular file (it tries the poller first) and
// os.Rename an lstat of the target; at a thousand messages a second these
// are a good share of the system calls, so the spool makes the plain calls
// itself. The descriptors are wrapped in os.File as blocking files.

func openFile(path string, flag int, perm uint32) (*os.File, error) {
	fd, err := syscall.Open(path, flag|syscall.O_CLOEXEC, perm)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	return os.NewFile(uintptr(fd), path), nil
}

func rename(from, to string) error {
	if err := syscall.Rename(from, to); err != nil {
		return &os.LinkError{Op: "rename", Old: from, New: to, Err: err}
	}
	return nil
}
