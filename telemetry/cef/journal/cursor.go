package journal

// A Cursor has a committed position (everything before it was delivered;
// persisted) and a read position (what has been handed out; in memory only).
// One goroutine uses a cursor; Committed and Backlog may be called from any.
type Cursor struct {
	j     *Journal
	name  string
	ready chan struct{}
	file  cursorFile // written by syncs only

	// Guarded by j.mu.
	committed    pos
	read         pos
	dropped      uint64
	persisted    uint64 // sequence number last written to the file
	persistedOrd uint64 // the ordinal of that position
}

// Name returns the name the cursor was opened with.
func (c *Cursor) Name() string { return c.name }

// notify signals Ready without blocking; the caller holds j.mu and the
// journal is not closed.
func (c *Cursor) notify() {
	select {
	case c.ready <- struct{}{}:
	default:
	}
}

// Ready receives when records beyond the read position may exist. It is
// closed by Journal.Close.
func (c *Cursor) Ready() <-chan struct{} { return c.ready }

// Next returns up to max records totalling up to maxBytes of data from the
// read position and advances it; at least one record if any exists, however
// large. It returns no records when the cursor has caught up, and never
// blocks. Limits below 1 count as 1. The records' data stays valid for good.
func (c *Cursor) Next(max int, maxBytes int) ([]Record, error) {
	if max < 1 {
		max = 1
	}
	if maxBytes < 1 {
		maxBytes = 1
	}
	j := c.j
	for {
		j.mu.Lock()
		if j.closed {
			j.mu.Unlock()
			return nil, ErrClosed
		}
		start := c.read
		if start.ord >= j.end.ord {
			j.mu.Unlock()
			return nil, nil
		}
		s := j.segOfOrd(start.ord)
		off := start.at - s.at
		avail := s.size - off
		seq := s.base + (start.ord - s.ord)
		s.refs++
		j.mu.Unlock()

		// Reading outside the lock keeps appends and other cursors from
		// waiting for the disk.
		recs, n, err := s.read(off, avail, seq, max, maxBytes)

		j.mu.Lock()
		s.release()
		switch {
		case j.closed:
			err = ErrClosed
		case err == nil && c.read != start:
			// The size bound moved the cursor past what was just read.
			j.mu.Unlock()
			continue
		case err == nil:
			c.read = pos{ord: start.ord + uint64(len(recs)), at: start.at + n}
		}
		j.mu.Unlock()
		if err != nil {
			return nil, err
		}
		return recs, nil
	}
}

// Rewind moves the read position back to the committed position, so that
// what was handed out but not committed is handed out again.
func (c *Cursor) Rewind() {
	j := c.j
	j.mu.Lock()
	defer j.mu.Unlock()
	c.read = c.committed
	if !j.closed && c.read.ord < j.end.ord {
		c.notify()
	}
}

// Commit records that the records with Seq < next were delivered. Going
// backwards is ignored; beyond the last record counts as up to it. The
// position is persisted within SyncInterval, and exactly at Sync and Close.
func (c *Cursor) Commit(next uint64) error {
	j := c.j
	for {
		j.mu.Lock()
		if j.closed {
			j.mu.Unlock()
			return ErrClosed
		}
		if next <= j.seqAt(c.committed) {
			j.mu.Unlock()
			return nil
		}
		p, retry, err := c.locate(next)
		if retry {
			j.mu.Unlock()
			continue
		}
		if err == nil && j.closed {
			err = ErrClosed // Close's final sync may have run while locate read
		}
		if err != nil {
			j.mu.Unlock()
			return err
		}
		c.committed = p
		if c.read.ord < p.ord {
			c.read = p
		}
		syncEvery := j.syncEvery
		j.mu.Unlock()
		if syncEvery {
			return j.Sync()
		}
		return nil
	}
}

// locate returns the position of the record with sequence number seq, which
// is above the committed position. It is called and returns with j.mu held,
// but may release it to read headers; retry says the segment was retired
// meanwhile and the caller should start over.
func (c *Cursor) locate(seq uint64) (p pos, retry bool, err error) {
	j := c.j
	if seq == j.seqAt(c.read) {
		return c.read, false, nil // the usual case: everything handed out was delivered
	}
	if seq >= j.next {
		return j.end, false, nil
	}
	s := j.segOfSeq(seq) // exists: seq is above the committed position
	idx := seq - s.base
	if idx >= s.count {
		// seq is in a gap left by a damaged segment: the next record is
		// the first of the following one.
		return s.stop(), false, nil
	}
	from := s.index[idx/indexStride]
	skip := idx % indexStride
	if skip == 0 {
		return pos{ord: s.ord + idx, at: s.at + from}, false, nil
	}
	limit := s.size
	s.refs++
	j.mu.Unlock()
	off, err := s.skip(from, skip, limit)
	j.mu.Lock()
	s.release()
	if s.gone {
		return pos{}, true, nil
	}
	if err != nil {
		return pos{}, false, err
	}
	return pos{ord: s.ord + idx, at: s.at + off}, false, nil
}

// Committed returns the committed position: the sequence number of the first
// record not yet delivered.
func (c *Cursor) Committed() uint64 {
	c.j.mu.Lock()
	defer c.j.mu.Unlock()
	return c.j.seqAt(c.committed)
}

// Backlog returns the records not yet committed and the bytes they take in
// the segment files, headers included.
func (c *Cursor) Backlog() (records uint64, bytes int64) {
	j := c.j
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.end.ord - c.committed.ord, j.end.at - c.committed.at
}
