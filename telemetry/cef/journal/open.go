package journal

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
)

// Open opens or creates the journal in o.Dir for exactly these cursors.
// Cursor files of other names are removed, so that a target dropped from the
// configuration does not pin data for good. A cursor new to the journal
// starts at the end: a newly configured target is not sent history.
//
// Damage does not make Open fail (see the package comment): a torn or
// corrupt record ends its segment, the rest of that segment is cut off, and
// the journal continues with the next segment; Repairs says what was cut and
// where. Only I/O failures, bad options and a journal already open are
// errors.
func Open(o Options, cursors []string) (*Journal, error) {
	if o.Dir == "" {
		return nil, errors.New("journal: no directory given")
	}
	seen := make(map[string]bool, len(cursors))
	for _, name := range cursors {
		if err := validName(name); err != nil {
			return nil, err
		}
		if seen[name] {
			return nil, fmt.Errorf("journal: cursor %q given twice", name)
		}
		seen[name] = true
	}
	o = o.normalise()
	if err := os.MkdirAll(o.Dir, 0o750); err != nil {
		return nil, fmt.Errorf("journal: create directory: %w", err)
	}
	dirf, err := os.Open(o.Dir)
	if err != nil {
		return nil, fmt.Errorf("journal: open directory: %w", err)
	}
	if err := syscall.Flock(int(dirf.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		_ = dirf.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("journal: %s is already open in another journal", o.Dir)
		}
		return nil, fmt.Errorf("journal: lock %s: %w", o.Dir, err)
	}
	j := &Journal{
		dir:       o.Dir,
		dirf:      dirf,
		opts:      o,
		syncEvery: o.SyncInterval < 0,
		cursors:   make(map[string]*Cursor, len(cursors)),
	}
	if err := j.load(cursors); err != nil {
		j.abandon()
		return nil, err
	}
	for _, c := range j.order {
		if c.read.ord < j.end.ord {
			c.notify()
		}
	}
	// Persists the positions load moved, deletes what every cursor has
	// delivered and makes load's file creations and removals durable.
	j.smu.Lock()
	err = j.sync()
	j.smu.Unlock()
	if err != nil {
		j.abandon()
		return nil, err
	}
	if !j.syncEvery {
		j.stop, j.done = make(chan struct{}), make(chan struct{})
		go j.loop(o.SyncInterval)
	}
	return j, nil
}

// abandon closes what a failed Open opened.
func (j *Journal) abandon() {
	for _, s := range j.segs {
		_ = s.f.Close()
	}
	for _, c := range j.order {
		if c.file.f != nil {
			_ = c.file.f.Close()
		}
	}
	_ = j.dirf.Close()
}

// savedCursor is what a cursor file held.
type savedCursor struct {
	exists bool
	ok     bool // a valid position was found
	seq    uint64
	slot   int
}

// load reads the directory into j; nothing else runs yet.
func (j *Journal) load(names []string) error {
	entries, err := os.ReadDir(j.dir)
	if err != nil {
		return fmt.Errorf("journal: read directory: %w", err)
	}
	wanted := make(map[string]bool, len(names))
	for _, name := range names {
		wanted[name] = true
	}
	var bases []uint64
	saved := make(map[string]savedCursor, len(names))
	for _, e := range entries {
		name := e.Name()
		if !e.Type().IsRegular() {
			continue
		}
		if base, ok := parseSegName(name); ok {
			bases = append(bases, base)
			continue
		}
		if strings.HasSuffix(name, cursorSuffix+tmpSuffix) {
			if err := j.removeFile(name); err != nil {
				return err
			}
			continue
		}
		cname, ok := strings.CutSuffix(name, cursorSuffix)
		if !ok {
			continue
		}
		if !wanted[cname] {
			if err := j.removeFile(name); err != nil {
				return err
			}
			continue
		}
		sv, err := readCursorFile(filepath.Join(j.dir, name))
		if err != nil {
			return err
		}
		saved[cname] = sv
	}
	slices.Sort(bases)
	if err := j.loadSegments(bases); err != nil {
		return err
	}

	next := uint64(1)
	if len(j.segs) > 0 {
		next = j.segs[len(j.segs)-1].end()
	}
	// A cursor past the stored records means data it had delivered was lost
	// (or removed by hand); sequence numbers must still not be reused.
	var ahead string
	for _, name := range names {
		if sv := saved[name]; sv.ok && sv.seq > next {
			next, ahead = sv.seq, name
		}
	}
	if ahead != "" {
		j.repairs = append(j.repairs, &CorruptError{
			File:   cursorPath(j.dir, ahead),
			Reason: fmt.Sprintf("committed position %d is past the stored records; sequence numbers continue from there", next),
		})
	}
	if err := j.makeActive(next); err != nil {
		return err
	}

	for _, name := range names {
		if err := j.addCursor(name, saved[name]); err != nil {
			return err
		}
	}
	return nil
}

