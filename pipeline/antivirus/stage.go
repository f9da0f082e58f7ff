package antivirus

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatewatch/gatewatch/pipeline"
	"github.com/gatewatch/gatewatch/pipeline/antivirus/builtin"
	"github.com/gatewatch/gatewatch/pipeline/antivirus/clamd"
	"github.com/gatewatch/gatewatch/pipeline/antivirus/objects"
	"github.com/gatewatch/gatewatch/telemetry"
	"github.com/gatewatch/gatewatch/telemetry/stats"
)

// Name is the stage's name in the policy's checks and the verdicts.
const Name = "antivirus"

// Object statuses, as counted.
const (
	objClean      = "clean"
	objInfected   = "infected"
	objSuspicious = "suspicious"
	objProtected  = "protected"
	objCorrupted  = "corrupted"
	objError      = "error"
)

// Stage is the anti-virus stage.
type Stage struct {
	emit  telemetry.Emitter
	st    *stats.Stats
	clock func() time.Time
	cur   atomic.Pointer[compiled] // what a message is scanned with: read once per message

	mu       sync.Mutex // serializes the writers of cur and updates
	dbs      *databases
	outbreak *outbreakWindow

	healthMu sync.Mutex
	down     map[string]bool // scanners whose last scan failed
}

// compiled is one configuration with its loaded signatures; it never
// changes once stored, so a message sees one database from start to end.
type compiled struct {
	cfg      Config
	scanners []scanner
	limits   objects.Limits
	sigs     *builtin.DB   // nil without the builtin scanner
	sigPrint string        // the signature directory as it was when sigs was read
	clamd    *clamd.Client // nil without clamd
}

// New creates the stage for cfg.
func New(cfg Config, emit telemetry.Emitter, st *stats.Stats) (*Stage, error) {
	s := &Stage{emit: emit, st: st, clock: time.Now, down: map[string]bool{}, dbs: newDatabases(),
		outbreak: newOutbreakWindow(cfg.Outbreak.PerHour)}
	if err := s.Reload(cfg); err != nil {
		return nil, err
	}
	for _, name := range cfg.Scanners {
		st.Introduce("scanner", name)
		st.AVScannerUp.With(name).Set(1)
	}
	return s, nil
}

// Reload puts cfg in force for the next messages (the signatures are read
// again).
func (s *Stage) Reload(cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	lim, err := cfg.Effective()
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sc, db, print, cl, err := openScanners(cfg)
	if err != nil {
		return err
	}
	s.cur.Store(&compiled{cfg: cfg, scanners: sc, limits: lim, sigs: db, sigPrint: print, clamd: cl})
	s.outbreak.setThreshold(cfg.Outbreak.PerHour)
	if db != nil {
		s.noteBuiltin(db)
	}
	return nil
}

// Name implements pipeline.Stage.
func (s *Stage) Name() string { return Name }

// finding is one flagged object.
type finding struct {
	status, what string
}

// verdictOf is what judge found about one object.
type verdictOf struct {
	status, what, threat string
}

// Scan implements pipeline.Stage.
func (s *Stage) Scan(ctx context.Context, m *pipeline.Message) (pipeline.Verdict, error) {
	c := s.cur.Load()
	var found []finding
	parts := map[string]bool{}
	worst := pipeline.StatusClean
	err := objects.WalkShared(&m.Walked, m.Reader(), c.limits, func(o *objects.Object) error {
		j := s.judge(ctx, c, o)
		status, what := j.status, j.what
		s.st.ObjectsScanned.With(status).Inc()
		if status == objClean {
			return nil
		}
		if status == objInfected {
			s.detected(j.threat)
		}
		found = append(found, finding{status, what})
		if o.Part != "" {
			parts[o.Part] = true
		}
		worst = pipeline.WorseStatus(worst, messageStatus(status))
		sum := sha256.Sum256(o.Data)
		ev := telemetry.Event{Type: telemetry.ObjectFlagged, QueueID: m.ID, Stage: Name, Category: status,
			Size: o.Size, Text: what, Threat: j.threat}
		if o.Name != "" {
			ev.Attachments = []string{o.Name}
		}
		if len(o.Data) > 0 {
			ev.Hash = hex.EncodeToString(sum[:])
		}
		s.emit.Emit(ev)
		return ctx.Err()
	})
	if err != nil {
		return pipeline.Verdict{}, fmt.Errorf("antivirus: %w", err)
	}
	v := pipeline.Verdict{Status: worst, Suggest: pipeline.ActionAccept}
	header := "clean"
	if len(found) > 0 {
		var b strings.Builder
		for i, f := range found {
			if i > 0 {
				b.WriteString("; ")
			}
			b.WriteString(f.status + ": " + f.what)
			if i == 4 && len(found) > 5 {
				fmt.Fprintf(&b, "; and %d more", len(found)-5)
				break
			}
		}
		v.Detail = b.String()
		header = worst + " (" + oneLine(v.Detail, 200) + ")"
		for p := range parts {
			v.Parts = append(v.Parts, p)
		}
		sort.Strings(v.Parts)
	}
	v.Headers = []pipeline.HeaderField{{Name: "X-Gatewatch-Virus-Status", Value: header}}
	return v, nil
}

// judge runs the scanners on one object.
func (s *Stage) judge(ctx context.Context, c *compiled, o *objects.Object) verdictOf {
	where := o.Path
	switch o.Status {
	case objects.StatusProtected:
		return verdictOf{status: objProtected, what: where + " is encrypted"}
	case objects.StatusCorrupted:
		return verdictOf{status: objCorrupted, what: where + ": " + o.Detail}
	case objects.StatusSuspicious:
		return verdictOf{status: objSuspicious, what: where + ": " + o.Detail}
	}
	for _, sc := range c.scanners {
		start := time.Now()
		threat, err := sc.scan(ctx, o.Data)
		s.st.AVScanTime.With(sc.name()).Observe(time.Since(start))
		s.st.AVScans.With(sc.name()).Inc()
		s.health(sc.name(), err)
		if err != nil {
			s.st.AVScanErrors.With(sc.name()).Inc()
			return verdictOf{status: objError, what: where + ": " + err.Error()}
		}
		if threat != "" {
			return verdictOf{status: objInfected, what: threat + " in " + where + " (" + sc.name() + ")", threat: threat}
		}
	}
	return verdictOf{status: objClean}
}

// health raises a scanner's trap on its first failure and clears it on
// the first scan that works again.
func (s *Stage) health(name string, err error) {
	s.healthMu.Lock()
	was := s.down[name]
	s.down[name] = err != nil
	s.healthMu.Unlock()
	switch {
	case err != nil && !was:
		s.emit.Emit(telemetry.Event{Type: telemetry.ScannerDown, Stage: Name, Category: name, Err: err.Error()})
	case err == nil && was:
		s.emit.Emit(telemetry.Event{Type: telemetry.ScannerUp, Stage: Name, Category: name})
	}
}

// messageStatus is the status of a message with such an object.
func messageStatus(obj string) string {
	switch obj {
	case objInfected:
		return pipeline.StatusVirus
	case objSuspicious:
		return pipeline.StatusSuspicious
	case objProtected, objCorrupted:
		return pipeline.StatusUnscannable
	case objError:
		return pipeline.StatusError
	}
	return pipeline.StatusClean
}

// oneLine makes text fit a header: one line of printable ASCII (names
// come from the message, so from whoever sent it).
func oneLine(s string, max int) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e {
			return ' '
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > max {
		s = s[:max] + "..."
	}
	return s
}
