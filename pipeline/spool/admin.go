package spool

import (
	"errors"
	"fmt"
	"os"
)

// Operator actions on queued messages. The running gateway performs them
// through its deliverer (which also reschedules); with no gateway running
// the CLI calls these directly.

// Hold moves a queued message (incoming or deferred) to hold.
func (s *Spool) Hold(id string) error {
	st, err := s.stateOf(id, Incoming, Deferred)
	if err != nil {
		return err
	}
	return s.Move(id, st, Hold)
}

// Release moves a held message back to incoming.
func (s *Spool) Release(id string) error {
	if _, err := s.stateOf(id, Hold); err != nil {
		return err
	}
	return s.Move(id, Hold, Incoming)
}

// Delete removes a queued message that is not being delivered.
func (s *Spool) Delete(id string) (QState, error) {
	st, err := s.stateOf(id, Incoming, Deferred, Hold, Corrupt)
	if err != nil {
		return "", err
	}
	return st, s.Remove(id, st)
}

// FlushDeferred moves deferred messages to incoming so that the next start
// delivers them at once; an empty id means all of them.
func (s *Spool) FlushDeferred(id string) (int, error) {
	ids := []string{id}
	if id == "" {
		var err error
		if ids, err = s.List(Deferred); err != nil {
			return 0, err
		}
	} else if _, err := s.stateOf(id, Deferred); err != nil {
		return 0, err // invalid, not found (ErrNotFound) or being delivered
	}
	n := 0
	for _, i := range ids {
		if err := s.Move(i, Deferred, Incoming); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// stateOf finds which of the given states holds id.
func (s *Spool) stateOf(id string, states ...QState) (QState, error) {
	if !ValidID(id) {
		return "", fmt.Errorf("invalid queue ID %q: queue IDs are %d characters of 0-9 and A-Z", id, IDLen)
	}
	for _, st := range states {
		if _, err := os.Stat(s.path(st, id)); err == nil {
			return st, nil
		} else if !errors.Is(err, os.ErrNotExist) {
			return "", err
		}
	}
	if _, err := os.Stat(s.path(Active, id)); err == nil {
		return "", fmt.Errorf("%s is being delivered right now; try again in a moment", id)
	}
	return "", fmt.Errorf("%s: %w", id, ErrNotFound)
}
