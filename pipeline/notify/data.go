package notify

import (
	"strings"
	"time"

	"github.com/gatewatch/gatewatch/pipeline"
)

// Data is what a template is executed with. Every string is one line:
// control characters a message brought along are replaced by spaces, so
// no value can start a header field of its own. Besides the built-in
// functions, templates have join (strings.Join): {{join .Recipients ", "}}.
type Data struct {
	ID              string    // queue ID of the copy the notification is about (the message's own when not split)
	MessageID       string    // queue ID of the message as received
	Hostname        string    // the gateway's SMTP name
	Sender          string    // envelope sender; "<>" for the null sender
	Recipients      []string  // envelope recipients the policy decision covers
	Subject         string    // Subject header, decoded
	HeaderMessageID string    // Message-ID header
	Status          string    // the recipients' status, e.g. "spam", "virus"
	Group           string    // the policy group that decided
	Action          string    // deliver, reject, drop or quarantine: the policy's words
	Category        string    // quarantine category of the status: spam, virus, banned or policy
	Verdicts        string    // every stage's verdict, e.g. "antivirus=clean, antispam=spam(7.5)"
	ClientIP        string    // address of the SMTP client the message came from
	Received        time.Time // when the gateway received the message
	Size            int64     // size of the message in bytes
	Quarantined     bool      // the message, or a copy of it, is kept in quarantine
}

// newData describes m and the policy's decision o for the templates.
func newData(m *pipeline.Message, o pipeline.Outcome, id, hostname string) *Data {
	sender := m.Envelope.From
	if sender == "" {
		sender = "<>"
	}
	action := o.Action.String()
	switch o.Action { // the policy's words for them
	case pipeline.ActionAccept:
		action = "deliver"
	case pipeline.ActionDiscard:
		action = "drop"
	}
	rcpts := make([]string, 0, len(o.Recipients))
	for _, r := range o.Recipients {
		rcpts = append(rcpts, oneLine(r.Addr))
	}
	return &Data{
		ID:              oneLine(id),
		MessageID:       oneLine(m.ID),
		Hostname:        oneLine(hostname),
		Sender:          oneLine(sender),
		Recipients:      rcpts,
		Subject:         oneLine(m.Subject),
		HeaderMessageID: oneLine(m.MessageID),
		Status:          oneLine(o.Status),
		Group:           oneLine(o.Group),
		Action:          action,
		Category:        pipeline.CategoryOf(o.Status),
		Verdicts:        oneLine(pipeline.VerdictSummary(m.Verdicts)),
		ClientIP:        oneLine(m.Client.IP),
		Received:        m.Received,
		Size:            m.Size,
		Quarantined:     o.Action == pipeline.ActionQuarantine || o.QuarantineCopy,
	}
}

// oneLine replaces control characters (tab aside) by spaces.
func oneLine(s string) string {
	if !strings.ContainsFunc(s, isControl) {
		return s
	}
	return strings.Map(func(r rune) rune {
		if isControl(r) {
			return ' '
		}
		return r
	}, s)
}

func isControl(r rune) bool { return (r < 0x20 && r != '\t') || r == 0x7f }

// samples are the data Check and New execute every template with: enough
// variety to take each branch the shipped templates have, so that a field
// misspelled in any of them shows before the first real notification.
func samples() []*Data {
	received := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	base := Data{ID: "0000000000000000001", MessageID: "0000000000000000000", Hostname: "mx.example.net",
		Sender: "sender@example.org", Recipients: []string{"user@example.com", "other@example.com"},
		Subject: "Sample subject", HeaderMessageID: "<sample@example.org>", Status: pipeline.StatusSpam,
		Group: "default", Category: pipeline.CategorySpam, Verdicts: "antispam=spam(9.5): SAMPLE",
		ClientIP: "192.0.2.1", Received: received, Size: 1234}
	var out []*Data
	for _, v := range []struct {
		action      string
		quarantined bool
	}{{"deliver", false}, {"deliver", true}, {"quarantine", true}, {"reject", false}, {"drop", true},
		{"tempfail", false}} {
		d := base
		d.Action, d.Quarantined = v.action, v.quarantined
		out = append(out, &d)
	}
	// And the edge values: no subject, the null sender, no recipients.
	d := base
	d.Action, d.Subject, d.Sender, d.Recipients, d.Verdicts = "drop", "", "<>", nil, ""
	return append(out, &d)
}
