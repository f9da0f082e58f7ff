package bayes

import (
	"net/netip"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Word lengths kept as body tokens. Shorter words are mostly function words
// that occur everywhere; longer ones are mostly encodings, hashes and glued
// junk that never recur, so they are only summarised by skipToken.
const (
	minWordRunes = 3
	maxWordRunes = 12
)

// textTokens adds the tokens of decoded body text: words, link hosts and the
// domains of written addresses.
func textTokens(c *collector, text string) {
	for len(text) > 0 && !c.full() {
		start := strings.IndexFunc(text, isNotSpace)
		if start < 0 {
			return
		}
		text = text[start:]
		end := strings.IndexFunc(text, unicode.IsSpace)
		if end < 0 {
			end = len(text)
		}
		fieldTokens(c, text[:end])
		text = text[end:]
	}
}

func isNotSpace(r rune) bool { return !unicode.IsSpace(r) }

// fieldTokens handles one whitespace-delimited field of body text.
func fieldTokens(c *collector, f string) {
	if i := linkStart(f); i >= 0 {
		urlTokens(c, f[i:])
		return
	}
	w := trimPunct(f)
	if w == "" {
		return
	}
	if at := strings.LastIndexByte(w, '@'); at > 0 {
		if dom, ok := hostName(w[at+1:]); ok {
			c.add("email:dom:" + dom)
			return
		}
	}
	if hasCJK(w) {
		cjkTokens(c, w)
		return
	}
	w = strings.ToLower(w)
	n := utf8.RuneCountInString(w)
	switch {
	case n < minWordRunes:
	case n <= maxWordRunes:
		c.add("body:" + w)
	default:
		c.add(skipToken(w, n))
	}
}

// skipToken stands for a long word by its first character and its length
// rounded down to ten: glued spam text ("clickhereforfreemoney") and base64
// debris are told apart by that much, and the model does not fill up with
// strings that occur once.
func skipToken(w string, runes int) string {
	r, _ := utf8.DecodeRuneInString(w)
	return "body:skip:" + string(r) + ":" + strconv.Itoa(runes/10*10)
}

// trimPunct strips punctuation and symbols around a word but keeps "$",
// because "$100" and "100" are different evidence.
func trimPunct(s string) string {
	return strings.TrimFunc(s, func(r rune) bool {
		return r != '$' && (unicode.IsPunct(r) || unicode.IsSymbol(r) || r == utf8.RuneError)
	})
}

// linkStart returns where a link begins in a field of text, or -1.
func linkStart(f string) int {
	lower := asciiLower(f)
	best := -1
	for _, p := range []string{"http://", "https://", "ftp://", "www."} {
		if i := strings.Index(lower, p); i >= 0 && (best < 0 || i < best) {
			best = i
		}
	}
	return best
}

// urlTokens adds the tokens of a link: its host, its parent domain, and
// url:ip for a numeric host, which legitimate senders rarely use, and the
// words of its path ("url:path:unsubscribe", "url:path:cgi-bin"). A link
// whose host cannot be read (percent-encoded, misspelled on purpose) is
// itself evidence and gives url:odd.
func urlTokens(c *collector, link string) {
	s := link
	if i := strings.Index(s, "://"); i >= 0 {
		s = s[i+3:]
	}
	path := ""
	if i := strings.IndexAny(s, "/?#\"'<>(){}\\ \t"); i >= 0 {
		s, path = s[:i], s[i:]
	}
	if i := strings.LastIndexByte(s, '@'); i >= 0 {
		s = s[i+1:]
	}
	urlPathTokens(c, path)
	if strings.HasPrefix(s, "[") {
		c.add("url:ip") // an IPv6 literal
		return
	}
	if h, p, ok := strings.Cut(s, ":"); ok && isDigits(p) {
		s = h
	}
	if a, err := netip.ParseAddr(s); err == nil && a.IsValid() {
		c.add("url:ip")
		return
	}
	host, ok := hostName(s)
	if !ok {
		c.add("url:odd")
		return
	}
	c.add("url:" + host)
	if dom := parentDomain(host); dom != host {
		c.add("url:dom:" + dom)
	}
}

// maxPathWords caps the path words taken from one link.
const maxPathWords = 8

// urlPathTokens adds the words of a link's path and query.
func urlPathTokens(c *collector, path string) {
	words := strings.FieldsFunc(asciiLower(path), func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_')
	})
	for i, w := range words {
		if i >= maxPathWords {
			return
		}
		if len(w) >= 2 && len(w) <= 20 {
			c.add("url:path:" + w)
		}
	}
}

// hostName returns s as a lower-case DNS name when it looks like one: at
// least two labels of letters, digits and hyphens.
func hostName(s string) (string, bool) {
	s = strings.ToLower(strings.TrimRight(trimPunct(s), "."))
	if len(s) < 3 || len(s) > 253 || !strings.Contains(s, ".") {
		return "", false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 {
			return "", false
		}
		for i := 0; i < len(label); i++ {
			b := label[i]
			if !(b >= 'a' && b <= 'z' || b >= '0' && b <= '9' || b == '-' || b == '_') {
				return "", false
			}
		}
	}
	return s, true
}

// parentDomain returns the last two labels of a host name. Without a public
// suffix list this is wrong for names like example.co.uk, but it is stable,
// and a stable key is all the classifier needs.
func parentDomain(host string) string {
	i := strings.LastIndexByte(host, '.')
	if i <= 0 {
		return host
	}
	if j := strings.LastIndexByte(host[:i], '.'); j >= 0 {
		return host[j+1:]
	}
	return host
}

// asciiLower lower-cases ASCII letters only, so that byte offsets in the
// result are valid in s (strings.ToLower may change the length of s).
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
