package urls

import "strings"

// Mismatch is a link whose visible text names one host while its href leads
// to another, the shape of most phishing links.
type Mismatch struct {
	Shown  string // host named by the link's text
	Target string // host of the href
}

// maxAnchorTargets bounds the hosts one href is resolved to when its text is
// compared, the href's own and those it carries.
const maxAnchorTargets = 16

// anchor is an open <a>: where it leads and the text shown so far.
type anchor struct {
	targets []Host
	text    strings.Builder
}

// newAnchor resolves where href leads. The hosts it carries count as targets
// too: a click tracker that ends on the site the text names is not a
// mismatch.
func newAnchor(href string) *anchor {
	l, ok := attrLink(href)
	if !ok {
		return nil
	}
	c := newCollector(maxAnchorTargets)
	if !c.addLink(l, viaHref, 0) {
		return nil
	}
	return &anchor{targets: c.hosts}
}

// mismatch compares registrable domains, not names, so that text reading
// "example.com" over a link to www.example.com is not reported.
func (a *anchor) mismatch() (Mismatch, bool) {
	shown, ok := shownHost(a.text.String())
	if !ok {
		return Mismatch{}, false
	}
	for _, t := range a.targets {
		if site(t) == site(shown) {
			return Mismatch{}, false
		}
	}
	return Mismatch{Shown: shown.Name, Target: a.targets[0].Name}, true
}

// shownHost is the first host a link's text names. A bare domain counts
// without a path here: text inside a link that reads like a domain is meant
// as one.
func shownHost(text string) (Host, bool) {
	for l := range links(text) {
		for h := range l.hosts(true) {
			return h, true
		}
	}
	return Host{}, false
}

func site(h Host) string {
	if h.Domain != "" {
		return h.Domain
	}
	return h.Name
}
