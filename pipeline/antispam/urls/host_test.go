package urls

import (
	"strings"
	"testing"
)

func TestParseHost(t *testing.T) {
	for _, tc := range []struct{ raw, name, domain string }{
		{"Example.COM", "example.com", "example.com"},
		{"www.example.co.uk", "www.example.co.uk", "example.co.uk"},
		{"bücher.example", "xn--bcher-kva.example", "xn--bcher-kva.example"},
		{"BÜCHER.example", "xn--bcher-kva.example", "xn--bcher-kva.example"},
		{"xn--bcher-kva.example", "xn--bcher-kva.example", "xn--bcher-kva.example"},
		{"%C3%BC.example", "xn--tda.example", "xn--tda.example"},
		{"%65vil.test", "evil.test", "evil.test"},
		{"evil。test", "evil.test", "evil.test"},
		{"evil.test.", "evil.test", "evil.test"},
		{"a_b.evil.test", "a_b.evil.test", "evil.test"},
		{"r3---sn.example", "r3---sn.example", "r3---sn.example"},
		{"co.uk", "co.uk", ""},
		{"3232235777", "192.168.1.1", ""},
		{"0xc0a80001", "192.168.0.1", ""},
		{"%31%32%37.0.0.1", "127.0.0.1", ""},
		{"[::1]", "::1", ""},
		{"[::ffff:1.2.3.4]", "1.2.3.4", ""},
		{strings.Repeat("a", 63) + ".test", strings.Repeat("a", 63) + ".test", strings.Repeat("a", 63) + ".test"},
	} {
		h, ok := parseHost(tc.raw)
		if !ok || h.Name != tc.name || h.Domain != tc.domain {
			t.Errorf("parseHost(%q) = %+v, %v; want %q, %q", tc.raw, h, ok, tc.name, tc.domain)
		}
		if h.IP.IsValid() != (tc.domain == "" && tc.name != "co.uk") {
			t.Errorf("parseHost(%q): IP %v", tc.raw, h.IP)
		}
	}
}

func TestParseHostRejects(t *testing.T) {
	for _, raw := range []string{
		"",
		"localhost",
		"xn--abc-.test",    // punycode for plain ASCII
		"ab\u05d0.example", // breaks the bidi rule
		"%zz.example",      // malformed escape
		"%FF.example",      // not UTF-8
		"evil%21.test",     // "!" is no host character
		"paypal.com%40evil.test",
		"a..b",
		"1.2.3.4.5",
		"256.1.1.1",
		"4294967296",
		"08.1.1.1",
		"[fe80::1%eth0]",
		"[::1",
		strings.Repeat("a", 64) + ".test",
		strings.Repeat("abcdefghi.", 25) + "test", // 254 characters
	} {
		if h, ok := parseHost(raw); ok {
			t.Errorf("parseHost(%q) = %+v, want rejection", raw, h)
		}
	}
}
