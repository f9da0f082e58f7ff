// Package spool is the durable queue. A message is acknowledged with 250
// only once its file (content and envelope) and its directory entry are
// fsync'd; state changes afterwards are renames between state directories.
package spool

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gatewatch/gatewatch/telemetry"
	"github.com/gatewatch/gatewatch/telemetry/stats"
)

// Config is the spool section of the configuration.
type Config struct {
	Dir string `yaml:"dir"`
}

// Validate checks the section; errors name the key.
func (c Config) Validate() error {
	if strings.TrimSpace(c.Dir) == "" {
		return errors.New("spool.dir: must not be empty")
	}
	return nil
}

// QState is a queue state, and the directory that holds the messages in it.
type QState string

const (
	Incoming QState = "incoming" // durable, not yet picked up by delivery
	Active   QState = "active"   // being delivered
	Deferred QState = "deferred" // waiting for the next attempt
	Hold     QState = "hold"     // held by an operator
	Corrupt  QState = "corrupt"  // could not be read back; kept for inspection
)

// QueueStates lists the states that count as queued mail.
func QueueStates() []QState { return []QState{Incoming, Active, Deferred, Hold} }

const tmpDir = "tmp"

// Spool is an open spool directory.
type Spool struct {
	dir      string
	lock     *os.File
	syncer   *dirSyncer
	ids      *IDs
	emit     telemetry.Emitter
	stats    *stats.Stats
	onQueued func(*Entry)
	writers  sync.Pool // *bufio.Writer for drafts: a message is written through one
}

// Open opens (creating if needed) the spool in cfg.Dir for the one gateway
// process that owns it; a second owner is refused. emit and st receive the
// spool's events and queue gauges.
func Open(cfg Config, emit telemetry.Emitter, st *stats.Stats) (*Spool, error) {
	for _, d := range []string{tmpDir, string(Incoming), string(Active), string(Deferred), string(Hold), string(Corrupt)} {
		if err := os.MkdirAll(filepath.Join(cfg.Dir, d), 0o750); err != nil {
			return nil, fmt.Errorf("create spool directory: %w", err)
		}
	}
	lock, err := acquireLock(cfg.Dir)
	if err != nil {
		return nil, err
	}
	syncer, err := newDirSyncer(filepath.Join(cfg.Dir, string(Incoming)))
	if err != nil {
		lock.Close()
		return nil, err
	}
	return &Spool{dir: cfg.Dir, lock: lock, syncer: syncer, ids: NewIDs(), emit: emit, stats: st}, nil
}

// acquireLock takes the spool's owner lock, non-blocking.
func acquireLock(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("open spool lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		owner, _ := os.ReadFile(f.Name())
		f.Close()
		return nil, fmt.Errorf("spool %s is in use by another gatewatch process (pid %s)", dir, strings.TrimSpace(string(owner)))
	}
	_ = f.Truncate(0)
	_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return f, nil
}

// InUse reports whether a gatewatch process owns the spool in dir right now.
func InUse(dir string) bool {
	f, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_RDWR, 0)
	if err != nil {
		return false
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		return true
	}
	_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	return false
}

// OnQueued sets the function told about every message that becomes durable
// (delivery's enqueue); it gets the message as a loaded entry, so delivery
// need not read back what was just written. Set it before the first Commit.
func (s *Spool) OnQueued(fn func(*Entry)) { s.onQueued = fn }

// NewID returns a fresh queue ID.
func (s *Spool) NewID() string { return s.ids.New() }

// Dir is the spool's root directory.
func (s *Spool) Dir() string { return s.dir }

// Close releases the spool.
func (s *Spool) Close() error {
	err := s.syncer.Close()
	if s.lock != nil {
		s.lock.Close()
	}
	return err
}

func (s *Spool) path(st QState, id string) string {
	return filepath.Join(s.dir, string(st), id)
}

