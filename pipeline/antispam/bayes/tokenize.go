package bayes

// Bounds that make the cost of Tokenize independent of what a sender puts in
// a message. Classification only ever uses the strongest maxDiscriminators
// tokens, and real mail has far fewer distinct tokens than maxTokens, so the
// bounds cut off only abuse.
const (
	// maxTokens caps the distinct tokens of one message.
	maxTokens = 4000
	// maxBodyBytes caps the decoded body text read over all text parts.
	maxBodyBytes = 512 << 10
	// maxHeaderBytes caps the header block that is looked at.
	maxHeaderBytes = 128 << 10
	// maxHeaderFields caps the header fields that are looked at.
	maxHeaderFields = 500
	// maxParts caps the MIME parts visited; it also caps the nesting depth,
	// since every level is one more part.
	maxParts = 100
	// maxTokenBytes drops pathological tokens (a 10 kB "host name"), which
	// would never recur and only cost memory in the model.
	maxTokenBytes = 80
)

// Tokenize returns the distinct tokens of msg, a message as received (header,
// blank line, body), each prefixed by where it was found:
//
//	hdr:NAME:N           N fields of a common name (Received, Date, ...), 0 included
//	hdr:NAME             a field of another name is present (mailing list fields excepted)
//	subject:WORD         a word (case kept) or punctuation run of the Subject
//	from:, to:, cc:, reply-to:
//	                     name:WORD of the display name, dom:DOMAIN of the address
//	received:DOMAIN      the domain of a host in the "from" part of a Received field
//	msgid:dom:DOMAIN     the Message-ID's domain (msgid:none when there is none)
//	x-mailer:WORD        a word of X-Mailer or User-Agent
//	ct:, part:           media types, charsets, encodings and file name extensions
//	body:WORD            a word of a text/plain or text/html part, lower case
//	body:skip:C:N        a word too long to be useful: first character, length/10
//	                     (Chinese, Japanese and Korean text gives pairs of characters instead)
//	url:HOST, url:dom:D  the host and parent domain of a link in a body (url:ip, url:odd
//	                     for numeric and unreadable hosts), url:path:WORD words of its path
//	email:dom:DOMAIN     the domain of an address written in a body
//
// At most maxTokens tokens are returned and at most maxBodyBytes of decoded
// body text are read, so the cost is bounded whatever the size of msg.
// Malformed input yields whatever tokens could be found; Tokenize never
// fails and never panics.
func Tokenize(msg []byte) []string {
	c := newCollector(maxTokens)
	hdr, body := splitMessage(msg)
	fields := parseHeader(hdr)
	headerTokens(c, fields)
	bodyTokens(c, fields, body)
	return c.tokens
}

// collector accumulates distinct tokens up to a limit.
type collector struct {
	seen   map[string]struct{}
	tokens []string
	limit  int
}

func newCollector(limit int) *collector {
	return &collector{seen: make(map[string]struct{}, 256), limit: limit}
}

// add records tok unless it was already seen, is too long, or the collector
// is full.
func (c *collector) add(tok string) {
	if len(c.tokens) >= c.limit || len(tok) > maxTokenBytes {
		return
	}
	if _, dup := c.seen[tok]; dup {
		return
	}
	c.seen[tok] = struct{}{}
	c.tokens = append(c.tokens, tok)
}

// full reports whether further tokens would be dropped, so that callers can
// stop reading input early.
func (c *collector) full() bool { return len(c.tokens) >= c.limit }
