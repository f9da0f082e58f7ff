package bayes

import "unicode"

// Chinese, Japanese and Korean text has no spaces between words, so a whole
// sentence would be one "word" and end up as one useless skip token. Pairs
// of adjacent characters are the usual substitute for words in these
// scripts: most words are one or two characters long, and a pair that
// straddles two words is still a stable feature of the text.

// isCJK reports a character of the scripts written without spaces.
func isCJK(r rune) bool {
	return unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul)
}

func hasCJK(s string) bool {
	for _, r := range s {
		if isCJK(r) {
			return true
		}
	}
	return false
}

// cjkTokens adds the pairs of adjacent CJK characters of s.
func cjkTokens(c *collector, s string) {
	var prev rune
	for _, r := range s {
		if !isCJK(r) {
			prev = 0
			continue
		}
		if prev != 0 {
			c.add("body:" + string(prev) + string(r))
		}
		prev = r
	}
}