func (j *Journal) removeFile(name string) error {
	if err := os.Remove(filepath.Join(j.dir, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("journal: remove stale file: %w", err)
	}
	j.dirDirty = true
	return nil
}

func readCursorFile(path string) (savedCursor, error) {
	f, err := os.Open(path)
	if err != nil {
		return savedCursor{}, fmt.Errorf("journal: open cursor file: %w", err)
	}
	defer f.Close()
	// One byte more than a cursor file holds tells a longer file apart.
	b := make([]byte, cursorFileLen+1)
	n, err := f.ReadAt(b, 0)
	if err != nil && n < len(b) && !errors.Is(err, io.EOF) {
		return savedCursor{}, fmt.Errorf("journal: read cursor file %s: %w", path, err)
	}
	seq, slot, ok := decodeCursorFile(b[:n])
	return savedCursor{exists: true, ok: ok, seq: seq, slot: slot}, nil
}

// loadSegments opens and checks the segment files, cutting each at its first
// bad record. The journal continues with the next segment rather than
// failing: see the package comment for why.
func (j *Journal) loadSegments(bases []uint64) error {
	var p pos
	for i, base := range bases {
		path := filepath.Join(j.dir, segName(base))
		f, err := os.OpenFile(path, os.O_RDWR, 0)
		if err != nil {
			return fmt.Errorf("journal: open segment: %w", err)
		}
		s := &segment{base: base, path: path, f: f}
		j.segs = append(j.segs, s)
		st, err := f.Stat()
		if err != nil {
			return fmt.Errorf("journal: stat segment: %w", err)
		}
		last := i == len(bases)-1
		limit := uint64(math.MaxUint64)
		if !last {
			limit = bases[i+1] - base
		}
		res, err := scanSegment(f, st.Size(), limit)
		if err != nil {
			return err
		}
		if res.size < st.Size() {
			j.repairs = append(j.repairs, &CorruptError{
				File:   path,
				Offset: res.size,
				Reason: fmt.Sprintf("%s; the %d bytes from here on were cut off", res.reason, st.Size()-res.size),
			})
			if err := f.Truncate(res.size); err != nil {
				return fmt.Errorf("journal: truncate damaged segment: %w", err)
			}
			if err := f.Sync(); err != nil {
				return fmt.Errorf("journal: fsync %s: %w", path, err)
			}
		}
		if res.count == 0 && !last {
			// The next segment's name carries the sequence on.
			j.segs = j.segs[:len(j.segs)-1]
			_ = f.Close()
			if err := j.removeFile(segName(base)); err != nil {
				return err
			}
			continue
		}
		s.ord, s.at = p.ord, p.at
		s.count, s.size, s.index = res.count, res.size, res.index
		p = s.stop()
		j.total += s.size
	}
	return nil
}

// makeActive makes sure the last segment starts or ends at next and makes
// it the active one.
func (j *Journal) makeActive(next uint64) error {
	var p pos
	if n := len(j.segs); n > 0 {
		last := j.segs[n-1]
		if last.end() == next {
			j.active = last
			j.next, j.end = next, last.stop()
			return nil
		}
		p = last.stop()
		if last.count == 0 {
			j.segs = j.segs[:n-1]
			_ = last.f.Close()
			if err := j.removeFile(segName(last.base)); err != nil {
				return err
			}
		}
	}
	s, err := createSegment(j.dir, next)
	if err != nil {
		return err
	}
	s.ord, s.at = p.ord, p.at
	j.segs = append(j.segs, s)
	j.dirDirty = true
	j.active = s
	j.next, j.end = next, p
	return nil
}

// addCursor sets up a cursor at its saved position: the end for a new one,
// the oldest record for an unreadable file, as records lost are worse than
// records sent twice.
func (j *Journal) addCursor(name string, sv savedCursor) error {
	c := &Cursor{j: j, name: name, ready: make(chan struct{}, 1)}
	j.cursors[name] = c
	j.order = append(j.order, c)
	path := cursorPath(j.dir, name)
	seq := j.next
	switch {
	case sv.ok:
		seq = sv.seq
	case sv.exists:
		seq = j.segs[0].base
		j.repairs = append(j.repairs, &CorruptError{File: path, Reason: "no valid position; resending from the oldest stored record"})
	}
	p, err := j.position(seq)
	if err != nil {
		return err
	}
	c.committed, c.read = p, p
	c.dropped = j.missing(seq)
	c.persistedOrd = p.ord
	if sv.ok {
		c.file, err = openCursorFile(path, sv.slot)
		c.persisted = sv.seq
	} else {
		c.persisted = j.seqAt(p)
		c.file, err = createCursorFile(j.dir, name, c.persisted)
		j.dirDirty = true
	}
	return err
}

// position returns where the first stored record with a sequence number of
// at least seq is. Only Open calls it, before anything else runs.
func (j *Journal) position(seq uint64) (pos, error) {
	if first := j.segs[0]; seq <= first.base {
		return first.start(), nil
	}
	if seq >= j.next {
		return j.end, nil
	}
	s := j.segOfSeq(seq)
	idx := seq - s.base
	if idx >= s.count {
		return s.stop(), nil
	}
	off, err := s.skip(s.index[idx/indexStride], idx%indexStride, s.size)
	if err != nil {
		return pos{}, err
	}
	return pos{ord: s.ord + idx, at: s.at + off}, nil
}

// missing counts the sequence numbers from seq on that have no stored record
// although later ones do: records lost to damage, or that a crash kept from
// reaching the disk. Those before the oldest segment are not counted: they
// are normally what the size bound deleted, and OnDrop reported, before the
// restart.
func (j *Journal) missing(seq uint64) (n uint64) {
	for i := 1; i < len(j.segs); i++ {
		from, to := j.segs[i-1].end(), j.segs[i].base
		if to > from && seq < to {
			n += to - max(from, seq)
		}
	}
	return n
}
