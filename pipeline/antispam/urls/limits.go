package urls

import "unicode/utf8"

// Limits bounds the work one call does; a zero field takes its default.
type Limits struct {
	MaxHosts int // distinct hosts returned; default 200
	MaxBytes int // input scanned, from its start; default 1 MiB
}

const (
	defaultMaxHosts = 200
	defaultMaxBytes = 1 << 20
)

// withDefaults also replaces negative values: a caller that computed a
// limit wrongly should get a bounded scan, not an empty or unbounded one.
func (l Limits) withDefaults() Limits {
	if l.MaxHosts <= 0 {
		l.MaxHosts = defaultMaxHosts
	}
	if l.MaxBytes <= 0 {
		l.MaxBytes = defaultMaxBytes
	}
	return l
}

// clip cuts s to at most n bytes, backing off to a rune boundary so that the
// tail does not turn into a replacement character that could join a label.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
