package main

import (
	"bytes"
	"fmt"
	"io"
	"reflect"

	"github.com/gatewatch/gatewatch/pipeline"
	"github.com/gatewatch/gatewatch/pipeline/antispam"
	"github.com/gatewatch/gatewatch/pipeline/resolver"
	"github.com/gatewatch/gatewatch/pipeline/store"
	"github.com/gatewatch/gatewatch/telemetry"
)

// spamSide is the anti-spam stage and the resolver it asks.
type spamSide struct {
	stage  *antispam.Stage // nil when antispam.enabled was false at start
	resCfg resolver.Config
	res    *resolver.Resolver
}

// openSpamSide creates the stage when enabled; the stages it returns go
// to the scanner in order.
func openSpamSide(cfg *Config, bus *telemetry.Bus) (*spamSide, []pipeline.Stage, error) {
	s := &spamSide{resCfg: cfg.Resolver}
	if !cfg.Antispam.Enabled {
		return s, nil, nil
	}
	res, err := resolver.New(cfg.Resolver, bus.Stats())
	if err != nil {
		return nil, nil, err
	}
	s.res = res
	s.stage, err = antispam.New(cfg.Antispam, s.deps(cfg, bus))
	if err != nil {
		return nil, nil, err
	}
	return s, []pipeline.Stage{s.stage}, nil
}

func (s *spamSide) deps(cfg *Config, bus *telemetry.Bus) antispam.Deps {
	return antispam.Deps{Resolver: s.res, Emit: bus, Stats: bus.Stats(), Hostname: cfg.SMTP.Hostname,
		Protected: cfg.SMTP.ProtectedDomains}
}

// reload puts new scores, lists, model and resolver settings in force.
// Turning the stage on or off needs a restart: the scanner's stages are
// fixed when it starts.
func (s *spamSide) reload(cfg *Config, bus *telemetry.Bus) error {
	if (s.stage != nil) != cfg.Antispam.Enabled {
		return fmt.Errorf("antispam.enabled cannot change on reload (restart to turn the stage on or off)")
	}
	if s.stage == nil {
		return nil
	}
	res := s.res
	if !reflect.DeepEqual(cfg.Resolver, s.resCfg) {
		var err error
		if res, err = resolver.New(cfg.Resolver, bus.Stats()); err != nil {
			return err
		}
	}
	d := s.deps(cfg, bus)
	d.Resolver = res
	if err := s.stage.Reload(cfg.Antispam, d); err != nil {
		return err
	}
	s.res, s.resCfg = res, cfg.Resolver
	return nil
}

// maxLearned bounds what a release keeps to teach the classifier.
const maxLearned = 4 << 20

// learningRelease wraps an injection so that the released message's
// content is kept (up to maxLearned) for learnReleased.
func learningRelease(inner store.Inject) (store.Inject, func() []byte) {
	var kept bytes.Buffer
	inject := func(e store.Entry, rcpts []string, content io.Reader) (string, error) {
		kept.Reset()
		return inner(e, rcpts, io.TeeReader(content, &capped{w: &kept, left: maxLearned}))
	}
	return inject, kept.Bytes
}

// capped writes up to left bytes to w and quietly drops the rest.
type capped struct {
	w    io.Writer
	left int
}

func (c *capped) Write(p []byte) (int, error) {
	n := min(len(p), c.left)
	if n > 0 {
		_, _ = c.w.Write(p[:n])
		c.left -= n
	}
	return len(p), nil
}

// learnReleased teaches the classifier that a message quarantined as spam
// and released by an operator was not spam: a released message is a
// correction.
func (s *spamSide) learnReleased(e store.Entry, raw []byte) error {
	if s.stage == nil || !s.stage.Learning() || e.Category != pipeline.CategorySpam || len(raw) == 0 {
		return nil
	}
	return s.stage.Learn(raw, false)
}
