package notify

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"mime"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/emersion/go-message/textproto"

	"github.com/gatewatch/gatewatch/pipeline"
)

// Line limits of RFC 5322 2.1.1: fold header fields before the soft one,
// and never let any line pass the hard one (without CRLF).
const (
	softLine = 78
	hardLine = 998
)

// parseOutput splits what a template wrote into its header fields and its
// body, at the first empty line. Folded fields come back unfolded; a
// field that would carry a control character is refused, so every field
// returned can be written back as one header field and nothing else.
func parseOutput(out []byte) ([]pipeline.HeaderField, []byte, error) {
	end := -1 // length of the header block, its last newline included
	var body []byte
	for pos := 0; pos < len(out); {
		nl := bytes.IndexByte(out[pos:], '\n')
		if nl < 0 {
			break
		}
		line := bytes.TrimSuffix(out[pos:pos+nl], []byte("\r"))
		if len(line) == 0 {
			end, body = pos, out[pos+nl+1:]
			break
		}
		if line[0] == ':' {
			// textproto skips such a line; a template that wrote one
			// lost a field name, and should hear of it.
			return nil, nil, errors.New("header field without a name")
		}
		pos += nl + 1
	}
	switch {
	case end < 0:
		return nil, nil, errors.New("no empty line after the header fields")
	case end == 0:
		return nil, nil, errors.New("no header fields before the empty line")
	}
	h, err := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(out[:end])))
	if err != nil {
		return nil, nil, err
	}
	var fields []pipeline.HeaderField
	for f := h.Fields(); f.Next(); {
		k, v := f.Key(), f.Value()
		if strings.ContainsFunc(k, isControl) || strings.ContainsFunc(v, isControl) {
			return nil, nil, fmt.Errorf("header field %q: control character in the field", k)
		}
		fields = append(fields, pipeline.HeaderField{Name: k, Value: v})
	}
	if len(fields) == 0 {
		return nil, nil, errors.New("no header fields before the empty line")
	}
	return fields, body, nil
}

// subjectOf finds the first Subject field.
func subjectOf(fields []pipeline.HeaderField) (string, bool) {
	for _, f := range fields {
		if strings.EqualFold(f.Name, "Subject") {
			return f.Value, true
		}
	}
	return "", false
}

// reserved are the fields the gateway writes itself. A template that set
// them would misaddress the notification (From, To, Cc, Bcc: the envelope
// decides who gets it), break its format (MIME), hide it from loop
// detection (Auto-Submitted) or pass it off as another message (IDs).
func reserved(name string) bool {
	name = strings.ToLower(name)
	switch name {
	case "from", "sender", "to", "cc", "bcc", "return-path", "subject", "date", "message-id",
		"auto-submitted", "mime-version", "content-type", "content-transfer-encoding":
		return true
	}
	return strings.HasPrefix(name, "x-gatewatch-")
}

// rendered is a notification ready for the spool.
type rendered struct {
	content   []byte
	subject   string // decoded, for the records
	messageID string
	eightBit  bool
	note      string // what went wrong with the template, when the built-in text stood in
}

