package pipeline

import (
	"fmt"
	"strings"
	"unicode"
)

// Mask is a compiled recipient or sender pattern: `*` stands for any run of
// characters (none included), `?` for exactly one; case does not matter.
// A pattern with an "@" matches whole addresses ("*@example.test",
// "user@*.example.test"); one without matches the address's domain
// ("example.test", "*.example.test" for subdomains only); "*" matches
// everything, the null sender included.
type Mask struct {
	pattern string // lower-cased
	domain  bool   // match the domain part only
}

// CompileMask checks and compiles a pattern.
func CompileMask(p string) (Mask, error) {
	if p == "" {
		return Mask{}, fmt.Errorf("empty pattern")
	}
	for _, r := range p {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			return Mask{}, fmt.Errorf("%q: spaces and control characters cannot be part of an address", p)
		}
	}
	if strings.Count(p, "@") > 1 {
		return Mask{}, fmt.Errorf("%q: more than one @", p)
	}
	return Mask{pattern: strings.ToLower(p), domain: p != "*" && !strings.Contains(p, "@")}, nil
}

// String is the pattern as compiled.
func (m Mask) String() string { return m.pattern }

// Match reports whether addr matches.
func (m Mask) Match(addr string) bool {
	s := strings.ToLower(addr)
	if m.domain {
		i := strings.LastIndexByte(s, '@')
		if i < 0 {
			return false
		}
		s = strings.TrimSuffix(s[i+1:], ".")
	}
	return glob(m.pattern, s)
}

// glob matches with * and ? only: unlike path.Match, "/" is an ordinary
// character, as it is in a local part. It works on runes, so that ? is
// one character of an internationalised address.
func glob(pattern, str string) bool {
	p, s := []rune(pattern), []rune(str)
	star, mark := -1, 0
	i, j := 0, 0
	for j < len(s) {
		switch {
		case i < len(p) && p[i] == '*':
			star, mark = i, j
			i++
		case i < len(p) && (p[i] == '?' || p[i] == s[j]):
			i++
			j++
		case star >= 0:
			mark++
			i, j = star+1, mark
		default:
			return false
		}
	}
	for i < len(p) && p[i] == '*' {
		i++
	}
	return i == len(p)
}

// Masks is a list of patterns; it matches when any does.
type Masks []Mask

// CompileMasks compiles every pattern; the error names the first bad one.
func CompileMasks(ps []string) (Masks, error) {
	out := make(Masks, 0, len(ps))
	for i, p := range ps {
		m, err := CompileMask(p)
		if err != nil {
			return nil, fmt.Errorf("[%d]: %w", i, err)
		}
		out = append(out, m)
	}
	return out, nil
}

// Match reports whether any pattern matches addr.
func (ms Masks) Match(addr string) bool {
	for _, m := range ms {
		if m.Match(addr) {
			return true
		}
	}
	return false
}
