package bayes

import (
	"strconv"
	"strings"
)

// countedFields are the header fields whose number of occurrences, zero
// included, becomes a token ("hdr:received:4", "hdr:in-reply-to:0"):
// fields every mail system writes, so that their count or absence says how
// a message was made and how far it travelled (the idea and most of the
// list are SpamBayes's).
func countedFields() []string {
	return []string{"abuse-reports-to", "cc", "date", "errors-to", "from", "importance",
		"in-reply-to", "message-id", "mime-version", "organization", "received", "references",
		"reply-to", "return-path", "subject", "to", "user-agent", "x-abuse-info",
		"x-complaints-to", "x-face", "x-mailer"}
}

// maxFieldCount caps the counts, so that 11 and 40 Received fields are
// the same token.
const maxFieldCount = 10

// fieldNameTokens adds the tokens for which fields are present: counts of
// countedFields, and "hdr:NAME" for any other field except those of mailing
// lists. List fields are left out because a list passes on spam as readily
// as ham; learning them would only teach that list mail is ham, and spam
// sent through a list would then slip through.
func fieldNameTokens(c *collector, fields []field) {
	names := countedFields()
	counts := make([]int, len(names))
	for _, f := range fields {
		i := indexOf(names, f.name)
		switch {
		case i >= 0:
			counts[i]++
		case !isListField(f.name):
			c.add("hdr:" + f.name)
		}
	}
	for i, name := range names {
		c.add("hdr:" + name + ":" + strconv.Itoa(min(counts[i], maxFieldCount)))
	}
}

func indexOf(names []string, name string) int {
	for i, n := range names {
		if n == name {
			return i
		}
	}
	return -1
}

// isListField recognises the fields mailing list managers (Mailman,
// ezmlm, Majordomo, Listar, ...) and forwarding add.
func isListField(name string) bool {
	switch name {
	case "precedence", "sender", "delivered-to", "mailing-list", "x-loop", "x-list":
		return true
	}
	for _, p := range []string{"list-", "x-mailman", "x-beenthere", "x-original", "x-mailing", "x-ml"} {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}
