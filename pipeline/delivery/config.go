// Package delivery takes messages from the spool and relays them: the
// routing table picks a next hop per recipient, per-route worker pools run
// the SMTP (or directory) transactions, temporary failures are retried with
// backoff, and permanent failures bounce to the sender as RFC 3464 reports.
package delivery

import (
	"errors"
	"fmt"
	"net"
	"path"
	"strings"
	"time"
)

// Config is the delivery section of the configuration.
type Config struct {
	Routes      []Route  `yaml:"routes"`
	Concurrency int      `yaml:"concurrency"` // connections per route unless the route says otherwise
	Retry       Retry    `yaml:"retry"`
	Timeouts    Timeouts `yaml:"timeouts"`
}

// Route sends the recipients matching Match to the next hop To.
type Route struct {
	Name        string `yaml:"name"`        // label in metrics and events; defaults to To
	Match       string `yaml:"match"`       // recipient mask with * and ?, e.g. "*@example.test"; "*" matches all
	To          string `yaml:"to"`          // smtp://host:port or dir://path
	Concurrency int    `yaml:"concurrency"` // 0: the section's concurrency
}

// Retry is the schedule for temporary failures.
type Retry struct {
	Initial  time.Duration `yaml:"initial"`  // first wait after a failure
	Max      time.Duration `yaml:"max"`      // longest wait between attempts
	Lifetime time.Duration `yaml:"lifetime"` // after this, pending recipients bounce
	// RouteDown is how long a route that could not be reached is not
	// tried again; its mail is deferred straight away meanwhile.
	RouteDown time.Duration `yaml:"route_down"`
}

// Timeouts bound each step of an outgoing transaction.
type Timeouts struct {
	Connect time.Duration `yaml:"connect"`
	Command time.Duration `yaml:"command"`
	Data    time.Duration `yaml:"data"`
	Idle    time.Duration `yaml:"idle"` // how long an unused connection is kept open
}

// Validate checks the section. Every error names its key.
func (c Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("delivery.%s: %s", key, fmt.Sprintf(format, args...)))
	}
	if len(c.Routes) == 0 {
		bad("routes", "at least one route is needed")
	}
	names := map[string]int{}
	for i, r := range c.Routes {
		key := fmt.Sprintf("routes[%d]", i)
		if r.Match == "" {
			bad(key+".match", "must not be empty (use \"*\" for all recipients)")
		} else if _, err := path.Match(strings.ToLower(r.Match), "x@y"); err != nil {
			bad(key+".match", "%q: %v", r.Match, err)
		}
		if _, err := parseTarget(r.To); err != nil {
			bad(key+".to", "%v", err)
		}
		if r.Concurrency < 0 {
			bad(key+".concurrency", "must not be negative")
		}
		if j, dup := names[r.label()]; dup && c.Routes[j].To != r.To {
			bad(key+".name", "%q already names routes[%d], which goes elsewhere", r.label(), j)
		}
		names[r.label()] = i
	}
	if c.Concurrency <= 0 {
		bad("concurrency", "must be greater than 0")
	}
	if c.Retry.Initial <= 0 || c.Retry.Max < c.Retry.Initial {
		bad("retry", "need 0 < initial <= max")
	}
	if c.Retry.Lifetime <= 0 {
		bad("retry.lifetime", "must be a positive duration such as 120h")
	}
	if c.Retry.RouteDown < 0 {
		bad("retry.route_down", "must not be negative")
	}
	for key, d := range map[string]time.Duration{"timeouts.connect": c.Timeouts.Connect, "timeouts.command": c.Timeouts.Command,
		"timeouts.data": c.Timeouts.Data, "timeouts.idle": c.Timeouts.Idle} {
		if d <= 0 {
			bad(key, "must be a positive duration such as 30s")
		}
	}
	return errors.Join(errs...)
}

func (r Route) label() string {
	if r.Name != "" {
		return r.Name
	}
	return r.To
}

// target is a parsed route destination.
type target struct {
	kind string // "smtp" or "dir"
	addr string // host:port for smtp
	dir  string // directory for dir
}

func (t target) String() string {
	if t.kind == "dir" {
		return "dir://" + t.dir
	}
	return "smtp://" + t.addr
}

func parseTarget(s string) (target, error) {
	switch {
	case strings.HasPrefix(s, "smtp://"):
		hp := strings.TrimSuffix(strings.TrimPrefix(s, "smtp://"), "/")
		if _, _, err := net.SplitHostPort(hp); err != nil {
			hp = net.JoinHostPort(strings.Trim(hp, "[]"), "25")
		}
		host, port, err := net.SplitHostPort(hp)
		if err != nil || host == "" || port == "" {
			return target{}, fmt.Errorf("%q: want smtp://host:port", s)
		}
		return target{kind: "smtp", addr: hp}, nil
	case strings.HasPrefix(s, "dir://"):
		d := strings.TrimPrefix(s, "dir://")
		if d == "" {
			return target{}, fmt.Errorf("%q: want dir://path", s)
		}
		return target{kind: "dir", dir: d}, nil
	}
	return target{}, fmt.Errorf("%q: want smtp://host:port or dir://path", s)
}
