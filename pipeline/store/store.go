package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatewatch/gatewatch/pipeline"
	"github.com/gatewatch/gatewatch/pipeline/spool"
	"github.com/gatewatch/gatewatch/telemetry"
	"github.com/gatewatch/gatewatch/telemetry/stats"

	"github.com/gatewatch/gatewatch/internal/durable"
)

// ErrNotFound is returned for an ID the quarantine does not hold.
var ErrNotFound = errors.New("not in the quarantine")

// Store is an open store directory.
type Store struct {
	dir  string
	emit telemetry.Emitter
	cfg  atomic.Pointer[Config]

	releasing sync.Mutex // one release at a time: a message is never queued twice

	mu      sync.Mutex
	entries map[string]map[string]*Entry // box -> ID -> entry
	bytes   map[string]int64             // box -> bytes of content

	stop chan struct{}
	done chan struct{}
}

// Open reads the index of the store in cfg.Dir (creating it if needed) and
// sets the gauges in st to what it holds.
func Open(cfg Config, emit telemetry.Emitter, st *stats.Stats) (*Store, error) {
	s, err := open(cfg, emit, true)
	if err != nil {
		return nil, err
	}
	if st != nil {
		for _, e := range s.entries[Quarantine] {
			st.QuarantineMessages.With(e.Category).Add(1)
			st.QuarantineBytes.With(e.Category).Add(e.Size)
		}
		for _, box := range []string{Received, Sent} {
			st.ArchiveMessages.With(box).Add(int64(len(s.entries[box])))
			st.ArchiveBytes.With(box).Add(s.bytes[box])
		}
	}
	return s, nil
}

// OpenReadOnly reads the index of the store in dir for listing beside a
// running gateway: it creates, cleans and changes nothing.
func OpenReadOnly(dir string) (*Store, error) {
	return open(Config{Dir: dir, Interval: time.Hour}, discard{}, false)
}

type discard struct{}

func (discard) Emit(telemetry.Event) {}

func open(cfg Config, emit telemetry.Emitter, owner bool) (*Store, error) {
	s := &Store{dir: cfg.Dir, emit: emit, entries: map[string]map[string]*Entry{}, bytes: map[string]int64{}}
	s.cfg.Store(&cfg)
	for _, box := range []string{Quarantine, Received, Sent} {
		s.entries[box] = map[string]*Entry{}
		for _, cat := range categoriesOf(box) {
			dir := s.boxDir(box, cat)
			if owner {
				if err := os.MkdirAll(dir, 0o700); err != nil {
					return nil, fmt.Errorf("create store directory: %w", err)
				}
			}
			if err := s.load(box, cat, dir, owner); err != nil {
				return nil, err
			}
		}
	}
	return s, nil
}

func categoriesOf(box string) []string {
	if box == Quarantine {
		return pipeline.Categories()
	}
	return []string{box}
}

func (s *Store) boxDir(box, category string) string {
	if box == Quarantine {
		return filepath.Join(s.dir, Quarantine, category)
	}
	return filepath.Join(s.dir, "archive", box)
}

// load indexes one directory. A content file without metadata is the
// remains of an interrupted write and goes; so does metadata without content.
func (s *Store) load(box, category, dir string, clean bool) error {
	names, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) && !clean {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read store directory: %w", err)
	}
	remove := func(name string) {
		if clean {
			_ = os.Remove(filepath.Join(dir, name))
		}
	}
	have := map[string]bool{}
	for _, n := range names {
		have[n.Name()] = true
	}
	for _, n := range names {
		name := n.Name()
		id, ext, _ := strings.Cut(name, ".")
		switch {
		case strings.HasPrefix(name, "."): // temporary file of an interrupted write
			remove(name)
		case ext == "eml" && !have[id+".json"]:
			remove(name)
		case ext == "json" && spool.ValidID(id):
			if !have[id+".eml"] {
				remove(name)
				continue
			}
			b, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				return fmt.Errorf("read store index: %w", err)
			}
			var e Entry
			if err := json.Unmarshal(b, &e); err != nil || e.ID != id {
				continue // unreadable metadata: left for an operator, not served
			}
			e.Box, e.Category = box, category
			s.entries[box][id] = &e
			s.bytes[box] += e.Size
		}
	}
	return nil
}

