package spool

import (
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"

	"github.com/gatewatch/gatewatch/pipeline"
)

// Entry is a queued message read back from the spool.
type Entry struct {
	Meta   pipeline.Meta
	State  State
	QState QState

	path       string
	contentOff int64
	contentLen int64
}

// ErrNotFound means no message with that ID is in that state.
var ErrNotFound = errors.New("no such queued message")

// Load reads and verifies a queued message. A damaged file is moved to the
// corrupt directory, reported, and returned as an error wrapping ErrCorrupt.
func (s *Spool) Load(st QState, id string) (*Entry, error) {
	if !ValidID(id) {
		return nil, fmt.Errorf("invalid queue ID %q", id)
	}
	e, err := ReadFile(s.path(st, id), true)
	if errors.Is(err, ErrCorrupt) {
		s.quarantineCorrupt(id, st, err)
		return nil, fmt.Errorf("load %s: %w", id, err)
	}
	if err != nil {
		return nil, err
	}
	if e.Meta.ID != id {
		err := fmt.Errorf("%w: file %s holds message %q", ErrCorrupt, id, e.Meta.ID)
		s.quarantineCorrupt(id, st, err)
		return nil, err
	}
	e.QState = st
	return e, nil
}

// Find looks for a message in every queue state.
func (s *Spool) Find(id string) (*Entry, error) {
	if !ValidID(id) {
		return nil, fmt.Errorf("invalid queue ID %q", id)
	}
	for _, st := range QueueStates() {
		if _, err := os.Stat(s.path(st, id)); err == nil {
			return s.Load(st, id)
		}
	}
	return nil, fmt.Errorf("%s: %w", id, ErrNotFound)
}

// ReadFile parses a spool file. With verify, the checksum over content and
// meta is checked too (it reads the whole file).
func ReadFile(path string, verify bool) (*Entry, error) {
	f, err := openFile(path, os.O_RDONLY, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", path, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("open spool file: %w", err)
	}
	defer f.Close()
	size, err := f.size()
	if err != nil {
		return nil, fmt.Errorf("stat spool file: %w", err)
	}
	e, err := parse(f, size, verify)
	if err != nil {
		return nil, err
	}
	e.path = path
	return e, nil
}

// parse reads a spool file of the given size from r.
func parse(r io.ReaderAt, size int64, verify bool) (*Entry, error) {
	hb := make([]byte, headLen)
	if _, err := r.ReadAt(hb, 0); err != nil {
		return nil, fmt.Errorf("%w: short header: %v", ErrCorrupt, err)
	}
	h, err := decodeHead(hb)
	if err != nil {
		return nil, err
	}
	if h.rcpts < 1 || h.rcpts > maxRecipents {
		return nil, fmt.Errorf("%w: recipient count %d", ErrCorrupt, h.rcpts)
	}
	ml := int64(mutableLen(h.rcpts))
	contentOff := int64(headLen) + ml
	if contentOff+h.contentLen+h.metaLen != size {
		return nil, fmt.Errorf("%w: sizes add up to %d, file has %d", ErrCorrupt, contentOff+h.contentLen+h.metaLen, size)
	}
	sb := make([]byte, ml)
	if _, err := r.ReadAt(sb, headLen); err != nil {
		return nil, fmt.Errorf("%w: short state line: %v", ErrCorrupt, err)
	}
	st, err := decodeState(sb, h.rcpts)
	if err != nil {
		return nil, err
	}
	mb := make([]byte, h.metaLen)
	if _, err := r.ReadAt(mb, contentOff+h.contentLen); err != nil {
		return nil, fmt.Errorf("%w: short meta: %v", ErrCorrupt, err)
	}
	if verify {
		crc := crc32.New(castagnoli)
		if _, err := io.Copy(crc, io.NewSectionReader(r, contentOff, h.contentLen)); err != nil {
			return nil, fmt.Errorf("%w: read content: %v", ErrCorrupt, err)
		}
		crc.Write(mb)
		if crc.Sum32() != h.crc {
			return nil, fmt.Errorf("%w: checksum mismatch", ErrCorrupt)
		}
	}
	e := &Entry{State: st, contentOff: contentOff, contentLen: h.contentLen}
	if err := json.Unmarshal(mb, &e.Meta); err != nil {
		return nil, fmt.Errorf("%w: meta: %v", ErrCorrupt, err)
	}
	if len(e.Meta.Envelope.Recipients) != h.rcpts {
		return nil, fmt.Errorf("%w: %d recipients in meta, %d in header", ErrCorrupt, len(e.Meta.Envelope.Recipients), h.rcpts)
	}
	if e.Meta.Size != h.contentLen {
		return nil, fmt.Errorf("%w: meta size %d, content %d", ErrCorrupt, e.Meta.Size, h.contentLen)
	}
	return e, nil
}

