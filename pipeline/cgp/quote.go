package cgp

import (
	"errors"
	"strings"
	"unicode/utf8"
)

// maxResponseLine is CGP's limit on one helper response line, line end
// included; CGP documents 4096 bytes and a longer line is not read whole.
const maxResponseLine = 4096

// isAtom reports whether s may go on the wire without quotes. CGP's string
// syntax allows more unquoted characters, but letters and digits are the
// set every CGP version reads the same way.
func isAtom(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// cleanText makes a one-line human text out of s: CGP puts REJECTED and
// ERROR texts into logs and bounces, where a control character (a line
// break above all) would forge a log line or a protocol line.
func cleanText(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	var b strings.Builder
	space := false
	for _, r := range s {
		if r < 0x20 || r == 0x7f || r == ' ' || r == '\u0085' || r == '\u2028' || r == '\u2029' {
			space = b.Len() > 0
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r)
	}
	return b.String()
}

// escapeRune appends r in CGP quoted-string form. A line break becomes \e,
// CGP's "end of line" escape, so a multi-line value never breaks the
// response line; the other controls cannot be sent and become spaces.
func escapeRune(b []byte, r rune) []byte {
	switch {
	case r == '"':
		return append(b, '\\', '"')
	case r == '\\':
		return append(b, '\\', '\\')
	case r == '\n':
		return append(b, '\\', 'e')
	case r == '\t':
		return append(b, '\\', 't')
	case r < 0x20 || r == 0x7f:
		return append(b, ' ')
	}
	return utf8.AppendRune(b, r)
}

// quote encodes s as a CGP quoted string.
func quote(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	b := make([]byte, 0, len(s)+2)
	b = append(b, '"')
	for _, r := range s {
		b = escapeRune(b, r)
	}
	return string(append(b, '"'))
}

// textArg encodes a one-line text as an atom or a quoted string of at most
// budget bytes, cutting it (with "...") rather than overflowing the line.
func textArg(s string, budget int) string {
	s = cleanText(s)
	if isAtom(s) && len(s) <= budget {
		return s
	}
	if q := quote(s); len(q) <= budget {
		return q
	}
	const more = "..."
	b := []byte{'"'}
	for _, r := range s {
		next := escapeRune(nil, r)
		if len(b)+len(next)+len(more)+1 > budget {
			break
		}
		b = append(b, next...)
	}
	b = append(b, more...)
	return string(append(b, '"'))
}

var errBadQuoted = errors.New("malformed quoted string")

// unquote decodes a CGP quoted string at the start of s and returns the
// rest of s after the closing quote. It accepts the escapes CGP writes:
// \" \\ \e (line break) \r \n \t and \ddd (a decimal byte code).
func unquote(s string) (string, string, error) {
	if s == "" || s[0] != '"' {
		return "", s, errBadQuoted
	}
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch c {
		case '"':
			return b.String(), s[i+1:], nil
		case '\\':
			i++
			if i >= len(s) {
				return "", s, errBadQuoted
			}
			switch e := s[i]; e {
			case '"', '\\':
				b.WriteByte(e)
			case 'e', 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			case 't':
				b.WriteByte('\t')
			default:
				if i+2 >= len(s) || !isDigit(e) || !isDigit(s[i+1]) || !isDigit(s[i+2]) {
					return "", s, errBadQuoted
				}
				n := int(e-'0')*100 + int(s[i+1]-'0')*10 + int(s[i+2]-'0')
				if n > 255 {
					return "", s, errBadQuoted
				}
				b.WriteByte(byte(n))
				i += 2
			}
		default:
			b.WriteByte(c)
		}
	}
	return "", s, errBadQuoted
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
