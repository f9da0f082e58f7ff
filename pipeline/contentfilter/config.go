// Package contentfilter judges attachments by name, by their real type
// (detected from their bytes, whatever their name or declared type says)
// and by size, inside archives too. A rule that matches makes the object
// banned; what happens then is the policy's business.
package contentfilter

import (
	"errors"
	"fmt"
	"path"
	"regexp"
	"strings"
)

// Config is the contentfilter section of the configuration.
type Config struct {
	Enabled bool   `yaml:"enabled"`
	Rules   []Rule `yaml:"rules"`
	// DoubleExtension and BidiNames turn the built-in name tricks on:
	// "invoice.pdf.exe", and names that use Unicode direction controls to
	// show another extension than they have.
	DoubleExtension bool `yaml:"double_extension"`
	BidiNames       bool `yaml:"bidi_names"`
}

// Rule bans objects by name, by real type, or by size.
type Rule struct {
	Name     string   `yaml:"name"`     // label in statistics and headers
	Names    []string `yaml:"names"`    // file name globs, case-insensitive, e.g. "*.exe"
	Types    []string `yaml:"types"`    // real media types, e.g. application/x-msdownload; "type/*" allowed
	Mismatch bool     `yaml:"mismatch"` // the real type is an executable while the name or declared type says otherwise
	MaxSize  int64    `yaml:"max_size"` // bytes; 0: no limit
}

var ruleName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,40}$`)

// Validate checks the section; errors name the key.
func (c Config) Validate() error {
	var errs []error
	seen := map[string]bool{}
	for i, r := range c.Rules {
		key := fmt.Sprintf("contentfilter.rules[%d]", i)
		if !ruleName.MatchString(r.Name) {
			errs = append(errs, fmt.Errorf("%s.name: %q: lower-case letters, digits, _ and -", key, r.Name))
		}
		if seen[r.Name] {
			errs = append(errs, fmt.Errorf("%s.name: %q named twice", key, r.Name))
		}
		seen[r.Name] = true
		for j, g := range r.Names {
			if _, err := path.Match(strings.ToLower(g), "x"); err != nil || g == "" {
				errs = append(errs, fmt.Errorf("%s.names[%d]: %q is not a glob", key, j, g))
			}
		}
		for j, t := range r.Types {
			if strings.Count(t, "/") != 1 || strings.ContainsAny(t, " ;") {
				errs = append(errs, fmt.Errorf("%s.types[%d]: %q is not a media type", key, j, t))
			}
		}
		if r.MaxSize < 0 {
			errs = append(errs, fmt.Errorf("%s.max_size: must not be negative", key))
		}
		if len(r.Names) == 0 && len(r.Types) == 0 && !r.Mismatch && r.MaxSize == 0 {
			errs = append(errs, fmt.Errorf("%s: matches nothing (set names, types, mismatch or max_size)", key))
		}
	}
	return errors.Join(errs...)
}
