package urls

import (
	"iter"
	"regexp"
	"strings"
)

// link is a URL or bare host as matched, before its host is checked.
type link struct {
	scheme string // as written, separator included; "" for a bare host
	host   string // as written: defanged dots, escapes and Unicode included
	rest   string // path, query and fragment as written; "" when absent
}

// links yields the links written in s, left to right. It matches one
// stretch at a time instead of collecting all matches, so that a text full
// of dotted words does not hold a slice per word.
func links(s string) iter.Seq[link] {
	return func(yield func(link) bool) {
		w := windower{s: s}
		for {
			start, end, ok := w.next()
			if !ok {
				return
			}
			m := textLinkRe.FindStringSubmatchIndex(s[start:end])
			if m == nil {
				w.pos = end
				continue
			}
			if !yield(linkAt(s[start:end], m)) {
				return
			}
			w.pos = start + m[1]
		}
	}
}

// attrLink reads an attribute value as a browser would: tabs and line
// breaks inside are dropped, and "//host" takes the page's scheme.
func attrLink(v string) (link, bool) {
	v = strings.TrimFunc(v, func(r rune) bool { return r <= ' ' })
	v = strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || r == '\r' {
			return -1
		}
		return r
	}, v)
	if strings.HasPrefix(v, "//") || strings.HasPrefix(v, `\\`) {
		v = "http:" + v
	}
	m := attrLinkRe.FindStringSubmatchIndex(v)
	if m == nil {
		return link{}, false
	}
	return linkAt(v, m), true
}

func linkAt(s string, m []int) link {
	group := func(i int) string {
		if m[2*i] < 0 {
			return ""
		}
		return s[m[2*i]:m[2*i+1]]
	}
	if m[2] >= 0 {
		return link{scheme: group(1), host: group(2), rest: group(3)}
	}
	return link{host: group(4), rest: group(5)}
}

// plainSchemeRe tells a real scheme from a defanged one.
var plainSchemeRe = regexp.MustCompile(`(?i)^(?:https?|ftp):`)

// hosts yields the usable hosts the link names, each with whether it was
// written defanged: one host, or one per reading of spaced dots.
func (l link) hosts(bareOK bool) iter.Seq2[Host, bool] {
	return func(yield func(Host, bool) bool) {
		if len(l.host) > maxRawHost {
			return
		}
		defangedScheme := l.scheme != "" && !plainSchemeRe.MatchString(l.scheme)
		for _, sp := range undot(l.host) {
			h, ok := parseHost(sp.name)
			if !ok || !l.plausible(h, sp.defanged, bareOK) {
				continue
			}
			if !yield(h, sp.defanged || defangedScheme) {
				return
			}
		}
	}
}

// plausible holds bare hosts to more evidence than URLs, because prose is
// full of dotted words: a "www." prefix, or a suffix that ICANN delegates
// together with a path or a defanged dot. bareOK waives the path where the
// context already says a host is meant (a link's text).
func (l link) plausible(h Host, defanged, bareOK bool) bool {
	switch {
	case l.scheme != "":
		return true
	case h.IP.IsValid():
		return false
	case strings.HasPrefix(h.Name, "www.") && strings.Count(h.Name, ".") >= 2:
		return true
	}
	return (bareOK || l.rest != "" || defanged) && knownSuffix(h.Name)
}