// Reload applies new retention settings; the directory stays.
func (s *Store) Reload(cfg Config) { cfg.Dir = s.dir; s.cfg.Store(&cfg) }

// Archives reports which archives keep copies.
func (s *Store) Archives() (received, sent bool) {
	c := s.cfg.Load()
	return c.Archive.Received, c.Archive.Sent
}

// Put stores content under e (ID, Box and, for the quarantine, Category
// set). When it returns nil the copy and its metadata are on disk.
func (s *Store) Put(e Entry, content io.Reader) error {
	if err := s.put(&e, content); err != nil {
		store := "archive"
		if e.Box == Quarantine {
			store = Quarantine
		}
		s.emit.Emit(telemetry.Event{Type: telemetry.StoreWriteFailed, QueueID: e.ID, Parent: e.Parent,
			Category: store, Err: err.Error()})
		return err
	}
	ev := telemetry.Event{Type: telemetry.ArchiveAdded, QueueID: e.ID, Parent: e.Parent, Category: e.Box,
		Sender: e.From, Recipient: strings.Join(e.Recipients, ","), Recipients: len(e.Recipients), Size: e.Size}
	if e.Box == Quarantine {
		ev.Type, ev.Category, ev.Group, ev.Text = telemetry.QuarantineAdded, e.Category, e.Group, e.Status
		ev.Subject, ev.Verdicts = e.Subject, e.Reasons
	}
	s.emit.Emit(ev)
	return nil
}

func (s *Store) put(e *Entry, content io.Reader) error {
	if !spool.ValidID(e.ID) {
		return fmt.Errorf("store: invalid ID %q", e.ID)
	}
	if e.Box != Quarantine {
		e.Category = e.Box
	}
	if _, ok := s.entries[e.Box]; !ok || !slices.Contains(categoriesOf(e.Box), e.Category) {
		return fmt.Errorf("store: no box %s/%s", e.Box, e.Category)
	}
	dir := s.boxDir(e.Box, e.Category)
	n, err := writeFile(dir, e.ID+".eml", content)
	if err != nil {
		return err
	}
	e.Size = n
	if e.Stored.IsZero() {
		e.Stored = time.Now()
	}
	js, _ := json.Marshal(e)
	if _, err := writeFile(dir, e.ID+".json", strings.NewReader(string(js))); err != nil {
		_ = os.Remove(filepath.Join(dir, e.ID+".eml"))
		return err
	}
	if err := durable.SyncDir(dir); err != nil {
		s.removeFiles(e)
		return err
	}
	s.mu.Lock()
	s.entries[e.Box][e.ID] = e
	s.bytes[e.Box] += e.Size
	s.mu.Unlock()
	return nil
}

// writeFile writes a file durably under its final name: through a hidden
// temporary one, fsync'd, then renamed, so a crash leaves either nothing
// or the whole file.
func writeFile(dir, name string, content io.Reader) (int64, error) {
	tmp := filepath.Join(dir, "."+name)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return 0, fmt.Errorf("store: create %s: %w", name, err)
	}
	n, err := io.Copy(f, content)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(dir, name))
	}
	if err != nil {
		_ = os.Remove(tmp)
		return 0, fmt.Errorf("store: write %s: %w", name, err)
	}
	return n, nil
}

func (s *Store) removeFiles(e *Entry) {
	dir := s.boxDir(e.Box, e.Category)
	_ = os.Remove(filepath.Join(dir, e.ID+".json"))
	_ = os.Remove(filepath.Join(dir, e.ID+".eml"))
}

// Filter selects quarantine entries; empty fields select all.
type Filter struct {
	Category  string
	Since     time.Time
	Sender    string // address pattern
	Recipient string // address pattern
}

