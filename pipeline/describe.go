package pipeline

import (
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-message"
	// Subjects and file names come in every charset; without the tables
	// only UTF-8 and US-ASCII encoded words decode.
	_ "github.com/emersion/go-message/charset"

	"github.com/gatewatch/gatewatch/telemetry"
)

// Limits on what Describe keeps: the records that carry these are for
// people and SIEMs, and a hostile message must not make them unbounded.
const (
	maxAttachmentNames = 64
	maxDescribedParts  = 1000
	maxHeaderText      = 4000 // bytes of one header value kept
)

// Describe fills in the Subject, Message-ID and attachment names of m from
// its header and MIME structure. A message whose structure cannot be read
// is still described as far as it could be: this is for the records, not a
// verdict.
func (m *Message) Describe() {
	h := message.Header{Header: m.Header}
	subject, err := h.Text("Subject")
	if err != nil && subject == "" {
		subject = h.Get("Subject")
	}
	m.Subject = clip(strings.TrimSpace(subject), maxHeaderText)
	m.MessageID = clip(strings.TrimSpace(h.Get("Message-Id")), maxHeaderText)
	m.Attachments = attachmentNames(m)
}

// attachmentNames walks the MIME tree and collects the file names parts
// declare (Content-Disposition filename, else Content-Type name).
func attachmentNames(m *Message) []string {
	ent, err := message.Read(m.Reader())
	if ent == nil || (err != nil && !message.IsUnknownCharset(err) && !message.IsUnknownEncoding(err)) {
		return nil
	}
	var names []string
	parts := 0
	errStop := errors.New("stop")
	_ = ent.Walk(func(_ []int, part *message.Entity, _ error) error {
		parts++
		if part == nil || parts > maxDescribedParts || len(names) >= maxAttachmentNames {
			return errStop
		}
		if name := partFileName(&part.Header); name != "" {
			names = append(names, clip(name, maxHeaderText))
		}
		return nil
	})
	return names
}

func partFileName(h *message.Header) string {
	if _, params, err := h.ContentDisposition(); err == nil || params != nil {
		if name := params["filename"]; name != "" {
			return name
		}
	}
	if _, params, err := h.ContentType(); err == nil || params != nil {
		return params["name"]
	}
	return ""
}

// clip cuts s to at most n bytes at a character boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}

// VerdictSummary writes the stages' verdicts as one line, for records:
// "stage=status(score): detail, ...".
func VerdictSummary(vs []Verdict) string {
	var b strings.Builder
	for i, v := range vs {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(v.Stage)
		b.WriteByte('=')
		b.WriteString(v.Status)
		if v.Score != 0 {
			b.WriteByte('(')
			b.WriteString(strconv.FormatFloat(v.Score, 'f', -1, 64))
			b.WriteByte(')')
		}
		if v.Detail != "" {
			b.WriteString(": ")
			b.WriteString(v.Detail)
		}
	}
	return b.String()
}

// CompletedEvent is the one record of a message leaving the gateway: who
// sent it from where, to whom, what it was, what the stages found, what was
// done with it (action) and how it ended (outcome). Callers add the
// delivery figures they know.
func CompletedEvent(m *Meta, action, outcome string) telemetry.Event {
	return telemetry.Event{Type: telemetry.MessageCompleted, QueueID: m.ID, SessionID: m.Client.SessionID,
		ClientIP: m.Client.IP, ClientPort: m.Client.Port, Helo: m.Client.Helo, Sender: m.Envelope.From,
		Recipient: RecipientList(m.Envelope.Recipients), Recipients: len(m.Envelope.Recipients), Size: m.Size,
		Subject: m.Subject, MessageID: m.MessageID, Attachments: m.Attachments, Verdicts: VerdictSummary(m.Verdicts),
		Action: action, Outcome: outcome, Duration: time.Since(m.Received), Parent: m.Parent, Group: m.Group}
}

// RecipientList is the recipients' addresses as one comma-separated value.
func RecipientList(rs []Recipient) string {
	var b strings.Builder
	for i, r := range rs {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(r.Addr)
	}
	return b.String()
}
