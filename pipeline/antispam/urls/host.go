package urls

import (
	"net/netip"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

// Host is one URL host found in a message.
type Host struct {
	Name   string     // lower-case ASCII (punycode for IDN), no trailing dot; or an IP literal
	Domain string     // registrable domain (eTLD+1), "" for IPs and hosts without one
	IP     netip.Addr // valid when the host is an IP literal, in whatever notation it was written
	Via    string     // how it was found: "text", "href", "src", "redirect" or "deobfuscated"
}

const (
	viaText         = "text"
	viaHref         = "href"
	viaSrc          = "src"
	viaRedirect     = "redirect"
	viaDeobfuscated = "deobfuscated"
)

const (
	maxName  = 253
	maxLabel = 63
	// maxRawHost bounds the host as written, defanged dots and escapes
	// included: room for any valid name spelled out that way, and a cap on
	// what one candidate costs to read.
	maxRawHost = 1024
)

// hostProfile maps hosts the way browsers do (UTS #46 without the STD3 and
// hyphen rules). idna.Lookup would refuse "a_b.example" and "r3---sn.example",
// which browsers open, and a host the scan skips is a host no list is asked
// about.
var hostProfile = idna.New(
	idna.MapForLookup(),
	idna.BidiRule(),
	idna.StrictDomainName(false),
	idna.CheckHyphens(false),
)

// parseHost normalises one spelling of a host; ok is false for anything
// that is neither a usable domain name nor an IP address.
func parseHost(s string) (h Host, ok bool) {
	if s == "" {
		return Host{}, false
	}
	if s[0] == '[' {
		return parseIPv6(s)
	}
	s, ok = unescapeHost(s)
	if !ok {
		return Host{}, false
	}
	name, err := hostProfile.ToASCII(s)
	if err != nil {
		return Host{}, false
	}
	name = strings.TrimSuffix(name, ".")
	// Browsers read a host whose last label is a number as an IPv4 address
	// and refuse it when it is not one; a domain name never ends that way.
	if endsInNumber(name) {
		ip, ok := parseIPv4(name)
		if !ok {
			return Host{}, false
		}
		return Host{Name: ip.String(), IP: ip}, true
	}
	if !validName(name) {
		return Host{}, false
	}
	return Host{Name: name, Domain: registrable(name)}, true
}

// parseIPv6 reads a bracketed literal. IPv4-mapped addresses are unmapped
// because DNS lists key them by their IPv4 form.
func parseIPv6(raw string) (Host, bool) {
	if len(raw) < 2 || raw[len(raw)-1] != ']' {
		return Host{}, false
	}
	ip, err := netip.ParseAddr(raw[1 : len(raw)-1])
	if err != nil || ip.Zone() != "" {
		return Host{}, false
	}
	ip = ip.Unmap()
	return Host{Name: ip.String(), IP: ip}, true
}

// unescapeHost percent-decodes a host the way browsers do before mapping it;
// malformed escapes or bytes that are not UTF-8 make the host unusable.
func unescapeHost(s string) (string, bool) {
	if !strings.Contains(s, "%") {
		return s, utf8.ValidString(s)
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b = append(b, s[i])
			continue
		}
		if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
			return "", false
		}
		b = append(b, unhex(s[i+1])<<4|unhex(s[i+2]))
		i += 2
	}
	return string(b), utf8.Valid(b)
}

// validName accepts what a resolver can be asked about: a dotted ASCII name
// within DNS length limits. Underscores stay, as browsers keep them.
func validName(name string) bool {
	if len(name) == 0 || len(name) > maxName || !strings.Contains(name, ".") {
		return false
	}
	for label := range strings.SplitSeq(name, ".") {
		if len(label) == 0 || len(label) > maxLabel {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	default:
		return c - 'a' + 10
	}
}
