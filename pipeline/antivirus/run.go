package antivirus

import (
	"context"
	"time"

	"github.com/gatewatch/gatewatch/telemetry"
)

// Run watches the databases until ctx ends: every check interval the
// signature directory is read again if it changed, clamd is asked for its
// database version, ages are held against the limits, the outbreak window
// moves on, and a scheduled update runs when due.
func (s *Stage) Run(ctx context.Context) {
	var nextUpdate time.Time
	for {
		c := s.cur.Load()
		s.check(ctx)
		if from := c.cfg.Update.From; from != "" {
			now := s.clock()
			if nextUpdate.IsZero() {
				nextUpdate = now.Add(c.cfg.Update.Interval)
			}
			if !now.Before(nextUpdate) {
				_, _ = s.Update(ctx, from) // reported as av.update_failed; tried again next interval
				nextUpdate = now.Add(c.cfg.Update.Interval)
			}
		}
		t := time.NewTimer(c.cfg.Databases.CheckInterval)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// check is one round of the database watch.
func (s *Stage) check(ctx context.Context) {
	err := s.checkSignatures()
	s.dbs.mu.Lock()
	repeated := err != nil && err.Error() == s.dbs.lastErr
	s.dbs.lastErr = ""
	if err != nil {
		s.dbs.lastErr = err.Error()
	}
	s.dbs.mu.Unlock()
	if err != nil && !repeated { // once per problem, not once per check
		s.emit.Emit(telemetry.Event{Type: telemetry.UpdateFailed, Stage: Name, Category: "builtin",
			Remote: s.cur.Load().cfg.Signatures, Err: err.Error()})
	}
	s.checkClamd(ctx)
	now := s.clock()
	for _, scanner := range s.cur.Load().cfg.Scanners {
		s.checkAge(scanner, now)
	}
	s.outbreakEvent(0, "")
}
