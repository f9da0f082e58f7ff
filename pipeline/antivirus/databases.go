package antivirus

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"syscall"
	"time"

	"github.com/gatewatch/gatewatch/pipeline/antivirus/builtin"
	"github.com/gatewatch/gatewatch/telemetry"
)

// Database freshness, as av_db_state shows it.
const (
	dbCurrent  = 0
	dbOutdated = 1
	dbObsolete = 2
)

// dbInfo is what a scanner's database was when last looked at.
type dbInfo struct {
	version  string
	number   int64 // av_db_version
	count    int
	released time.Time // zero: unknown, so never old
}

// databases remembers each scanner's database and freshness, so that a
// change is reported once.
type databases struct {
	mu      sync.Mutex
	known   map[string]dbInfo
	state   map[string]int
	lastErr string // the signature directory's last load failure, reported once
}

func newDatabases() *databases {
	return &databases{known: map[string]dbInfo{}, state: map[string]int{}}
}

// noteDB reports a database a scanner now uses, unless it is the one it
// used before.
func (s *Stage) noteDB(scanner string, info dbInfo) {
	s.dbs.mu.Lock()
	prev, seen := s.dbs.known[scanner]
	s.dbs.known[scanner] = info
	s.dbs.mu.Unlock()
	s.st.AVDBReleased.With(scanner).Set(unixOrZero(info.released))
	s.st.AVDBVersion.With(scanner).Set(info.number)
	if seen && prev.version == info.version {
		return
	}
	released := "unknown"
	if !info.released.IsZero() {
		released = info.released.UTC().Format(time.RFC3339)
	}
	s.emit.Emit(telemetry.Event{Type: telemetry.DBLoaded, Stage: Name, Category: scanner, Count: int64(info.count),
		Text: fmt.Sprintf("version %s, released %s", info.version, released)})
	s.checkAge(scanner, s.clock())
}

func (s *Stage) noteBuiltin(db *builtin.DB) {
	s.noteDB("builtin", dbInfo{version: db.Version(), number: int64(binary.BigEndian.Uint32(db.Digest[:4])),
		count: db.Count, released: db.Newest})
}

// checkAge updates a scanner's age and reports a change of freshness.
func (s *Stage) checkAge(scanner string, now time.Time) {
	c := s.cur.Load()
	s.dbs.mu.Lock()
	info, ok := s.dbs.known[scanner]
	was := s.dbs.state[scanner]
	if !ok || info.released.IsZero() {
		s.dbs.mu.Unlock()
		return
	}
	age := max(now.Sub(info.released), 0)
	state := dbCurrent
	switch {
	case age >= c.cfg.Databases.ObsoleteAfter:
		state = dbObsolete
	case age >= c.cfg.Databases.OutdatedAfter:
		state = dbOutdated
	}
	s.dbs.state[scanner] = state
	s.dbs.mu.Unlock()
	s.st.AVDBAge.With(scanner).Set(int64(age / time.Second))
	if state == was {
		return
	}
	ev := telemetry.Event{Stage: Name, Category: scanner, Count: int64(age / time.Second)}
	switch state {
	case dbObsolete:
		ev.Type, ev.Threshold = telemetry.DBObsolete, int64(c.cfg.Databases.ObsoleteAfter/time.Second)
	case dbOutdated:
		ev.Type, ev.Threshold = telemetry.DBOutdated, int64(c.cfg.Databases.OutdatedAfter/time.Second)
	default:
		ev.Type = telemetry.DBCurrent
	}
	s.emit.Emit(ev)
}

// checkSignatures reads the signature directory again when it changed
// since it was last read (an update swapped it, or someone edited it).
// A directory that does not load leaves the loaded database in use.
func (s *Stage) checkSignatures() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.cur.Load()
	if c.sigs == nil || c.cfg.Signatures == "" {
		return nil
	}
	print, err := fingerprint(c.cfg.Signatures)
	if err != nil {
		return fmt.Errorf("signature directory: %w", err)
	}
	if print == c.sigPrint {
		return nil
	}
	db, print, err := loadStable(c.cfg.Signatures)
	if err != nil {
		return fmt.Errorf("signature directory changed but does not load (the loaded database stays in use): %w", err)
	}
	s.cur.Store(c.withSignatures(db, print))
	s.noteBuiltin(db)
	return nil
}

// loadStable reads the signature directory and makes sure it did not
// change meanwhile: LoadDir looks the path up again for every file, so a
// load overlapping an update's swap could mix files of two sets. Such a
// load is thrown away and done again.
func loadStable(dir string) (*builtin.DB, string, error) {
	var lastErr error
	for range 5 {
		before, err := fingerprint(dir)
		if err != nil {
			return nil, "", err
		}
		db, err := builtin.LoadDir(dir)
		after, ferr := fingerprint(dir)
		if ferr == nil && after == before {
			return db, before, err
		}
		lastErr = fmt.Errorf("the directory kept changing while it was read: %w", errors.Join(err, ferr))
	}
	return nil, "", lastErr
}

// checkClamd asks clamd which database it runs; it reloads by itself
// (freshclam), so a new version is news.
func (s *Stage) checkClamd(ctx context.Context) {
	c := s.cur.Load()
	if c.clamd == nil {
		return
	}
	v, err := c.clamd.Version(ctx)
	if err != nil || v.DBTime.IsZero() {
		return // a failing clamd is the scans' to report; no database, no age
	}
	s.noteDB("clamd", dbInfo{version: fmt.Sprintf("%d", v.Signatures), number: int64(v.Signatures), released: v.DBTime})
}

// fingerprint identifies the directory and its signature files (which
// directory, names, sizes, modification times) without reading them.
func fingerprint(dir string) (string, error) {
	if dir == "" {
		return "", nil
	}
	st, err := os.Stat(dir)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		fmt.Fprintf(h, "%d:%d\n", sys.Dev, sys.Ino) // an atomic swap changes the inode
	}
	var files []string
	for _, pat := range []string{"*.hdb", "*.hsb"} {
		m, _ := filepath.Glob(filepath.Join(dir, pat))
		files = append(files, m...)
	}
	sort.Strings(files)
	for _, f := range files {
		fi, err := os.Stat(f)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s %d %d\n", filepath.Base(f), fi.Size(), fi.ModTime().UnixNano())
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func unixOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}