// Move renames a message from one state to another. The rename is atomic;
// it is not fsync'd because either state keeps the message safe.
func (s *Spool) Move(id string, from, to QState) error {
	if !ValidID(id) {
		return fmt.Errorf("invalid queue ID %q", id)
	}
	if err := rename(s.path(from, id), s.path(to, id)); err != nil {
		return fmt.Errorf("move %s from %s to %s: %w", id, from, to, err)
	}
	s.gauge(from, -1)
	s.gauge(to, 1)
	return nil
}

// Remove deletes a message whose recipients all have a final outcome.
func (s *Spool) Remove(id string, from QState) error {
	if !ValidID(id) {
		return fmt.Errorf("invalid queue ID %q", id)
	}
	if err := os.Remove(s.path(from, id)); err != nil {
		return fmt.Errorf("remove %s from %s: %w", id, from, err)
	}
	s.gauge(from, -1)
	return nil
}

func (s *Spool) gauge(st QState, d int64) {
	if s.stats == nil {
		return
	}
	if st == Corrupt {
		s.stats.CorruptQueued.Add(d)
		return
	}
	s.stats.QueueMessages.With(string(st)).Add(d)
}

// quarantineCorrupt moves a damaged file aside and says so.
func (s *Spool) quarantineCorrupt(id string, from QState, cause error) {
	if err := rename(s.path(from, id), s.path(Corrupt, id)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		cause = fmt.Errorf("%w (and moving it aside failed: %v)", cause, err)
	} else if err == nil {
		s.gauge(from, -1)
		s.gauge(Corrupt, 1)
	}
	s.emit.Emit(telemetry.Event{Type: telemetry.SpoolCorrupt, QueueID: id, Text: string(from), Err: cause.Error()})
}

// List returns the IDs in one state, oldest first (IDs sort by arrival).
func (s *Spool) List(st QState) ([]string, error) {
	return listDir(filepath.Join(s.dir, string(st)))
}

func listDir(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", dir, err)
	}
	ids := make([]string, 0, len(ents))
	for _, e := range ents {
		if ValidID(e.Name()) {
			ids = append(ids, e.Name())
		}
	}
	sort.Strings(ids)
	return ids, nil
}

// Recover prepares the spool after a start: drafts of unfinished receptions
// are deleted (their clients never got 250), messages left active are put
// back to incoming, and the queue gauges are set from what is on disk. It
// returns the messages ready for delivery now (incoming) and those waiting
// (deferred); hold stays put.
func (s *Spool) Recover() (ready, deferred []string, err error) {
	tmp := filepath.Join(s.dir, tmpDir)
	ents, err := os.ReadDir(tmp)
	if err != nil {
		return nil, nil, fmt.Errorf("recover spool: %w", err)
	}
	for _, e := range ents {
		_ = os.Remove(filepath.Join(tmp, e.Name()))
	}
	active, err := s.List(Active)
	if err != nil {
		return nil, nil, err
	}
	for _, id := range active {
		if err := rename(s.path(Active, id), s.path(Incoming, id)); err != nil {
			return nil, nil, fmt.Errorf("requeue %s: %w", id, err)
		}
	}
	for _, st := range append(QueueStates(), Corrupt) {
		ids, err := s.List(st)
		if err != nil {
			return nil, nil, err
		}
		if s.stats != nil {
			if st == Corrupt {
				s.stats.CorruptQueued.Set(int64(len(ids)))
			} else {
				s.stats.QueueMessages.With(string(st)).Set(int64(len(ids)))
			}
		}
		switch st {
		case Incoming:
			ready = ids
		case Deferred:
			deferred = ids
		}
	}
	return ready, deferred, nil
}

// Oldest finds the longest-queued message (IDs sort by arrival), in any
// queue state; ok is false when the queue is empty.
func (s *Spool) Oldest() (id string, at time.Time, ok bool) {
	for _, st := range QueueStates() {
		ids, err := s.List(st)
		if err != nil || len(ids) == 0 {
			continue
		}
		if !ok || ids[0] < id {
			id, ok = ids[0], true
		}
	}
	if ok {
		at, _ = IDTime(id)
	}
	return id, at, ok
}
