package urls

import "strings"

// maxRedirectDepth is how many URLs deep carried URLs are followed: a
// redirector inside a redirector inside a redirector is as far as real mail
// goes, and each level rescans and decodes what it carries.
const maxRedirectDepth = 3

// maxUnescape is how many times a piece is percent-decoded looking for a
// URL; trackers encode their target twice, rarely more.
const maxUnescape = 3

// carried adds the hosts of URLs that rest, the path, query and fragment of
// a URL at depth-1, carries: "?url=http%3A%2F%2Fevil.test",
// "/url?q=http://evil.test", "/go/https://evil.test/".
//
// Each query parameter is searched on its own, so that sibling parameters
// count as one level however many there are. A piece is decoded only until
// a host turns up, so an encoded URL's own parameters stay encoded and are
// searched, one level down, when that URL's rest is.
func (c *collector) carried(rest string, depth int) {
	if rest == "" || depth > maxRedirectDepth {
		return
	}
	for piece := range strings.FieldsFuncSeq(rest, isParamBreak) {
		for range maxUnescape + 1 {
			if c.full() {
				return
			}
			if c.carriedIn(piece, depth) {
				break
			}
			dec := unescape(piece)
			if dec == piece {
				break
			}
			piece = dec
		}
	}
}

// carriedIn adds the hosts of the links in piece and reports whether there
// were any. A piece decoded again after finding none has had nothing
// followed yet, which keeps each level to one pass over what it carries.
func (c *collector) carriedIn(piece string, depth int) bool {
	found := false
	for l := range links(piece) {
		if c.full() {
			return found
		}
		if c.addLink(l, viaRedirect, depth) {
			found = true
		}
	}
	return found
}

func isParamBreak(r rune) bool {
	return r == '?' || r == '&' || r == ';' || r == '#'
}

// unescape decodes the well-formed percent escapes of s and leaves the rest
// alone, as redirectors do with sloppy input.
func unescape(s string) string {
	i := strings.IndexByte(s, '%')
	if i < 0 {
		return s
	}
	b := make([]byte, 0, len(s))
	b = append(b, s[:i]...)
	for ; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			b = append(b, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
			continue
		}
		b = append(b, s[i])
	}
	return string(b)
}
