package spool

import (
	"bufio"
	"encoding/json"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/gatewatch/gatewatch/pipeline"
	"github.com/gatewatch/gatewatch/telemetry"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Draft is a message being received: its content streams into a file in
// the spool's tmp directory, where the scan stages can read it, and Commit
// makes it durable and queued.
type Draft struct {
	s      *Spool
	id     string
	rcpts  int
	f      *file
	w      *bufio.Writer
	crc    hash.Hash32
	n      int64 // content bytes written
	done   bool
	closed bool
}

// NewDraft starts the file of message id with room for rcpts recipients.
func (s *Spool) NewDraft(id string, rcpts int) (*Draft, error) {
	if !ValidID(id) {
		return nil, fmt.Errorf("invalid queue ID %q", id)
	}
	if rcpts < 1 || rcpts > maxRecipents {
		return nil, fmt.Errorf("recipient count %d out of range", rcpts)
	}
	f, err := openFile(filepath.Join(s.dir, tmpDir, id), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return nil, fmt.Errorf("create spool draft: %w", err)
	}
	w, _ := s.writers.Get().(*bufio.Writer)
	if w == nil {
		w = bufio.NewWriterSize(f, 32<<10)
	} else {
		w.Reset(f)
	}
	d := &Draft{s: s, id: id, rcpts: rcpts, f: f, w: w, crc: crc32.New(castagnoli)}
	// Line 1 is a placeholder until Commit; line 2 starts all pending.
	st := State{Rcpts: make([]byte, rcpts)}
	for i := range st.Rcpts {
		st.Rcpts[i] = RcptPending
	}
	if _, err := d.w.Write(make([]byte, headLen)); err != nil {
		d.Abort()
		return nil, fmt.Errorf("write spool draft: %w", err)
	}
	if _, err := d.w.Write(st.encode()); err != nil {
		d.Abort()
		return nil, fmt.Errorf("write spool draft: %w", err)
	}
	return d, nil
}

// ID is the draft's queue ID.
func (d *Draft) ID() string { return d.id }

func (d *Draft) contentOffset() int64 { return int64(headLen + mutableLen(d.rcpts)) }

// Write appends content.
func (d *Draft) Write(p []byte) (int, error) {
	if d.done || d.w == nil {
		return 0, fmt.Errorf("spool draft %s: write after content end", d.id)
	}
	n, err := d.w.Write(p)
	d.crc.Write(p[:n])
	d.n += int64(n)
	if err != nil {
		return n, fmt.Errorf("write spool draft: %w", err)
	}
	return n, nil
}

// EndContent marks the end of the content and makes it readable through
// ReadAt and Size.
func (d *Draft) EndContent() error {
	if d.w == nil {
		return fmt.Errorf("spool draft %s is closed", d.id)
	}
	d.done = true
	if err := d.w.Flush(); err != nil {
		return fmt.Errorf("write spool draft: %w", err)
	}
	return nil
}

// ReadAt reads content (after EndContent).
func (d *Draft) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("spool draft %s: negative offset %d", d.id, off)
	}
	if off >= d.n {
		return 0, io.EOF
	}
	if rest := d.n - off; int64(len(p)) > rest {
		n, err := d.f.ReadAt(p[:rest], d.contentOffset()+off)
		if err == nil {
			err = io.EOF
		}
		return n, err
	}
	return d.f.ReadAt(p, d.contentOffset()+off)
}

// Size is the number of content bytes.
func (d *Draft) Size() int64 { return d.n }

// Commit appends meta, seals the file, fsyncs it, moves it into the
// incoming queue and fsyncs that directory (shared with concurrent commits).
// When it returns nil the message survives a crash and may be acknowledged.
func (d *Draft) Commit(meta *pipeline.Meta) error {
	start := time.Now()
	if !d.done {
		if err := d.EndContent(); err != nil {
			d.Abort()
			return err
		}
	}
	if len(meta.Envelope.Recipients) != d.rcpts {
		d.Abort()
		return fmt.Errorf("spool %s: %d recipients in meta, draft made for %d", d.id, len(meta.Envelope.Recipients), d.rcpts)
	}
	meta.ID, meta.Size = d.id, d.n
	js, err := json.Marshal(meta)
	if err != nil {
		d.Abort()
		return fmt.Errorf("encode spool meta: %w", err)
	}
	d.crc.Write(js)
	h := head{contentLen: d.n, metaLen: int64(len(js)), crc: d.crc.Sum32(), rcpts: d.rcpts}
	if _, err := d.f.WriteAt(js, d.contentOffset()+d.n); err != nil {
		d.Abort()
		return fmt.Errorf("write spool meta: %w", err)
	}
	if _, err := d.f.WriteAt(h.encode(), 0); err != nil {
		d.Abort()
		return fmt.Errorf("write spool header: %w", err)
	}
	if err := d.f.Sync(); err != nil {
		d.Abort()
		return fmt.Errorf("fsync spool file: %w", err)
	}
	if err := d.f.Close(); err != nil {
		d.closed = true
		d.Abort()
		return fmt.Errorf("close spool file: %w", err)
	}
	d.closed = true
	d.release()
	if err := rename(filepath.Join(d.s.dir, tmpDir, d.id), d.s.path(Incoming, d.id)); err != nil {
		d.Abort()
		return fmt.Errorf("queue spool file: %w", err)
	}
	if err := d.s.syncer.Sync(); err != nil {
		// The file is in place but maybe not durable: refuse the message
		// (the client retries) rather than risk acknowledging a loss.
		_ = os.Remove(d.s.path(Incoming, d.id))
		return err
	}
	d.s.gauge(Incoming, 1)
	d.s.emit.Emit(telemetry.Event{Type: telemetry.MessageQueued, QueueID: d.id, Sender: meta.Envelope.From,
		Recipients: d.rcpts, Size: d.n, Duration: time.Since(start)})
	if d.s.onQueued != nil {
		st := State{Rcpts: make([]byte, d.rcpts)}
		for i := range st.Rcpts {
			st.Rcpts[i] = RcptPending
		}
		d.s.onQueued(&Entry{Meta: *meta, State: st, QState: Incoming, path: d.s.path(Incoming, d.id),
			contentOff: d.contentOffset(), contentLen: d.n})
	}
	return nil
}

// Abort throws the draft away.
func (d *Draft) Abort() {
	if !d.closed {
		d.closed = true
		d.f.Close()
	}
	d.release()
	_ = os.Remove(filepath.Join(d.s.dir, tmpDir, d.id))
}

// release gives the draft's write buffer back for the next message.
func (d *Draft) release() {
	if d.w != nil {
		d.w.Reset(nil)
		d.s.writers.Put(d.w)
		d.w = nil
	}
}
