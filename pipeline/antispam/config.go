// Package antispam is the anti-spam stage: formal analysis of the header
// and content, DNS checks (reverse DNS, DNS lists for the client, the relays
// and the URLs, SPF, DKIM, DMARC), a statistical classifier, and scoring
// into the statuses spam, probable_spam, formal and clean. Every check is
// named, scored, timed and counted; the policy decides what to do.
package antispam

import (
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"sort"
	"strings"
)

// Config is the antispam section of the configuration.
type Config struct {
	Enabled    bool               `yaml:"enabled"`
	Spam       float64            `yaml:"spam_score"`     // at or above: spam
	Probable   float64            `yaml:"probable_score"` // at or above: probable_spam
	Scores     map[string]float64 `yaml:"scores"`         // check name -> score, replacing the built-in one
	DNSLists   []DNSList          `yaml:"dnslists"`
	Model      string             `yaml:"model"`      // classifier model file (gatewatch train); "" turns the classifier off
	SCLHeader  bool               `yaml:"scl_header"` // also write X-MS-Exchange-Organization-SCL
	MaxRcpts   int                `yaml:"max_recipients"`
	DownAfter  int                `yaml:"dnslist_down_after"` // failed lookups in a row before a list counts as down
	AuthServID string             `yaml:"authserv_id"`        // Authentication-Results identity; "" is smtp.hostname
	// FuzzySamples is known spam (mbox, maildir or a directory of
	// messages) that near-duplicates are caught against; "" turns it off.
	FuzzySamples   string  `yaml:"fuzzy_samples"`
	FuzzyThreshold float64 `yaml:"fuzzy_threshold"` // estimated share of shared text at or above which FUZZY_SPAM fires
}

// DNSList is one DNS block list zone.
type DNSList struct {
	Name     string             `yaml:"name"`     // check name suffix and statistics label, e.g. zen
	Zone     string             `yaml:"zone"`     // e.g. zen.spamhaus.org
	Kind     string             `yaml:"kind"`     // ip (client and relays, reversed octets) or domain (URL domains)
	Score    float64            `yaml:"score"`    // for any listed answer not in Codes
	Codes    map[string]float64 `yaml:"codes"`    // answer address -> score, e.g. 127.0.0.4: 4.5
	Received bool               `yaml:"received"` // ip lists: also check the relays named in Received fields
}

var checkName = regexp.MustCompile(`^[A-Z0-9_]{1,40}$`)
var listName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,30}$`)

// Validate checks the section; errors name the key.
func (c Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("antispam.%s: %s", key, fmt.Sprintf(format, args...)))
	}
	if c.Probable <= 0 || c.Spam <= c.Probable {
		bad("spam_score", "must be above probable_score, itself above 0 (have %g and %g)", c.Spam, c.Probable)
	}
	known := map[string]bool{}
	for _, n := range CheckNames() {
		known[n] = true
	}
	seen := map[string]bool{}
	for i, l := range c.DNSLists {
		key := fmt.Sprintf("dnslists[%d]", i)
		if !listName.MatchString(l.Name) {
			bad(key+".name", "%q: lower-case letters, digits, _ and -, up to 31 (it labels metrics)", l.Name)
		}
		if seen[l.Name] {
			bad(key+".name", "%q named twice", l.Name)
		}
		seen[l.Name] = true
		known[l.check()] = true
		if strings.Trim(l.Zone, ".") == "" || strings.ContainsAny(l.Zone, " /@") {
			bad(key+".zone", "%q is not a DNS zone", l.Zone)
		}
		if l.Kind != "ip" && l.Kind != "domain" {
			bad(key+".kind", "%q: want ip or domain", l.Kind)
		}
		if l.Received && l.Kind != "ip" {
			bad(key+".received", "only ip lists check relays")
		}
		for _, a := range sortedKeys(l.Codes) {
			if ip, err := netip.ParseAddr(a); err != nil || !ip.Is4() {
				bad(key+".codes."+a, "not an IPv4 answer such as 127.0.0.2")
			}
		}
	}
	for _, n := range sortedKeys(c.Scores) {
		if !checkName.MatchString(n) || !known[n] {
			bad("scores."+n, "no such check (checks: %s, and DNSBL_/URIBL_ + a list's name in upper case)", strings.Join(CheckNames(), ", "))
		}
	}
	if c.MaxRcpts < 1 {
		bad("max_recipients", "must be at least 1")
	}
	if c.FuzzyThreshold < 0.3 || c.FuzzyThreshold > 1 {
		bad("fuzzy_threshold", "%g: want between 0.3 and 1", c.FuzzyThreshold)
	}
	if c.DownAfter < 1 {
		bad("dnslist_down_after", "must be at least 1")
	}
	return errors.Join(errs...)
}

// check is the name of a list's check.
func (l DNSList) check() string {
	prefix := "DNSBL_"
	if l.Kind == "domain" {
		prefix = "URIBL_"
	}
	return prefix + strings.ToUpper(strings.ReplaceAll(l.Name, "-", "_"))
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
