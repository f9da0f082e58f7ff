package main

import (
	"fmt"
	"reflect"

	"github.com/gatewatch/gatewatch/pipeline"
	"github.com/gatewatch/gatewatch/pipeline/antispam"
	"github.com/gatewatch/gatewatch/pipeline/resolver"
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
