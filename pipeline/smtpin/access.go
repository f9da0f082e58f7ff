package smtpin

import (
	"fmt"
	"net/netip"
	"path"
	"strings"

	"github.com/gatewatch/gatewatch/pipeline"
)

// prefixSet is a list of networks.
type prefixSet []netip.Prefix

func parsePrefixes(list []string) (prefixSet, error) {
	out := make(prefixSet, 0, len(list))
	for _, s := range list {
		p, err := pipeline.ParsePrefix(s)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

func (ps prefixSet) contains(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// domainSet matches domains against patterns with * and ? wildcards,
// case-insensitively. "*.example.test" matches subdomains only.
type domainSet []string

func checkDomainPattern(p string) error {
	if p == "" || strings.ContainsAny(p, " @[]\\") {
		return fmt.Errorf("%q is not a domain pattern", p)
	}
	if _, err := path.Match(strings.ToLower(p), "x"); err != nil {
		return fmt.Errorf("%q: %v", p, err)
	}
	return nil
}

func newDomainSet(patterns []string) domainSet {
	out := make(domainSet, len(patterns))
	for i, p := range patterns {
		out[i] = strings.ToLower(strings.TrimSuffix(p, "."))
	}
	return out
}

func (ds domainSet) matches(domain string) bool {
	domain = strings.ToLower(strings.TrimSuffix(domain, "."))
	for _, p := range ds {
		// path.Match treats "/" specially; domains never contain it.
		if ok, _ := path.Match(p, domain); ok {
			return true
		}
	}
	return false
}

// splitAddress splits an address at its last "@".
func splitAddress(addr string) (local, domain string, ok bool) {
	i := strings.LastIndexByte(addr, '@')
	if i <= 0 || i == len(addr)-1 {
		return "", "", false
	}
	return addr[:i], addr[i+1:], true
}

// senderRouted reports whether a recipient's local part tries to route the
// message onwards itself: user%host@dom, host!user@dom, or a quoted local
// part hiding an "@".
func senderRouted(local string) bool {
	return strings.ContainsAny(local, "@%!")
}

// isASCII reports whether s has only 7-bit characters.
func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// hasControl reports whether s has ASCII control characters (NUL, CR, ...).
func hasControl(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			return true
		}
	}
	return false
}

// quoteForReply makes client-supplied text safe to echo in a reply: one
// line, printable, bounded.
func quoteForReply(s string, max int) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, strings.TrimSpace(s))
	if len(s) > max {
		s = s[:max] + "..."
	}
	return s
}
