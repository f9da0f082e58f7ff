package urls

import "strings"

// maxReadings bounds the readings of spaced dots: a host followed by a
// sentence yields one or two, and a chain of " . com" must not cost more.
const maxReadings = 4

// spelling is one reading of a host as matched, defanged dots made dots.
type spelling struct {
	name     string
	defanged bool // a defanged dot was read as a dot
}

// undot reads the defanged dots of a matched host ("[.]", "(dot)", " . ").
//
// A dot with spaces around it also ends sentences, and people set one off
// after a link to keep it out of the link ("see http://example.com . It
// works"). So where spaced dots occur, the readings are the part before the
// first one and each longer part that ends in a TLD ICANN delegates: picking
// a single one would either lose the real host or let a sender hide it by
// writing " . It" after it.
func undot(raw string) []spelling {
	if !strings.ContainsAny(raw, "[({ \t") {
		return []spelling{{name: raw}} // every defanged dot holds one of these
	}
	locs := defangRe.FindAllStringIndex(raw, -1)
	if locs == nil {
		return []spelling{{name: raw}}
	}
	var b strings.Builder
	b.Grow(len(raw))
	firstDot := -1
	var spaced []int // where the dots written as " . " landed
	prev := 0
	for _, loc := range locs {
		b.WriteString(raw[prev:loc[0]])
		if firstDot < 0 {
			firstDot = b.Len()
		}
		if strings.TrimSpace(raw[loc[0]:loc[1]]) == "." {
			spaced = append(spaced, b.Len())
		}
		b.WriteByte('.')
		prev = loc[1]
	}
	b.WriteString(raw[prev:])
	s := b.String()
	if len(spaced) == 0 {
		return []spelling{{name: s, defanged: true}}
	}
	out := []spelling{{name: s[:spaced[0]], defanged: firstDot < spaced[0]}}
	for _, end := range append(spaced[1:], len(s)) {
		if len(out) == maxReadings {
			break
		}
		if knownSuffix(strings.ToLower(s[:end])) {
			out = append(out, spelling{name: s[:end], defanged: true})
		}
	}
	return out
}
