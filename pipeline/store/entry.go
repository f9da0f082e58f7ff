package store

import (
	"time"

	"github.com/gatewatch/gatewatch/pipeline"
)

// Boxes: the quarantine and the two archives.
const (
	Quarantine = "quarantine"
	Received   = "received"
	Sent       = "sent"
)

// Entry is what the store knows of one copy besides its content.
type Entry struct {
	ID         string    `json:"id"`
	Box        string    `json:"box"`      // quarantine, received or sent
	Category   string    `json:"category"` // quarantine category; the box's name for archives
	Stored     time.Time `json:"stored"`
	Received   time.Time `json:"received"`         // when the gateway received the message
	Parent     string    `json:"parent,omitempty"` // queue ID of the message it is a copy of
	ClientIP   string    `json:"client_ip,omitempty"`
	Helo       string    `json:"helo,omitempty"`
	From       string    `json:"from"`
	Recipients []string  `json:"recipients"`
	Subject    string    `json:"subject,omitempty"`
	MessageID  string    `json:"message_id,omitempty"`
	Status     string    `json:"status,omitempty"` // the status that put it here
	Group      string    `json:"group,omitempty"`  // the policy group that decided
	Reasons    string    `json:"reasons,omitempty"`
	Size       int64     `json:"size"`
}

// EntryOf describes a copy of m for recipients rcpts; the caller sets
// Box, Category, ID and the policy's fields.
func EntryOf(m *pipeline.Message, rcpts []pipeline.Recipient) Entry {
	e := Entry{Received: m.Received, Parent: m.ID, ClientIP: m.Client.IP, Helo: m.Client.Helo,
		From: m.Envelope.From, Subject: m.Subject, MessageID: m.MessageID,
		Reasons: pipeline.VerdictSummary(m.Verdicts)}
	for _, r := range rcpts {
		e.Recipients = append(e.Recipients, r.Addr)
	}
	return e
}
