package antispam

import (
	"strings"
	"unicode"

	"golang.org/x/net/idna"
	"golang.org/x/net/publicsuffix"
)

// confusables maps letters that look like Latin ones to them: the Cyrillic
// and Greek look-alikes phishing domains use (a subset of Unicode's
// confusables list), plus digits that pass for letters.
var confusables = map[rune]rune{
	'а': 'a', 'е': 'e', 'о': 'o', 'р': 'p', 'с': 'c', 'у': 'y', 'х': 'x', 'і': 'i', 'ј': 'j', 'ѕ': 's',
	'ԁ': 'd', 'ԛ': 'q', 'ԝ': 'w', 'һ': 'h', 'к': 'k', 'м': 'm', 'т': 't', 'в': 'b', 'н': 'h',
	'α': 'a', 'ο': 'o', 'ρ': 'p', 'ν': 'v', 'τ': 't', 'ι': 'i', 'κ': 'k', 'ε': 'e', 'χ': 'x', 'υ': 'u',
	'ɡ': 'g', 'ɩ': 'i', 'ӏ': 'l', 'ｅ': 'e', 'ａ': 'a', 'ｏ': 'o',
	'0': 'o', '1': 'l',
}

// skeleton is what a domain looks like: Unicode form, look-alikes folded,
// diacritics dropped, and "rn" read as "m".
func skeleton(domain string) string {
	u, err := idna.ToUnicode(domain)
	if err != nil {
		u = domain
	}
	var b strings.Builder
	for _, r := range strings.ToLower(u) {
		if c, ok := confusables[r]; ok {
			r = c
		} else if r > unicode.MaxASCII {
			r = foldAccent(r)
		}
		b.WriteRune(r)
	}
	return strings.ReplaceAll(b.String(), "rn", "m")
}

// foldAccent drops the accent of common Latin letters (é -> e).
func foldAccent(r rune) rune {
	const from, to = "àáâãäåèéêëìíîïòóôõöùúûüýÿñç", "aaaaaaeeeeiiiiooooouuuuyync"
	if i := strings.IndexRune(from, r); i >= 0 {
		return []rune(to)[len([]rune(from[:i]))]
	}
	return r
}

// spoofedDomain returns the protected domain that domain imitates, or "".
func spoofedDomain(c *compiled, domain string) string {
	if domain == "" {
		return ""
	}
	ascii, err := idna.ToASCII(domain)
	if err != nil {
		ascii = domain
	}
	sk := skeleton(ascii)
	for _, p := range c.protected {
		if ascii != p && sk == c.protectedSkeletons[p] {
			return p
		}
	}
	return ""
}

// mixedScript reports a word with letters from Latin and from Cyrillic or
// Greek: legitimate text rarely mixes them within one word.
func mixedScript(w string) bool {
	var latin, other bool
	for _, r := range w {
		switch {
		case unicode.Is(unicode.Latin, r):
			latin = true
		case unicode.Is(unicode.Cyrillic, r), unicode.Is(unicode.Greek, r):
			other = true
		}
	}
	return latin && other
}

// orgDomain is the registrable domain (example.co.uk for a.b.example.co.uk).
func orgDomain(d string) string {
	if org, err := publicsuffix.EffectiveTLDPlusOne(d); err == nil {
		return org
	}
	return d
}
