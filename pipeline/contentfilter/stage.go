package contentfilter

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"sync/atomic"

	"github.com/gatewatch/gatewatch/pipeline"
	"github.com/gatewatch/gatewatch/pipeline/antivirus/objects"
	"github.com/gatewatch/gatewatch/telemetry"
	"github.com/gatewatch/gatewatch/telemetry/stats"
)

// Name is the stage's name in the policy's checks and the verdicts.
const Name = "contentfilter"

// Stage applies the attachment rules to every object of a message, archive
// members included.
type Stage struct {
	emit   telemetry.Emitter
	st     *stats.Stats
	cur    atomic.Pointer[Filter]
	limits objects.Limits
}

// NewStage creates the stage; limits bound how deep it looks.
func NewStage(cfg Config, limits objects.Limits, emit telemetry.Emitter, st *stats.Stats) (*Stage, error) {
	s := &Stage{emit: emit, st: st, limits: limits}
	return s, s.Reload(cfg)
}

// Reload puts cfg in force for the next messages.
func (s *Stage) Reload(cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	s.cur.Store(New(cfg))
	return nil
}

// Name implements pipeline.Stage.
func (s *Stage) Name() string { return Name }

// Scan implements pipeline.Stage: any rule that matches makes the message
// banned, with the parts that hold the objects flagged for removal.
func (s *Stage) Scan(ctx context.Context, m *pipeline.Message) (pipeline.Verdict, error) {
	f := s.cur.Load()
	var hits []string
	parts := map[string]bool{}
	err := objects.WalkShared(&m.Walked, m.Reader(), s.limits, func(o *objects.Object) error {
		if o.Name == "" && o.Depth == 0 && o.Declared != "" && strings.HasPrefix(o.Declared, "text/") {
			return nil // a body, not an attachment
		}
		h, ok := f.Check(Object{Name: o.Name, Declared: o.Declared, Data: o.Data, Size: o.Size})
		if !ok {
			return nil
		}
		s.st.FilterHits.With(h.Rule).Inc()
		hits = append(hits, h.Rule+": "+o.Path+" ("+h.Detail+")")
		if o.Part != "" {
			parts[o.Part] = true
		}
		sum := sha256.Sum256(o.Data)
		s.emit.Emit(telemetry.Event{Type: telemetry.ObjectFlagged, QueueID: m.ID, Stage: Name, Category: "banned",
			Attachments: []string{o.Name}, Size: o.Size, Hash: hex.EncodeToString(sum[:]), Threat: h.Rule, Text: h.Rule + ": " + h.Detail + " at " + o.Path})
		return ctx.Err()
	})
	if err != nil {
		return pipeline.Verdict{}, fmt.Errorf("contentfilter: %w", err)
	}
	if len(hits) == 0 {
		return pipeline.Verdict{Status: pipeline.StatusClean, Suggest: pipeline.ActionAccept}, nil
	}
	v := pipeline.Verdict{Status: pipeline.StatusBanned, Suggest: pipeline.ActionAccept, Detail: strings.Join(hits, "; ")}
	for p := range parts {
		v.Parts = append(v.Parts, p)
	}
	sort.Strings(v.Parts)
	return v, nil
}
