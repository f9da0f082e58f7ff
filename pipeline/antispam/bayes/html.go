package bayes

import (
	"bytes"
	"strings"

	"golang.org/x/net/html"
)

// htmlTokens adds the tokens of an HTML part: the words a reader sees and
// the hosts of its links and images. Script and style content is not text
// for the reader, so it is skipped.
func htmlTokens(c *collector, data []byte) {
	z := html.NewTokenizer(bytes.NewReader(data))
	var text strings.Builder
	hidden := false
	for !c.full() {
		switch z.Next() {
		case html.ErrorToken:
			// io.EOF or a malformed document; either way the text so far
			// is what there is.
			textTokens(c, text.String())
			return
		case html.TextToken:
			if !hidden {
				text.Write(z.Text())
			}
		case html.StartTagToken, html.SelfClosingTagToken:
			name, more := z.TagName()
			tag := string(name)
			if tag == "script" || tag == "style" {
				hidden = true
			}
			if breaksWords(tag) {
				text.WriteByte(' ')
			}
			for more {
				var key, val []byte
				key, val, more = z.TagAttr()
				switch string(key) {
				case "href", "src", "action", "background":
					linkTokens(c, string(val))
				}
			}
		case html.EndTagToken:
			name, _ := z.TagName()
			tag := string(name)
			if tag == "script" || tag == "style" {
				hidden = false
			}
			if breaksWords(tag) {
				text.WriteByte(' ')
			}
		}
	}
	textTokens(c, text.String())
}

// breaksWords reports tags that separate words on screen. Inline tags and
// comments do not: spammers split words with them ("V<b></b>IAGRA",
// "FR<!-- x -->EE") and gluing the text back undoes that.
func breaksWords(tag string) bool {
	switch tag {
	case "br", "p", "div", "td", "th", "tr", "li", "ul", "ol", "table", "hr",
		"h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "title", "body", "head", "img":
		return true
	}
	return false
}

// linkTokens adds the tokens of a link attribute: absolute links give host
// tokens, mailto links the address's domain; relative links say nothing.
func linkTokens(c *collector, v string) {
	v = strings.TrimSpace(v)
	lower := strings.ToLower(v)
	switch {
	case strings.HasPrefix(lower, "mailto:"):
		if at := strings.LastIndexByte(v, '@'); at >= 0 {
			addr := v[at+1:]
			if i := strings.IndexByte(addr, '?'); i >= 0 {
				addr = addr[:i]
			}
			if dom, ok := hostName(addr); ok {
				c.add("email:dom:" + dom)
			}
		}
	case linkStart(v) == 0:
		urlTokens(c, v)
	}
}
