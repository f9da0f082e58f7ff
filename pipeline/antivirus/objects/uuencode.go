package objects

import (
	"bytes"
	"strings"
)

// uuBlock is the content of one "begin <mode> <name>" ... "end" block.
type uuBlock struct {
	data   []byte
	broken string // why decoding stopped early, if it did
}

// hasUU says whether text holds the start of a uuencoded block.
func hasUU(text []byte) bool {
	rest := text
	for len(rest) > 0 {
		line, next := cutLine(rest)
		if _, ok := uuBegin(line); ok {
			return true
		}
		rest = next
	}
	return false
}

// uudecode hands over each uuencoded block of a text as a member of it.
// Old mailers still send attachments this way, inline in the body.
func (w *walker) uudecode(parent *Object, sep string) error {
	rest := parent.Data
	for len(rest) > 0 {
		var line []byte
		line, rest = cutLine(rest)
		name, ok := uuBegin(line)
		if !ok {
			continue
		}
		b, after, ok := decodeUU(rest)
		if !ok {
			continue
		}
		rest = after
		o := &Object{Path: parent.Path + sep + name, Part: parent.Part, Name: name, Depth: parent.Depth + 1}
		if err := w.admit(o); err != nil {
			return err
		}
		if b.broken != "" {
			o.flag(StatusCorrupted, "uuencode: "+b.broken)
		}
		spent := w.take(o, bytes.NewReader(b.data), int64(len(b.data)), 0)
		if err := w.deliver(o, spent, false, true); err != nil {
			return err
		}
	}
	return nil
}

func cutLine(b []byte) (line, rest []byte) {
	line, rest, _ = bytes.Cut(b, []byte("\n"))
	return bytes.TrimRight(line, "\r"), rest
}

// uuBegin recognises "begin 644 name".
func uuBegin(line []byte) (string, bool) {
	fields := strings.SplitN(string(line), " ", 3)
	if len(fields) < 2 || fields[0] != "begin" || len(fields[1]) < 3 || len(fields[1]) > 4 {
		return "", false
	}
	for _, c := range fields[1] {
		if c < '0' || c > '7' {
			return "", false
		}
	}
	name := ""
	if len(fields) == 3 {
		name = strings.TrimSpace(fields[2])
	}
	if name == "" {
		name = "uuencoded"
	}
	return name, true
}

// decodeUU decodes the lines after a begin line up to "end", leniently:
// transports strip trailing spaces, which encode zero bits. ok is false
// when not even the first line is uuencoded: "begin 100 metres" in prose.
func decodeUU(text []byte) (b uuBlock, rest []byte, ok bool) {
	rest = text
	for first := true; len(rest) > 0; first = false {
		var line []byte
		line, rest = cutLine(rest)
		if string(line) == "end" {
			return b, rest, true
		}
		if len(line) == 0 && !first {
			// A zero-length line whose length character was stripped.
			continue
		}
		out, valid := uuLine(line)
		if !valid {
			if first {
				return uuBlock{}, text, false
			}
			b.broken = "line not uuencoded"
			return b, rest, true
		}
		b.data = append(b.data, out...)
	}
	b.broken = "no end line"
	return b, rest, true
}

// uuLine decodes one line: a length character, then four characters for
// every three bytes.
func uuLine(line []byte) ([]byte, bool) {
	if len(line) == 0 {
		return nil, false
	}
	n := int(line[0]-' ') & 63
	chars := line[1:]
	if line[0] < ' ' || line[0] > '`' || len(chars) > 4*((n+2)/3)+2 {
		return nil, false
	}
	var quad [4]byte
	out := make([]byte, 0, 3*((n+2)/3))
	for i := 0; len(out) < n; i += 4 {
		for j := range quad {
			quad[j] = 0
			if i+j < len(chars) {
				c := chars[i+j]
				if c < ' ' || c > '`' {
					return nil, false
				}
				quad[j] = (c - ' ') & 63
			}
		}
		out = append(out, quad[0]<<2|quad[1]>>4, quad[1]<<4|quad[2]>>2, quad[2]<<6|quad[3])
	}
	return out[:n], true
}
