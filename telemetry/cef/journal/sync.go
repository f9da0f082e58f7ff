package journal

import (
	"errors"
	"fmt"
	"os"
	"time"
)

// Sync fsyncs the segment data, then the directory, then the cursor files,
// and deletes the segments every cursor has now durably committed.
func (j *Journal) Sync() error {
	j.smu.Lock()
	defer j.smu.Unlock()
	if j.isClosed() {
		return ErrClosed
	}
	return j.sync()
}

// loop syncs every interval until stop closes. Its errors are kept in j.err
// and returned by the next Sync or Close.
func (j *Journal) loop(interval time.Duration) {
	defer close(j.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-j.stop:
			return
		case <-t.C:
			j.smu.Lock()
			_ = j.sync()
			j.smu.Unlock()
		}
	}
}

// sync does the work of Sync; the caller holds smu. Data goes first so that
// a persisted cursor never points past records that could still be lost;
// deletion goes last because it relies on the cursor positions just made
// durable.
func (j *Journal) sync() error {
	j.mu.Lock()
	var files []*segment
	for _, s := range j.unsynced {
		if !s.gone {
			s.refs++
			files = append(files, s)
		}
	}
	j.unsynced = nil
	if j.dataDirty {
		j.active.refs++
		files = append(files, j.active)
		j.dataDirty = false
	}
	dirDirty := j.dirDirty
	j.dirDirty = false
	j.mu.Unlock()

	var errs []error
	for _, s := range files {
		if err := s.f.Sync(); err != nil {
			errs = append(errs, fmt.Errorf("journal: fsync %s: %w", s.path, err))
		}
	}
	j.mu.Lock()
	for _, s := range files {
		s.release()
	}
	j.mu.Unlock()
	if dirDirty {
		if err := j.dirf.Sync(); err != nil {
			errs = append(errs, fmt.Errorf("journal: fsync directory %s: %w", j.dir, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		// Linux may report a write-back failure only once and then call the
		// pages clean: retrying would claim a durability that is gone.
		return j.fail(err)
	}

	type update struct {
		c   *Cursor
		seq uint64
		p   pos
	}
	var updates []update
	j.mu.Lock()
	for _, c := range j.order {
		if seq := j.seqAt(c.committed); seq != c.persisted {
			updates = append(updates, update{c, seq, c.committed})
		}
	}
	j.mu.Unlock()
	for i, u := range updates {
		if err := u.c.file.write(u.seq); err != nil {
			errs = append(errs, err)
			updates[i].c = nil
		}
	}

	j.mu.Lock()
	minOrd := ^uint64(0)
	for _, u := range updates {
		if u.c != nil {
			u.c.persisted, u.c.persistedOrd = u.seq, u.p.ord
		}
	}
	for _, c := range j.order {
		minOrd = min(minOrd, c.persistedOrd)
	}
	var gone []*segment
	for len(j.segs) > 1 && j.segs[0].stop().ord <= minOrd {
		s := j.segs[0]
		j.segs[0] = nil
		j.segs = j.segs[1:]
		j.total -= s.size
		s.retire()
		gone = append(gone, s)
	}
	j.mu.Unlock()

	for _, s := range gone {
		if err := os.Remove(s.path); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, fmt.Errorf("journal: remove delivered segment: %w", err))
		}
	}
	if len(gone) > 0 {
		if err := j.dirf.Sync(); err != nil {
			errs = append(errs, fmt.Errorf("journal: fsync directory %s: %w", j.dir, err))
		}
	}
	// A failed cursor write is retried by the next sync, and a segment file
	// that could not be removed is adopted by the next Open and deleted then:
	// unlike failed data fsyncs, these do not stick.
	j.mu.Lock()
	defer j.mu.Unlock()
	return errors.Join(j.err, errors.Join(errs...))
}

// fail records the first sync failure, which every later Sync and Close
// reports, and returns err.
func (j *Journal) fail(err error) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.err == nil {
		j.err = err
	}
	return err
}

func (j *Journal) isClosed() bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.closed
}
