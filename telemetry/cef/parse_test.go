package cef

import (
	"fmt"
	"strings"
)

// parsedCEF is a record read back by a strict parser written from the CEF
// spec, independent of the formatter: the tests' reference reader.
type parsedCEF struct {
	Header [7]string         // unescaped
	Keys   []string          // extension keys in order
	Ext    map[string]string // unescaped values
}

func parseCEF(s string) (parsedCEF, error) {
	var p parsedCEF
	if !strings.HasPrefix(s, "CEF:") {
		return p, fmt.Errorf("no CEF: prefix in %q", s)
	}
	rest := s[len("CEF:"):]
	for i := 0; i < 7; i++ {
		var field strings.Builder
		j := 0
		for ; j < len(rest); j++ {
			c := rest[j]
			if c == '\\' && j+1 < len(rest) && (rest[j+1] == '\\' || rest[j+1] == '|') {
				field.WriteByte(rest[j+1])
				j++
				continue
			}
			if c == '\\' {
				return p, fmt.Errorf("header field %d: bad escape in %q", i, rest)
			}
			if c == '|' {
				break
			}
			if c == '\r' || c == '\n' {
				return p, fmt.Errorf("header field %d: line break", i)
			}
			field.WriteByte(c)
		}
		if j >= len(rest) {
			return p, fmt.Errorf("header has %d fields, want 7", i+1)
		}
		p.Header[i] = field.String()
		rest = rest[j+1:]
	}
	ext, err := parseExtension(rest)
	if err != nil {
		return p, err
	}
	p.Ext = map[string]string{}
	for _, kv := range ext {
		if _, dup := p.Ext[kv[0]]; dup {
			return p, fmt.Errorf("key %s twice", kv[0])
		}
		p.Keys = append(p.Keys, kv[0])
		p.Ext[kv[0]] = kv[1]
	}
	return p, nil
}

// parseExtension splits at every unescaped '=': the key is the word before
// it, the previous value ends at the space before that key.
func parseExtension(s string) ([][2]string, error) {
	if s == "" {
		return nil, nil
	}
	if strings.ContainsAny(s, "\r\n\x00") {
		return nil, fmt.Errorf("raw CR, LF or NUL in the extension")
	}
	var eqs []int
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '=':
			eqs = append(eqs, i)
		}
	}
	if len(eqs) == 0 {
		return nil, fmt.Errorf("extension %q has no key", s)
	}
	var out [][2]string
	keyStart := 0
	for n, eq := range eqs {
		key := s[keyStart:eq]
		if !validKey(key) {
			return nil, fmt.Errorf("bad key %q", key)
		}
		end := len(s)
		nextStart := len(s)
		if n+1 < len(eqs) {
			sp := strings.LastIndexByte(s[:eqs[n+1]], ' ')
			if sp <= eq {
				return nil, fmt.Errorf("no space before the key after %q", key)
			}
			end, nextStart = sp, sp+1
		}
		v, err := unescapeValue(s[eq+1 : end])
		if err != nil {
			return nil, fmt.Errorf("key %s: %w", key, err)
		}
		out = append(out, [2]string{key, v})
		keyStart = nextStart
	}
	return out, nil
}

func validKey(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

func unescapeValue(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			b.WriteByte(c)
			continue
		}
		if i+1 == len(s) {
			return "", fmt.Errorf("value ends in a lone backslash")
		}
		i++
		switch s[i] {
		case '\\', '=':
			b.WriteByte(s[i])
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		default:
			return "", fmt.Errorf("undefined escape \\%c", s[i])
		}
	}
	return b.String(), nil
}
