package journal

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"sync"
	"time"
)

const (
	defaultMaxBytes     = 64 << 20
	defaultSegmentBytes = 4 << 20
	minSegmentBytes     = 64 << 10
	// maxSegments bounds the number of segment files, each of which keeps a
	// descriptor open, whatever MaxBytes is.
	maxSegments         = 256
	defaultSyncInterval = 200 * time.Millisecond
	// maxKeptBuffer is the largest encoding buffer kept between appends; a
	// rare huge record should not pin its size in memory for good.
	maxKeptBuffer = 8 << 20
)

// ErrClosed is returned by every operation on a closed journal.
var ErrClosed = errors.New("journal: closed")

// Options configures Open.
type Options struct {
	Dir string // created if missing (0o750)
	// MaxBytes bounds the total size of the segment files; 0 means 64 MiB.
	// Values below 256 KiB are raised to it (four segments of the minimum
	// size).
	MaxBytes int64
	// SegmentBytes is the size at which a segment is closed; 0 means 4 MiB.
	// It is clamped to at most MaxBytes/4, at least 64 KiB, and at least
	// MaxBytes/256 so that the number of segment files stays small.
	SegmentBytes int64
	// SyncInterval is how often appended data and cursor positions are
	// fsync'd at least; 0 means 200ms. Negative: fsync on every Append and
	// Commit.
	SyncInterval time.Duration
	// OnDrop is called from the goroutine that appended when the bound
	// forced the oldest segment out while a cursor had not committed all of
	// it: the cursor's name and how many of its uncommitted records were
	// dropped. It must not call Append or Close. May be nil. Records found
	// damaged or missing at Open are not reported here, as the caller has
	// nothing set up yet: they are counted in Dropped and described by
	// Repairs.
	OnDrop func(cursor string, records uint64)
}

func (o Options) normalise() Options {
	if o.MaxBytes <= 0 {
		o.MaxBytes = defaultMaxBytes
	}
	o.MaxBytes = max(o.MaxBytes, 4*minSegmentBytes)
	if o.SegmentBytes <= 0 {
		o.SegmentBytes = defaultSegmentBytes
	}
	o.SegmentBytes = min(o.SegmentBytes, o.MaxBytes/4)
	o.SegmentBytes = max(o.SegmentBytes, minSegmentBytes, o.MaxBytes/maxSegments)
	if o.SyncInterval == 0 {
		o.SyncInterval = defaultSyncInterval
	}
	return o
}

// pos is a position in the journal: the number of records and bytes stored
// before it since Open. Counting stored records rather than sequence numbers
// keeps backlog arithmetic exact across gaps left by damaged segments.
type pos struct {
	ord uint64
	at  int64
}

// Record is one record and its sequence number.
type Record struct {
	Seq  uint64
	Data []byte
}

// Journal is an append-only log of records read through named cursors.
type Journal struct {
	dir       string
	dirf      *os.File // locked with flock; fsync'd after files are created or removed
	opts      Options
	syncEvery bool
	cursors   map[string]*Cursor // fixed at Open
	order     []*Cursor          // the same cursors, in the order given to Open
	repairs   []error            // fixed at Open

	amu  sync.Mutex // serialises Append and Close
	wbuf []byte     // the batch being encoded; guarded by amu

	smu sync.Mutex // serialises syncs, and with them the cursor file writes

	mu        sync.Mutex
	segs      []*segment // oldest first; never empty, the last is active
	active    *segment   // written under amu and mu
	next      uint64     // sequence number of the next record; written under amu and mu
	end       pos        // position after the last record; written under amu and mu
	total     int64      // bytes in segs
	dataDirty bool       // active has data not yet fsync'd
	unsynced  []*segment // closed segments with data not yet fsync'd
	dirDirty  bool       // files created or removed since the last directory fsync
	err       error      // first fsync failure; durability is unknown from then on
	closed    bool

	stop chan struct{} // closes to stop the sync goroutine
	done chan struct{} // closed when it has stopped
}

