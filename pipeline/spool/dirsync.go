package spool

import (
	"fmt"
	"os"
	"sync"
)

// dirSyncer makes directory entries durable with as few fsyncs as possible:
// arrivals that ask while a sync is running wait for the next one, which
// then covers all of them (group commit). One caller leads each sync; no
// goroutine is kept for it.
type dirSyncer struct {
	dir *os.File

	mu      sync.Mutex
	cond    *sync.Cond
	started uint64 // generation of the last sync started
	done    uint64 // generation of the last sync finished
	running bool
	errs    map[uint64]error
}

func newDirSyncer(path string) (*dirSyncer, error) {
	d, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open spool directory for fsync: %w", err)
	}
	s := &dirSyncer{dir: d, errs: map[uint64]error{}}
	s.cond = sync.NewCond(&s.mu)
	return s, nil
}

// Sync returns once a directory fsync that started after the call has
// finished, i.e. once every entry created before the call is durable.
func (s *dirSyncer) Sync() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	// A sync already running may have missed our entry: we need the next one.
	need := s.started + 1
	for s.done < need {
		if s.running {
			s.cond.Wait()
			continue
		}
		s.running = true
		s.started++
		gen := s.started
		s.mu.Unlock()
		err := s.dir.Sync()
		s.mu.Lock()
		s.running = false
		s.done = gen
		if err != nil {
			s.errs[gen] = err
		}
		s.cond.Broadcast()
	}
	// Any failed sync at or after our need could have been ours.
	for g, err := range s.errs {
		if g >= need {
			return fmt.Errorf("fsync spool directory: %w", err)
		}
		if g+64 < s.done {
			delete(s.errs, g)
		}
	}
	return nil
}

func (s *dirSyncer) Close() error { return s.dir.Close() }
