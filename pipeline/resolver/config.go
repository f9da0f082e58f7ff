// Package resolver is the one DNS client of the checks: queries go to the
// configured servers (never a public resolver by accident), answers are
// cached for their TTL, a bounded number of queries is in flight, every
// query is counted by result, and errors read like the standard library's
// so libraries that take a resolver (SPF) understand them.
package resolver

import (
	"errors"
	"fmt"
	"net"
	"time"
)

// Config is the resolver section of the configuration.
type Config struct {
	Servers     []string      `yaml:"servers"`     // host:port; empty: the nameservers of /etc/resolv.conf
	Timeout     time.Duration `yaml:"timeout"`     // per query, all servers tried within it
	Concurrency int           `yaml:"concurrency"` // queries in flight at most
	CacheSize   int           `yaml:"cache_size"`  // answers kept; 0 turns the cache off
	MaxTTL      time.Duration `yaml:"max_ttl"`     // longest an answer is kept, whatever its TTL
	NegativeTTL time.Duration `yaml:"negative_ttl"`
}

// Validate checks the section; errors name the key.
func (c Config) Validate() error {
	var errs []error
	for i, s := range c.Servers {
		if _, _, err := net.SplitHostPort(s); err != nil {
			errs = append(errs, fmt.Errorf("resolver.servers[%d]: %q is not host:port", i, s))
		}
	}
	if c.Timeout <= 0 {
		errs = append(errs, errors.New("resolver.timeout: must be greater than 0"))
	}
	if c.Concurrency < 1 {
		errs = append(errs, errors.New("resolver.concurrency: must be at least 1"))
	}
	if c.CacheSize < 0 {
		errs = append(errs, errors.New("resolver.cache_size: must not be negative"))
	}
	if c.MaxTTL < 0 || c.NegativeTTL < 0 {
		errs = append(errs, errors.New("resolver.max_ttl, resolver.negative_ttl: must not be negative"))
	}
	return errors.Join(errs...)
}
