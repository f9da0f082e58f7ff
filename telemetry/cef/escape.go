package cef

import (
	"unicode/utf8"
)

// TruncationMarker ends a value that was cut to its key's length limit, so
// a reader of the record knows the value went on.
const TruncationMarker = "...[truncated]"

// appendHeader writes a header field: backslash and pipe are escaped (CEF
// spec); a header cannot span lines, so line breaks become spaces.
func appendHeader(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\', '|':
			dst = append(dst, '\\', c)
		case '\r', '\n':
			dst = append(dst, ' ')
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

// appendValue writes an extension value: cut to max UTF-16 code units (the
// unit ArcSight's limits are counted in; 0 means no limit) with the
// truncation marker, then escaped. Bytes that cannot travel are replaced by
// U+FFFD: invalid UTF-8, and NUL, which ends the value in every C-string
// based receiver (syslog-ng's kv-parser drops the rest of the record).
func appendValue(dst []byte, s string, max int) []byte {
	if max > 0 && len(s) > max || !plain(s) {
		s = fit(s, max)
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			dst = append(dst, '\\', '\\')
		case '=':
			dst = append(dst, '\\', '=')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\n':
			dst = append(dst, '\\', 'n')
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

// plain reports whether s is ASCII without NUL: the common case, which
// needs no rune-level work.
func plain(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == 0 || c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// fit replaces what cannot travel and cuts s to max code units.
func fit(s string, max int) string {
	out := make([]byte, 0, len(s)+len(TruncationMarker))
	room := max - len(TruncationMarker) // the marker is ASCII: one unit per byte
	units, keep := 0, 0                 // keep: bytes of out that leave room for the marker
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		if r == 0 {
			r = utf8.RuneError
		}
		u := 1
		if r > 0xFFFF {
			u = 2 // a surrogate pair in UTF-16
		}
		if max > 0 {
			if units+u > max {
				return string(out[:keep]) + TruncationMarker
			}
			if units+u <= room {
				keep = len(out) + utf8.RuneLen(r)
			}
		}
		units += u
		out = utf8.AppendRune(out, r)
	}
	return string(out)
}
