package sigupdate

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// fetchSet copies every listed file into staging, checking limits and
// digests as it reads.
func fetchSet(ctx context.Context, src source, entries []IndexEntry, staging string, lim *limits) error {
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fetchFile(ctx, src, e, staging, lim); err != nil {
			return err
		}
	}
	return nil
}

func fetchFile(ctx context.Context, src source, e IndexEntry, staging string, lim *limits) error {
	body, mtime, err := src.open(ctx, e.Name)
	if err != nil {
		return err
	}
	defer body.Close()
	n, sum, err := writeStaged(filepath.Join(staging, e.Name), lim.setFile(e.Name, body), mtime)
	lim.done(n)
	if err != nil {
		return err
	}
	if e.SHA256 != nil && !bytes.Equal(sum, e.SHA256) {
		return fmt.Errorf("%s: SHA-256 mismatch: the index wants %x, got %x", e.Name, e.SHA256, sum)
	}
	return nil
}

// writeStaged writes one file so that it is complete on disk, with its
// final mode and mtime, before anything can swap it into place.
func writeStaged(path string, r io.Reader, mtime time.Time) (int64, []byte, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return 0, nil, err
	}
	defer f.Close() // after a failure only; the success path closes and checks
	// The umask may have taken bits away; the gateway may run as another
	// user and must be able to read the set.
	if err := f.Chmod(0o644); err != nil {
		return 0, nil, err
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), r)
	if err != nil {
		return n, nil, err
	}
	// The mtime is the set's release date (builtin.DB.Newest), so it is set
	// before the fsync that makes it durable.
	if err := os.Chtimes(path, mtime, mtime); err != nil {
		return n, nil, err
	}
	if err := f.Sync(); err != nil {
		return n, nil, err
	}
	if err := f.Close(); err != nil {
		return n, nil, err
	}
	return n, h.Sum(nil), nil
}

// syncDir makes renames and new entries in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("fsync %s: %w", dir, err)
	}
	return nil
}
