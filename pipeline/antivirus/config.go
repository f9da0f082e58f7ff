// Package antivirus is the anti-virus stage: every object of a message
// (bodies, attachments, forwarded messages, archive members) goes through
// the configured scanners in order, any detection winning; what could not
// be read (encrypted, broken, a bomb) is flagged as such. A scanner that
// fails makes the message's status error — the policy defers it by
// default — never a silent pass.
package antivirus

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// Config is the antivirus section of the configuration.
type Config struct {
	Enabled    bool           `yaml:"enabled"`
	Scanners   []string       `yaml:"scanners"`   // in order: builtin, clamd
	Signatures string         `yaml:"signatures"` // the builtin scanner's .hdb/.hsb directory; "" knows EICAR only
	Clamd      ClamdConfig    `yaml:"clamd"`
	Preset     string         `yaml:"preset"` // fastest, recommended, maximum: the limits not set below
	Limits     LimitsConfig   `yaml:"limits"`
	Databases  DBConfig       `yaml:"databases"`
	Update     UpdateConfig   `yaml:"update"`
	Outbreak   OutbreakConfig `yaml:"outbreak"`
}

// DBConfig says when a scanner's database counts as old.
type DBConfig struct {
	OutdatedAfter time.Duration `yaml:"outdated_after"`
	ObsoleteAfter time.Duration `yaml:"obsolete_after"`
	CheckInterval time.Duration `yaml:"check_interval"` // how often the signature directory and clamd's version are looked at
}

// UpdateConfig schedules signature updates for the builtin scanner.
type UpdateConfig struct {
	From     string        `yaml:"from"` // directory or http(s) URL; "" updates only on `gatewatch update`
	Interval time.Duration `yaml:"interval"`
}

// OutbreakConfig is the virus outbreak alarm.
type OutbreakConfig struct {
	PerHour int `yaml:"per_hour"` // infected objects in the last hour that raise it; 0 turns it off
}

// ClamdConfig says where clamd listens.
type ClamdConfig struct {
	Address     string        `yaml:"address"` // tcp://host:port or unix:/path
	Timeout     time.Duration `yaml:"timeout"`
	MaxStream   int64         `yaml:"max_stream"` // clamd's StreamMaxLength, bytes
	Connections int           `yaml:"connections"`
}

// LimitsConfig bounds what one message may cost to take apart; 0 (or
// absent) takes the preset's value.
type LimitsConfig struct {
	MaxDepth   int   `yaml:"max_depth"`
	MaxObjects int   `yaml:"max_objects"`
	MaxTotal   int64 `yaml:"max_total"`
	MaxObject  int64 `yaml:"max_object"`
	MaxRatio   int   `yaml:"max_ratio"`
	Archives   *bool `yaml:"archives"` // open archives ourselves (false: hand them to the scanners whole)
}

// Validate checks the section; errors name the key.
func (c Config) Validate() error {
	var errs []error
	if len(c.Scanners) == 0 {
		errs = append(errs, errors.New("antivirus.scanners: name at least one of builtin, clamd"))
	}
	for i, s := range c.Scanners {
		if s != "builtin" && s != "clamd" {
			errs = append(errs, fmt.Errorf("antivirus.scanners[%d]: %q: want builtin or clamd", i, s))
		}
	}
	if slices.Contains(c.Scanners, "clamd") {
		if c.Clamd.Address == "" {
			errs = append(errs, errors.New("antivirus.clamd.address: needed when clamd is a scanner"))
		}
		if c.Clamd.Timeout <= 0 || c.Clamd.MaxStream <= 0 {
			errs = append(errs, errors.New("antivirus.clamd.timeout, antivirus.clamd.max_stream: must be greater than 0"))
		}
	}
	l := c.Limits
	if l.MaxDepth < 0 || l.MaxObjects < 0 || l.MaxTotal < 0 || l.MaxObject < 0 || l.MaxRatio < 0 {
		errs = append(errs, errors.New("antivirus.limits: max_depth, max_objects, max_total, max_object and max_ratio cannot be negative (0: the preset's)"))
	}
	if _, err := presetLimits(c.Preset); err != nil {
		errs = append(errs, err)
	}
	d := c.Databases
	if d.OutdatedAfter <= 0 || d.ObsoleteAfter < d.OutdatedAfter {
		errs = append(errs, errors.New("antivirus.databases: outdated_after must be greater than 0 and obsolete_after at least as long"))
	}
	if d.CheckInterval <= 0 {
		errs = append(errs, errors.New("antivirus.databases.check_interval: must be greater than 0"))
	}
	if c.Update.From != "" {
		if c.Update.Interval <= 0 {
			errs = append(errs, errors.New("antivirus.update.interval: must be greater than 0 when update.from is set"))
		}
		if !slices.Contains(c.Scanners, "builtin") || c.Signatures == "" {
			errs = append(errs, errors.New("antivirus.update.from: updates install into antivirus.signatures for the builtin scanner: set both"))
		}
	}
	if c.Outbreak.PerHour < 0 {
		errs = append(errs, errors.New("antivirus.outbreak.per_hour: cannot be negative (0 turns the alarm off)"))
	}
	return errors.Join(errs...)
}
