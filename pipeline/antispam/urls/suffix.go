package urls

import (
	"strings"

	"golang.org/x/net/publicsuffix"
)

// registrable is the name DNS lists are keyed by, or "" when the name is
// itself a public suffix.
func registrable(name string) string {
	d, err := publicsuffix.EffectiveTLDPlusOne(name)
	if err != nil {
		return ""
	}
	return d
}

// knownSuffix reports whether name ends in a suffix that ICANN delegates:
// what separates "example.com/x" from "image.png/x" in prose. The top-level
// label is tried on its own as well, because under a private suffix such as
// blogspot.com the list reports icann=false.
func knownSuffix(name string) bool {
	if _, icann := publicsuffix.PublicSuffix(name); icann {
		return true
	}
	tld := name[strings.LastIndexByte(name, '.')+1:]
	_, icann := publicsuffix.PublicSuffix(tld)
	return icann
}
