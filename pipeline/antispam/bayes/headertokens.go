package bayes

import (
	"mime"
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/emersion/go-message/charset"
)

// Limits on the repeated parts of a header that are turned into tokens: the
// first hops and recipients say as much as all of them.
const (
	maxReceived    = 10
	maxAddresses   = 20
	maxHeaderWords = 40
)

// headerTokens adds the tokens of the header fields.
func headerTokens(c *collector, fields []field) {
	fieldNameTokens(c, fields)
	received := 0
	seenAddr := map[string]bool{}
	for _, f := range fields {
		switch f.name {
		case "subject":
			subjectTokens(c, decodeWords(f.value))
		case "from", "to", "cc", "reply-to":
			// Only the first field of each name: a second From is rare and
			// repeated To fields add nothing new.
			if !seenAddr[f.name] {
				seenAddr[f.name] = true
				addressTokens(c, f.name, f.value)
			}
		case "received":
			if received < maxReceived {
				received++
				receivedTokens(c, f.value)
			}
		case "x-mailer", "user-agent":
			valueWords(c, "x-mailer:", decodeWords(f.value))
		}
	}
	if id, ok := firstValue(fields, "message-id"); ok {
		messageIDTokens(c, id)
	} else {
		c.add("msgid:none")
	}
	if !seenAddr["from"] {
		c.add("from:none")
	}
}

// decodeWords decodes RFC 2047 encoded words with every charset go-message
// knows; undecodable text is used as it is.
func decodeWords(s string) string {
	d := mime.WordDecoder{CharsetReader: charset.Reader}
	if out, err := d.DecodeHeader(s); err == nil {
		return out
	}
	return s
}

// subjectTokens keeps the case of Subject words: "FREE" in a subject is
// stronger evidence than "free". Runs of punctuation ("!!!", "$$$") are
// tokens of their own.
func subjectTokens(c *collector, s string) {
	words := 0
	for len(s) > 0 && words < maxHeaderWords {
		r, size := utf8.DecodeRuneInString(s)
		switch {
		case unicode.IsSpace(r):
			s = s[size:]
		case isWordRune(r):
			end := strings.IndexFunc(s, func(r rune) bool { return !isWordRune(r) })
			if end < 0 {
				end = len(s)
			}
			if w := strings.Trim(s[:end], ".'"); w != "" && utf8.RuneCountInString(w) <= 20 {
				c.add("subject:" + w)
			}
			s = s[end:]
			words++
		default:
			end := strings.IndexFunc(s, func(r rune) bool { return unicode.IsSpace(r) || isWordRune(r) })
			if end < 0 {
				end = len(s)
			}
			if utf8.RuneCountInString(s[:end]) >= 2 {
				c.add("subject:" + s[:end])
			}
			s = s[end:]
			words++
		}
	}
}

// isWordRune says what a subject word is made of; "$", "%" and inner dots
// and apostrophes belong to the word ("$99", "50%", "v2.1", "don't").
func isWordRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || r == '$' || r == '%' || r == '.' || r == '\''
}

// valueWords adds the lower-case words of a header value under prefix.
func valueWords(c *collector, prefix, v string) {
	words := 0
	for _, w := range strings.FieldsFunc(strings.ToLower(v), func(r rune) bool {
		return unicode.IsSpace(r) || strings.ContainsRune("()[]<>;,\"/", r)
	}) {
		if words >= maxHeaderWords {
			return
		}
		words++
		if utf8.RuneCountInString(w) <= 30 {
			c.add(prefix + w)
		}
	}
}

// addressTokens adds the display-name words and the domain of each address
// in an address field; prefix is the field name.
func addressTokens(c *collector, prefix, v string) {
	p := mail.AddressParser{WordDecoder: &mime.WordDecoder{CharsetReader: charset.Reader}}
	list, err := p.ParseList(v)
	if err != nil {
		// Spam headers are often not valid RFC 5322; the words and any
		// addresses in them are still worth having.
		looseAddressTokens(c, prefix, decodeWords(v))
		return
	}
	if len(list) > maxAddresses {
		list = list[:maxAddresses]
	}
	for _, a := range list {
		if a.Name == "" {
			c.add(prefix + ":noname")
		} else {
			valueWords(c, prefix+":name:", a.Name)
		}
		if at := strings.LastIndexByte(a.Address, '@'); at >= 0 {
			if dom, ok := hostName(a.Address[at+1:]); ok {
				c.add(prefix + ":dom:" + dom)
				continue
			}
		}
		c.add(prefix + ":baddom")
	}
}

// looseAddressTokens reads an address field that did not parse: words with
// "@" are addresses, the rest is name.
func looseAddressTokens(c *collector, prefix, v string) {
	c.add(prefix + ":malformed")
	for i, w := range strings.Fields(v) {
		if i >= maxHeaderWords {
			return
		}
		if at := strings.LastIndexByte(w, '@'); at >= 0 {
			if dom, ok := hostName(strings.Trim(w[at+1:], "<>\"',;")); ok {
				c.add(prefix + ":dom:" + dom)
			}
			continue
		}
		if w = strings.ToLower(trimPunct(w)); w != "" && utf8.RuneCountInString(w) <= 30 {
			c.add(prefix + ":name:" + w)
		}
	}
}

// receivedTokens adds the domains of the host names in the "from" part of a
// Received field (the name the client gave and the one its address resolved
// to): where a message entered the mail system is good evidence. Only the
// parent domain is used: the host names of one provider are many and say
// the same thing, and each would count as evidence of its own.
func receivedTokens(c *collector, v string) {
	v = strings.ToLower(v)
	if !strings.HasPrefix(v, "from ") {
		return
	}
	v = v[len("from "):]
	if i := strings.Index(v, " by "); i >= 0 {
		v = v[:i]
	}
	for _, w := range strings.FieldsFunc(v, func(r rune) bool {
		return unicode.IsSpace(r) || strings.ContainsRune("()[]@=;,", r)
	}) {
		host, ok := hostName(w)
		if !ok || isNumericName(host) || host == "localhost.localdomain" {
			continue
		}
		c.add("received:" + parentDomain(host))
	}
}

// isNumericName reports a dotted name made only of digits: an IPv4 address,
// which is not a host name.
func isNumericName(s string) bool {
	return strings.Trim(s, "0123456789.") == ""
}

// messageIDTokens adds the domain of a Message-ID, which bulk mailers forge
// in recognisable ways or leave out.
func messageIDTokens(c *collector, v string) {
	v = strings.TrimSpace(v)
	if i := strings.IndexByte(v, '<'); i >= 0 {
		v = v[i+1:]
		if j := strings.IndexByte(v, '>'); j >= 0 {
			v = v[:j]
		}
	}
	at := strings.LastIndexByte(v, '@')
	if at < 0 {
		c.add("msgid:nodomain")
		return
	}
	dom := strings.ToLower(v[at+1:])
	switch {
	case isNumericName(dom):
		c.add("msgid:numeric")
	case dom == "":
		c.add("msgid:nodomain")
	default:
		if h, ok := hostName(dom); ok {
			c.add("msgid:dom:" + h)
		} else {
			c.add("msgid:baddom")
		}
	}
}