// compose renders kind's template and writes the notification message.
func compose(s *setup, kind, id, parent string, d *Data, to []string, now time.Time) *rendered {
	subject, extra, body, note := render(s.tmpls.pick(kind, d.Action), d)
	r := &rendered{subject: subject, messageID: fmt.Sprintf("<%s.notify-%s@%s>", id, kind, d.Hostname), note: note}
	body = normalizeBody(body)
	cte := "7bit"
	if !isASCII(string(body)) {
		cte = "8bit"
	}
	rcpts := make([]string, len(to))
	for i, a := range to {
		rcpts[i] = "<" + oneLine(a) + ">"
	}
	var b bytes.Buffer
	field := func(name, value string) { writeField(&b, name, value) }
	field("From", "Mail Gateway <"+oneLine(s.from)+">")
	field("To", strings.Join(rcpts, ", "))
	field("Subject", mime.QEncoding.Encode("utf-8", oneLine(subject)))
	field("Date", now.Format(time.RFC1123Z))
	field("Message-ID", r.messageID)
	field("Auto-Submitted", "auto-generated") // RFC 3834: no automatic replies to this
	field("MIME-Version", "1.0")
	field("Content-Type", "text/plain; charset=utf-8")
	field("Content-Transfer-Encoding", cte)
	field("X-Gatewatch-ID", id)
	field("X-Gatewatch-Parent-ID", oneLine(parent))
	for _, f := range extra {
		if !reserved(f.Name) {
			field(f.Name, mime.QEncoding.Encode("utf-8", oneLine(f.Value)))
		}
	}
	b.WriteString("\r\n")
	b.Write(body)
	r.content = b.Bytes()
	r.eightBit = !isASCII(b.String())
	return r
}

// render runs the template for d. A template that fails for this message
// does not stop the notification: a built-in subject (and, when the
// template gave nothing, a built-in body) stands in, and note says why.
func render(tp *tmpl, d *Data) (subject string, extra []pipeline.HeaderField, body []byte, note string) {
	fallback := fmt.Sprintf("Message %s: %s", d.ID, d.Status)
	out, err := tp.execute(d)
	if err != nil {
		return fallback, nil, builtinBody(d), err.Error() + "; sent with the built-in text"
	}
	fields, body, err := parseOutput(out)
	if err == nil {
		var ok bool
		if subject, ok = subjectOf(fields); ok {
			return subject, fields, body, ""
		}
		err = errors.New("output has no Subject field")
	}
	return fallback, nil, out, fmt.Sprintf("%s: output: %v; sent with the built-in subject", tp.path, err)
}

// builtinBody stands in for a template that failed.
func builtinBody(d *Data) []byte {
	return fmt.Appendf(nil, "This is the mail gateway at %s.\n\nMessage %s from %s: status %s, action %s.\n",
		d.Hostname, d.ID, d.Sender, d.Status, d.Action)
}

// writeField writes one header field, folded at spaces to stay under the
// soft line limit where the words allow, and split inside a word only
// where one would pass the hard limit. The value must be one line.
func writeField(b *bytes.Buffer, name, value string) {
	b.WriteString(name)
	b.WriteByte(':')
	n := len(name) + 1
	for i, word := range strings.Split(value, " ") {
		for len(word) > hardLine-2 {
			cut := runeCut(word, hardLine-2)
			b.WriteString("\r\n ")
			b.WriteString(word[:cut])
			n, word = 1+cut, word[cut:]
		}
		// An empty word (a run of spaces) never starts a line: a line
		// of blanks alone is no part of a field.
		if i > 0 && word != "" && n+1+len(word) > softLine && n > 1 {
			b.WriteString("\r\n")
			n = 0
		}
		b.WriteByte(' ')
		b.WriteString(word)
		n += 1 + len(word)
	}
	b.WriteString("\r\n")
}

// normalizeBody ends every line with CRLF, whatever the template used,
// and breaks lines that would pass the hard limit.
func normalizeBody(body []byte) []byte {
	s := strings.ReplaceAll(string(body), "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	s = strings.TrimSuffix(s, "\n")
	var b bytes.Buffer
	b.Grow(len(s) + len(s)/32 + 2)
	for line := range strings.SplitSeq(s, "\n") {
		for len(line) > hardLine {
			cut := runeCut(line, hardLine)
			b.WriteString(line[:cut])
			b.WriteString("\r\n")
			line = line[cut:]
		}
		b.WriteString(line)
		b.WriteString("\r\n")
	}
	return b.Bytes()
}

// runeCut is the largest n <= limit that does not split a UTF-8 sequence
// (at least 1, so that a cut always makes progress). len(s) > limit.
func runeCut(s string, limit int) int {
	n := limit
	for n > 1 && !utf8.RuneStart(s[n]) {
		n--
	}
	return n
}
