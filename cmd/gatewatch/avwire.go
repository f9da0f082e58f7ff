package main

import (
	"context"
	"fmt"

	"github.com/gatewatch/gatewatch/pipeline"
	"github.com/gatewatch/gatewatch/pipeline/antivirus"
	"github.com/gatewatch/gatewatch/pipeline/contentfilter"
	"github.com/gatewatch/gatewatch/telemetry"
)

// avSide is the attachment filter and the anti-virus stage.
type avSide struct {
	filter *contentfilter.Stage // nil when off at start
	av     *antivirus.Stage     // nil when off at start
}

// openAVSide creates the enabled stages, in the order they run: the
// filter first (cheap, and a banned part need not be scanned to be
// removed), then the scanners.
func openAVSide(cfg *Config, bus *telemetry.Bus) (*avSide, []pipeline.Stage, error) {
	s := &avSide{}
	var stages []pipeline.Stage
	if cfg.Contentfilter.Enabled {
		lim, err := cfg.Antivirus.Effective()
		if err != nil {
			return nil, nil, err
		}
		f, err := contentfilter.NewStage(cfg.Contentfilter, lim, bus, bus.Stats())
		if err != nil {
			return nil, nil, err
		}
		s.filter = f
		stages = append(stages, f)
	}
	if cfg.Antivirus.Enabled {
		av, err := antivirus.New(cfg.Antivirus, bus, bus.Stats())
		if err != nil {
			return nil, nil, err
		}
		s.av = av
		stages = append(stages, av)
	}
	return s, stages, nil
}

// run watches the anti-virus databases until ctx ends.
func (s *avSide) run(ctx context.Context) {
	if s.av != nil {
		s.av.Run(ctx)
	}
}

// reload puts new rules, scanners and signatures in force; turning a stage
// on or off needs a restart.
func (s *avSide) reload(cfg *Config) error {
	if (s.filter != nil) != cfg.Contentfilter.Enabled || (s.av != nil) != cfg.Antivirus.Enabled {
		return fmt.Errorf("antivirus.enabled and contentfilter.enabled cannot change on reload (restart)")
	}
	if s.filter != nil {
		if err := s.filter.Reload(cfg.Contentfilter); err != nil {
			return err
		}
	}
	if s.av != nil {
		return s.av.Reload(cfg.Antivirus)
	}
	return nil
}