// List returns the quarantine entries f selects, oldest first.
func (s *Store) List(f Filter) ([]Entry, error) {
	sender, err := maskOf(f.Sender)
	if err != nil {
		return nil, fmt.Errorf("sender: %w", err)
	}
	rcpt, err := maskOf(f.Recipient)
	if err != nil {
		return nil, fmt.Errorf("recipient: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []Entry{}
	for _, e := range s.entries[Quarantine] {
		if f.Category != "" && e.Category != f.Category || e.Stored.Before(f.Since) ||
			sender != nil && !sender.Match(e.From) ||
			rcpt != nil && !slices.ContainsFunc(e.Recipients, rcpt.Match) {
			continue
		}
		out = append(out, *e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

func maskOf(p string) (pipeline.Masks, error) {
	if p == "" {
		return nil, nil
	}
	return pipeline.CompileMasks([]string{p})
}

// Get returns a quarantine entry.
func (s *Store) Get(id string) (Entry, error) {
	if err := CheckID(id); err != nil {
		return Entry{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.entries[Quarantine][id]
	if !ok {
		return Entry{}, fmt.Errorf("%s: %w", id, ErrNotFound)
	}
	return *e, nil
}

// Open returns a quarantine entry and its content.
func (s *Store) Open(id string) (Entry, *os.File, error) {
	e, err := s.Get(id)
	if err != nil {
		return e, nil, err
	}
	f, err := os.Open(filepath.Join(s.boxDir(e.Box, e.Category), id+".eml"))
	if err != nil {
		return e, nil, fmt.Errorf("open quarantined %s: %w", id, err)
	}
	return e, f, nil
}

// CheckID refuses anything that is not a queue ID before it gets near a
// file name.
func CheckID(id string) error {
	if !spool.ValidID(id) {
		return fmt.Errorf("invalid ID %q: IDs are %d characters of 0-9 and A-Z (no I, L, O, U)", id, spool.IDLen)
	}
	return nil
}

// take removes an entry from the index and its files from disk.
func (s *Store) take(box, id string) (Entry, error) {
	s.mu.Lock()
	e, ok := s.entries[box][id]
	if ok {
		delete(s.entries[box], id)
		s.bytes[box] -= e.Size
	}
	s.mu.Unlock()
	if !ok {
		return Entry{}, fmt.Errorf("%s: %w", id, ErrNotFound)
	}
	s.removeFiles(e)
	return *e, nil
}

// Delete removes a quarantined message; by says who asked.
func (s *Store) Delete(id, by string) (Entry, error) {
	if err := CheckID(id); err != nil {
		return Entry{}, err
	}
	e, err := s.take(Quarantine, id)
	if err != nil {
		return e, err
	}
	s.emit.Emit(telemetry.Event{Type: telemetry.QuarantineDeleted, QueueID: id, Parent: e.Parent, Category: e.Category,
		Sender: e.From, Recipient: strings.Join(e.Recipients, ","), Size: e.Size, Text: "deleted by " + by})
	return e, nil
}

// Inject queues a released message for delivery: content as stored, the
// envelope sender and recipients given. It returns the new queue ID.
type Inject func(e Entry, recipients []string, content io.Reader) (string, error)

// Release hands a quarantined message to inject (to its recipients, or to
// the ones given) and, once it is queued, removes it from the quarantine.
func (s *Store) Release(id string, to []string, inject Inject, by string) (Entry, string, error) {
	s.releasing.Lock()
	defer s.releasing.Unlock()
	e, f, err := s.Open(id)
	if err != nil {
		return e, "", err
	}
	rcpts := e.Recipients
	if len(to) > 0 {
		rcpts = to
	}
	queued, err := inject(e, rcpts, f)
	f.Close()
	if err != nil {
		return e, "", fmt.Errorf("release %s: %w", id, err)
	}
	if _, err := s.take(Quarantine, id); err != nil && !errors.Is(err, ErrNotFound) {
		return e, queued, err
	}
	s.emit.Emit(telemetry.Event{Type: telemetry.QuarantineReleased, QueueID: queued, Parent: id, Category: e.Category,
		Sender: e.From, Recipient: strings.Join(rcpts, ","), Recipients: len(rcpts), Size: e.Size,
		Subject: e.Subject, Text: "released by " + by})
	return e, queued, nil
}

// Dir is the store's directory.
func (s *Store) Dir() string { return s.dir }
