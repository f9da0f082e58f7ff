package urls

import "unicode/utf8"

// Every link the patterns match holds a trigger: a scheme's ":/", a dot
// between two label characters, a defanged dot. Running the patterns only
// from the word before each trigger skips ordinary prose at the speed of a
// byte loop instead of stepping a regexp automaton through every byte.

// nextTrigger returns the index of the first trigger at or after pos and
// whether it is one that may follow a space ("evil . com", "evil [.] com"),
// so that the word before the space belongs to the link; -1 if none.
func nextTrigger(s string, pos int) (int, bool) {
	for i := pos; i < len(s); i++ {
		switch c := s[i]; c {
		case '.':
			if i+1 < len(s) && labelStart(s[i+1]) {
				return i, false
			}
			if i > 0 && i+1 < len(s) && isBlank(s[i-1]) && isBlank(s[i+1]) {
				return i, true
			}
		case ':':
			if i+1 < len(s) && (s[i+1] == '/' || s[i+1] == '\\') {
				return i, false
			}
		case '[', '(', '{':
			if i+1 < len(s) && (s[i+1] == '.' || s[i+1] == ':' || s[i+1]|0x20 == 'd') {
				return i, true
			}
		case 0xE3, 0xEF:
			// The ideographic and full-width dots: U+3002, U+FF0E, U+FF61.
			if r, _ := utf8.DecodeRuneInString(s[i:]); r == '\u3002' || r == '\uFF0E' || r == '\uFF61' {
				return i, false
			}
		}
	}
	return -1, false
}

// labelStart reports bytes that can begin a label; every non-ASCII byte
// counts, since it may start a letter of an IDN.
func labelStart(c byte) bool {
	return 'a' <= c|0x20 && c|0x20 <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '%' || c >= 0x80
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' }

// isSpace is the regexp \s: where a link written in text ends.
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'
}