// Repairs returns what Open had to repair: torn or damaged records cut off
// (with file and offset), unreadable cursor files, cursors ahead of the data.
// Each is a *CorruptError. The caller is expected to log them.
func (j *Journal) Repairs() []error { return j.repairs }

// Cursor returns the cursor of that name, nil if the name was not passed to
// Open.
func (j *Journal) Cursor(name string) *Cursor { return j.cursors[name] }

// Dropped returns how many records the cursor lost since Open: to the size
// bound, and to damage or a crash found by Open.
func (j *Journal) Dropped(name string) uint64 {
	c := j.cursors[name]
	if c == nil {
		return 0
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	return c.dropped
}

// segOfOrd returns the segment holding (or, at a segment boundary, starting
// with) the record at ordinal ord. The caller holds mu.
func (j *Journal) segOfOrd(ord uint64) *segment {
	i := sort.Search(len(j.segs), func(i int) bool { return j.segs[i].ord > ord }) - 1
	if i < 0 {
		return nil
	}
	return j.segs[i]
}

// segOfSeq returns the last segment whose base is at most seq, nil if there
// is none. The caller holds mu.
func (j *Journal) segOfSeq(seq uint64) *segment {
	i := sort.Search(len(j.segs), func(i int) bool { return j.segs[i].base > seq }) - 1
	if i < 0 {
		return nil
	}
	return j.segs[i]
}

// seqAt returns the sequence number of the record at position p (the next
// sequence number at the end). The caller holds mu.
func (j *Journal) seqAt(p pos) uint64 {
	s := j.segOfOrd(p.ord)
	if s == nil {
		return j.segs[0].base
	}
	return s.base + (p.ord - s.ord)
}

// Append writes records in order with one write(2) and returns the sequence
// number of the last one. When the segment files would exceed MaxBytes the
// oldest are deleted first, whatever the cursors; Append never waits for a
// cursor. Empty records are refused (see the package comment).
func (j *Journal) Append(recs ...[]byte) (last uint64, err error) {
	j.amu.Lock()
	defer j.amu.Unlock()
	if j.isClosed() {
		return 0, ErrClosed
	}
	if len(recs) == 0 {
		return j.next - 1, nil
	}
	if j.next >= maxSeq || uint64(len(recs)) >= maxSeq-j.next {
		// Unreachable in practice (2^62 records); it keeps every position
		// Append can produce within what Open accepts.
		return 0, fmt.Errorf("journal: append: sequence numbers exhausted at %d", j.next)
	}
	buf := j.wbuf[:0]
	for i, r := range recs {
		if len(r) == 0 || len(r) > maxRecordLen {
			return 0, fmt.Errorf("journal: append: record %d has length %d, want 1 to %d", i, len(r), maxRecordLen)
		}
		buf = appendRecord(buf, r)
	}
	if cap(buf) <= maxKeptBuffer {
		j.wbuf = buf
	} else {
		j.wbuf = nil
	}
	size := int64(len(buf))

	var fresh *segment
	if a := j.active; a.size > 0 && a.size+size > j.opts.SegmentBytes {
		if fresh, err = createSegment(j.dir, j.next); err != nil {
			return 0, err
		}
	}

	j.mu.Lock()
	if fresh != nil {
		j.rotate(fresh)
	}
	gone, lost := j.enforceBound(size)
	a, off := j.active, j.active.size
	j.mu.Unlock()

	// Free the space before writing into it.
	removeErr := j.remove(gone)

	if _, err := a.f.WriteAt(buf, off); err != nil {
		_ = a.f.Truncate(off) // a later crash must not find half a batch
		return 0, fmt.Errorf("journal: append to %s: %w", a.path, err)
	}

	j.mu.Lock()
	p := off
	for _, r := range recs {
		if a.count%indexStride == 0 {
			a.index = append(a.index, p)
		}
		a.count++
		p += headerLen + int64(len(r))
	}
	a.size = p
	n := uint64(len(recs))
	j.next += n
	j.end = pos{ord: j.end.ord + n, at: j.end.at + size}
	j.total += size
	j.dataDirty = true
	last = j.next - 1
	for _, c := range j.order {
		c.notify()
	}
	j.mu.Unlock()

	j.reportDrops(lost)
	if j.syncEvery {
		if err := j.Sync(); err != nil {
			return last, err
		}
	}
	if removeErr != nil {
		return last, removeErr
	}
	return last, nil
}

// rotate closes the active segment and makes fresh the active one. The
// caller holds amu and mu.
func (j *Journal) rotate(fresh *segment) {
	old := j.active
	if j.dataDirty {
		j.unsynced = append(j.unsynced, old)
		j.dataDirty = false
	}
	fresh.ord, fresh.at = j.end.ord, j.end.at
	j.segs = append(j.segs, fresh)
	j.active = fresh
	j.dirDirty = true
}

// enforceBound retires the oldest segments until size more bytes fit under
// MaxBytes or only the active segment is left, moving the cursors that had
// not committed them to the first remaining record. It returns the retired
// segments and, per cursor in j.order, how many records each lost (nil if
// none). The caller holds amu and mu.
func (j *Journal) enforceBound(size int64) (gone []*segment, lost []uint64) {
	for j.total+size > j.opts.MaxBytes && len(j.segs) > 1 {
		s := j.segs[0]
		j.segs[0] = nil
		j.segs = j.segs[1:]
		j.total -= s.size
		s.retire()
		gone = append(gone, s)
		first := s.stop()
		for i, c := range j.order {
			if c.committed.ord < first.ord {
				if lost == nil {
					lost = make([]uint64, len(j.order))
				}
				lost[i] += first.ord - c.committed.ord
				c.dropped += first.ord - c.committed.ord
				c.committed = first
			}
			if c.read.ord < first.ord {
				c.read = first
			}
		}
	}
	return gone, lost
}

// remove deletes the files of retired segments.
func (j *Journal) remove(gone []*segment) error {
	var errs []error
	for _, s := range gone {
		if err := os.Remove(s.path); err != nil && !errors.Is(err, os.ErrNotExist) {
			// Open adopts the file again; it is behind every cursor and goes
			// at the next sync after that.
			errs = append(errs, fmt.Errorf("journal: remove segment: %w", err))
		}
	}
	if len(gone) > 0 {
		j.mu.Lock()
		j.dirDirty = true
		j.mu.Unlock()
	}
	return errors.Join(errs...)
}

func (j *Journal) reportDrops(lost []uint64) {
	if j.opts.OnDrop == nil {
		return
	}
	for i, n := range lost {
		if n > 0 {
			j.opts.OnDrop(j.order[i].name, n)
		}
	}
}

// Close stops the sync goroutine, fsyncs the data, persists every cursor's
// committed position exactly and closes the files. Cursors' Ready channels
// are closed, so senders waiting on them wake up and see ErrClosed.
func (j *Journal) Close() error { return j.shut(true) }

// shut stops the journal and closes its files; only with persist does it
// make the final sync. Without, it leaves the journal as a killed process
// would (the crash tests).
func (j *Journal) shut(persist bool) error {
	j.amu.Lock()
	defer j.amu.Unlock()
	j.mu.Lock()
	if j.closed {
		j.mu.Unlock()
		return ErrClosed
	}
	j.closed = true
	for _, c := range j.order {
		close(c.ready)
	}
	j.mu.Unlock()
	if j.stop != nil {
		close(j.stop)
		<-j.done
	}

	j.smu.Lock()
	defer j.smu.Unlock()
	var err error
	if persist {
		err = j.sync()
	}
	j.mu.Lock()
	for _, s := range j.segs {
		s.retire()
	}
	j.mu.Unlock()
	for _, c := range j.order {
		if e := c.file.f.Close(); e != nil && err == nil {
			err = fmt.Errorf("journal: close cursor file: %w", e)
		}
	}
	// Closing the directory releases the flock.
	if e := j.dirf.Close(); e != nil && err == nil {
		err = fmt.Errorf("journal: close directory: %w", e)
	}
	return err
}
