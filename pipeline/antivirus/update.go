package antivirus

import (
	"context"
	"errors"
	"fmt"

	"github.com/gatewatch/gatewatch/pipeline/antivirus/sigupdate"
	"github.com/gatewatch/gatewatch/telemetry"
)

// Update installs the signature set at from (a directory or an http(s)
// URL) as the builtin scanner's directory and scans with it from the next
// object on. A failure leaves the installed set in use and is reported.
func (s *Stage) Update(ctx context.Context, from string) (sigupdate.Result, error) {
	c := s.cur.Load()
	fail := func(err error) (sigupdate.Result, error) {
		s.emit.Emit(telemetry.Event{Type: telemetry.UpdateFailed, Stage: Name, Category: "builtin", Remote: from, Err: err.Error()})
		return sigupdate.Result{}, err
	}
	if c.sigs == nil || c.cfg.Signatures == "" {
		return fail(errors.New("updates install into antivirus.signatures for the builtin scanner: set both"))
	}
	res, err := sigupdate.Install(ctx, from, c.cfg.Signatures, sigupdate.Options{})
	if err != nil {
		return fail(err)
	}
	if err := s.checkSignatures(); err != nil {
		return fail(fmt.Errorf("installed, but: %w", err))
	}
	result := "not_needed"
	if res.Changed {
		result = "updated"
	}
	s.emit.Emit(telemetry.Event{Type: telemetry.UpdateDone, Stage: Name, Category: "builtin", Remote: from,
		Reason: telemetry.Reason(result), Count: int64(res.Signatures), Text: "version " + res.Version})
	return res, nil
}
