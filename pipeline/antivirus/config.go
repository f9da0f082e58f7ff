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
	Enabled    bool         `yaml:"enabled"`
	Scanners   []string     `yaml:"scanners"`   // in order: builtin, clamd
	Signatures string       `yaml:"signatures"` // the builtin scanner's .hdb/.hsb directory; "" knows EICAR only
	Clamd      ClamdConfig  `yaml:"clamd"`
	Limits     LimitsConfig `yaml:"limits"`
}

// ClamdConfig says where clamd listens.
type ClamdConfig struct {
	Address     string        `yaml:"address"` // tcp://host:port or unix:/path
	Timeout     time.Duration `yaml:"timeout"`
	MaxStream   int64         `yaml:"max_stream"` // clamd's StreamMaxLength, bytes
	Connections int           `yaml:"connections"`
}

// LimitsConfig bounds what one message may cost to take apart.
type LimitsConfig struct {
	MaxDepth   int   `yaml:"max_depth"`
	MaxObjects int   `yaml:"max_objects"`
	MaxTotal   int64 `yaml:"max_total"`
	MaxObject  int64 `yaml:"max_object"`
	MaxRatio   int   `yaml:"max_ratio"`
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
	if l.MaxDepth < 1 || l.MaxObjects < 1 || l.MaxTotal < 1 || l.MaxObject < 1 || l.MaxRatio < 1 {
		errs = append(errs, errors.New("antivirus.limits: max_depth, max_objects, max_total, max_object and max_ratio must all be at least 1"))
	}
	return errors.Join(errs...)
}