// OpenContent opens the message content for reading, with the header
// fields the stages added (Meta.Headers) on top. The caller closes it.
func (e *Entry) OpenContent() (*Content, error) {
	f, err := openFile(e.path, os.O_RDONLY, 0)
	if err != nil {
		return nil, fmt.Errorf("open spool content: %w", err)
	}
	return &Content{f: f, prefix: pipeline.HeaderBlock(e.Meta.Headers), body: io.NewSectionReader(f, e.contentOff, e.contentLen)}, nil
}

// Content is an open message content: the added header fields, then a
// section of its spool file.
type Content struct {
	prefix []byte
	body   *io.SectionReader
	off    int64 // of Read
	f      *file
}

// Size is the length of the content with the added fields.
func (c *Content) Size() int64 { return int64(len(c.prefix)) + c.body.Size() }

// ReadAt reads as if prefix and file section were one.
func (c *Content) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("spool content: negative offset %d", off)
	}
	n := 0
	if off < int64(len(c.prefix)) {
		n = copy(p, c.prefix[off:])
		if n == len(p) {
			return n, nil
		}
	}
	m, err := c.body.ReadAt(p[n:], max(0, off-int64(len(c.prefix))))
	return n + m, err
}

// Read reads sequentially from the start.
func (c *Content) Read(p []byte) (int, error) {
	n, err := c.ReadAt(p, c.off)
	c.off += int64(n)
	if err == io.EOF && n > 0 {
		err = nil
	}
	return n, err
}

// Close releases the file.
func (c *Content) Close() error { return c.f.Close() }

// SaveState rewrites line 2 of a queued message in place. With durable, the
// change is fdatasync'd before returning.
func (s *Spool) SaveState(e *Entry, durable bool) error {
	if len(e.State.Rcpts) != len(e.Meta.Envelope.Recipients) {
		return fmt.Errorf("save state of %s: %d statuses for %d recipients", e.Meta.ID, len(e.State.Rcpts), len(e.Meta.Envelope.Recipients))
	}
	for _, c := range e.State.Rcpts {
		if c != RcptPending && c != RcptDelivered && c != RcptFailed {
			return fmt.Errorf("save state of %s: bad recipient status %q", e.Meta.ID, c)
		}
	}
	f, err := openFile(s.path(e.QState, e.Meta.ID), os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("save state of %s: %w", e.Meta.ID, err)
	}
	defer f.Close()
	if _, err := f.WriteAt(e.State.encode(), headLen); err != nil {
		return fmt.Errorf("save state of %s: %w", e.Meta.ID, err)
	}
	if durable {
		if err := f.Sync(); err != nil {
			return fmt.Errorf("save state of %s: fsync: %w", e.Meta.ID, err)
		}
	}
	return nil
}

// MoveEntry moves a loaded entry to another state and keeps track of where
// it is.
func (s *Spool) MoveEntry(e *Entry, to QState) error {
	if err := s.Move(e.Meta.ID, e.QState, to); err != nil {
		return err
	}
	e.QState = to
	e.path = s.path(to, e.Meta.ID)
	return nil
}
