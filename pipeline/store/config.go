// Package store keeps copies of messages outside the queue: the quarantine,
// by category, and the archives of received and of sent mail. Each copy is
// a file of its content and a file of its metadata; the metadata files are
// the index, read back at start, so nothing but the directory is needed to
// survive a restart. Retention by age and by total size runs in the
// background.
package store

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Config is the store section of the configuration.
type Config struct {
	Dir        string        `yaml:"dir"`
	Quarantine Retention     `yaml:"quarantine"`
	Archive    ArchiveConfig `yaml:"archive"`
	Interval   time.Duration `yaml:"interval"` // how often retention runs
}

// Retention bounds a box: entries older than MaxAge go, then the oldest
// until the box is under MaxBytes. Zero leaves that bound off.
type Retention struct {
	MaxAge   time.Duration `yaml:"max_age"`
	MaxBytes int64         `yaml:"max_bytes"`
}

// ArchiveConfig says which archives keep copies and for how long.
type ArchiveConfig struct {
	Received  bool `yaml:"received"` // every accepted message, as received
	Sent      bool `yaml:"sent"`     // every message delivered to at least one recipient
	Retention `yaml:",inline"`
}

// Validate checks the section; errors name the key.
func (c Config) Validate() error {
	var errs []error
	if strings.TrimSpace(c.Dir) == "" {
		errs = append(errs, errors.New("store.dir: must not be empty"))
	}
	for _, b := range []struct {
		key string
		r   Retention
	}{{"store.quarantine", c.Quarantine}, {"store.archive", c.Archive.Retention}} {
		if b.r.MaxAge < 0 {
			errs = append(errs, fmt.Errorf("%s.max_age: must not be negative", b.key))
		}
		if b.r.MaxBytes < 0 {
			errs = append(errs, fmt.Errorf("%s.max_bytes: must not be negative", b.key))
		}
	}
	if c.Interval < time.Second {
		errs = append(errs, fmt.Errorf("store.interval: %s is under 1s", c.Interval))
	}
	return errors.Join(errs...)
}
