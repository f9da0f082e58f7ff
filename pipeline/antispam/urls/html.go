package urls

import (
	"strings"

	"golang.org/x/net/html"
)

// FromHTML finds the hosts an HTML part links to or loads (a/href,
// area/href, form/action, img/src and similar attributes) and those written
// in its text, which goes through the same scan as FromText. Entities are
// decoded first, so "&#x68;ttp://" is a link like any other. mismatches
// lists the links whose text names a different site than their href.
func FromHTML(doc string, lim Limits) (hosts []Host, mismatches []Mismatch) {
	lim = lim.withDefaults()
	c := newCollector(lim.MaxHosts)
	seen := make(map[Mismatch]bool)
	var text strings.Builder
	var open *anchor
	closeAnchor := func() {
		if open == nil {
			return
		}
		if m, ok := open.mismatch(); ok && !seen[m] && len(mismatches) < lim.MaxHosts {
			seen[m] = true
			mismatches = append(mismatches, m)
		}
		open = nil
	}
	// The tokenizer rather than the tree parser: it streams, so memory stays
	// proportional to the text kept, and no nesting depth is built.
	z := html.NewTokenizer(strings.NewReader(clip(doc, lim.MaxBytes)))
	for {
		switch z.Next() {
		case html.ErrorToken:
			closeAnchor()
			c.scanText(text.String())
			return c.hosts, mismatches
		case html.TextToken:
			t := z.Text()
			text.Write(t)
			if open != nil {
				open.text.Write(t)
			}
		case html.StartTagToken, html.SelfClosingTagToken:
			name, hasAttr := z.TagName()
			tag := string(name)
			if tag == "a" {
				closeAnchor() // an <a> inside an <a> closes the first
			}
			if !inline(tag) {
				text.WriteByte('\n')
				if open != nil {
					open.text.WriteByte('\n')
				}
			}
			for hasAttr {
				var key, val []byte
				key, val, hasAttr = z.TagAttr()
				via := attrVia(string(key))
				if via == "" {
					continue
				}
				c.addAttr(string(val), via)
				if tag == "a" && string(key) == "href" {
					open = newAnchor(string(val))
				}
			}
		case html.EndTagToken:
			name, _ := z.TagName()
			tag := string(name)
			if tag == "a" {
				closeAnchor()
			}
			if !inline(tag) {
				text.WriteByte('\n')
				if open != nil {
					open.text.WriteByte('\n')
				}
			}
		}
	}
}

// addAttr adds the host of a URL-valued attribute and those it carries.
func (c *collector) addAttr(val, via string) {
	if l, ok := attrLink(val); ok {
		c.addLink(l, via, 0)
	}
}
