// Package pipeline holds the types every stage of the message path shares:
// the message and its envelope, the verdicts stages give, and the Stage and
// Policy contracts. Stages depend on this package, never on each other.
package pipeline

import (
	"io"
	"time"

	"github.com/emersion/go-message"
	"github.com/emersion/go-message/textproto"
)

// Recipient is one envelope recipient with its DSN parameters (RFC 3461).
type Recipient struct {
	Addr      string   `json:"addr"`
	Notify    []string `json:"notify,omitempty"`     // NEVER, or any of SUCCESS, FAILURE, DELAY
	ORcpt     string   `json:"orcpt,omitempty"`      // original recipient address, decoded
	ORcptType string   `json:"orcpt_type,omitempty"` // its address type, e.g. "rfc822"
}

// Notifies reports whether the recipient asked for a DSN of the given kind
// (SUCCESS, FAILURE, DELAY). Without NOTIFY, RFC 3461 makes it FAILURE only.
func (r Recipient) Notifies(kind string) bool {
	if len(r.Notify) == 0 {
		return kind == "FAILURE"
	}
	for _, n := range r.Notify {
		if n == kind {
			return true
		}
	}
	return false
}

// Envelope is the SMTP envelope of a message.
type Envelope struct {
	From       string      `json:"from"` // "" is the null reverse-path
	Recipients []Recipient `json:"rcpts"`
	Ret        string      `json:"ret,omitempty"`   // FULL or HDRS (RFC 3461)
	EnvID      string      `json:"envid,omitempty"` // ENVID, decoded
	SMTPUTF8   bool        `json:"smtputf8,omitempty"`
	Body       string      `json:"body,omitempty"` // BODY= as declared: 7BIT, 8BITMIME
}

// Client is what the receiver knows of the SMTP client that sent a message.
type Client struct {
	SessionID    string `json:"session"`
	IP           string `json:"ip"`
	Port         int    `json:"port"`
	Helo         string `json:"helo"`
	TLS          bool   `json:"tls,omitempty"`
	RelayAllowed bool   `json:"relay,omitempty"`
	Trusted      bool   `json:"trusted,omitempty"`
}

// Kind tells mail from clients apart from mail the gateway generates.
type Kind string

const (
	KindMail         Kind = "mail"         // received from an SMTP client
	KindDSN          Kind = "dsn"          // a delivery status notification we generated
	KindNotification Kind = "notification" // a notice about a message we generated (pipeline/notify)
)

// Meta is everything the spool keeps about a message besides its content.
type Meta struct {
	ID       string    `json:"id"`
	Kind     Kind      `json:"kind"`
	Parent   string    `json:"parent,omitempty"` // queue ID this message was generated from
	Group    string    `json:"group,omitempty"`  // policy group of a copy made for some recipients
	Envelope Envelope  `json:"envelope"`
	Client   Client    `json:"client"`
	Received time.Time `json:"received"`
	Size     int64     `json:"size"`               // bytes of content as spooled
	EightBit bool      `json:"eightbit,omitempty"` // content has bytes above 127
	Verdicts []Verdict `json:"verdicts,omitempty"`
	// Headers are the fields the stages add (Authentication-Results, the
	// spam status): written on top of the content when it leaves, so the
	// spooled file is never rewritten for them.
	Headers []HeaderField `json:"headers,omitempty"`

	// What the records about the message show of it (see Describe).
	Subject     string   `json:"subject,omitempty"`
	MessageID   string   `json:"message_id,omitempty"`
	Attachments []string `json:"attachments,omitempty"`
}

// Content is random access to a message's bytes, wherever they live.
type Content interface {
	io.ReaderAt
	Size() int64
}

// Message is a message on its way through the scan stages: its metadata,
// its parsed header, and its content (on disk, read on demand).
type Message struct {
	Meta
	Header  textproto.Header
	Content Content
	// Walked holds the message taken apart by the first stage that needed
	// its objects, for the next one (objects.WalkShared); nil until then.
	Walked any
}

// Reader returns a fresh reader over the whole content.
func (m *Message) Reader() *io.SectionReader {
	return io.NewSectionReader(m.Content, 0, m.Content.Size())
}

// MIME parses the content as a MIME entity. Each call starts a new parse
// over the content, so stages can walk the parts independently.
func (m *Message) MIME() (*message.Entity, error) {
	return message.Read(m.Reader())
}
