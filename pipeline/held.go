package pipeline

import (
	"bufio"
	"bytes"
	"fmt"
	"time"

	"github.com/emersion/go-message/textproto"

	"github.com/gatewatch/gatewatch/telemetry"
)

// heldContent is a message's bytes in memory.
type heldContent struct{ *bytes.Reader }

func (c heldContent) Size() int64 { return c.Reader.Size() }

// Held makes the message another MTA holds (milter, CommuniGate Pro
// helper) scannable: raw is the whole message, header and body with CRLF
// line ends; the header is parsed for the stages and the record fields
// (subject, attachments) are filled in.
func Held(id string, raw []byte, from string, rcpts []string, client Client) (*Message, error) {
	h, err := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(raw)))
	if err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	m := &Message{Header: h, Content: heldContent{bytes.NewReader(raw)}}
	m.ID, m.Kind, m.Received, m.Size, m.Client = id, KindMail, time.Now(), int64(len(raw)), client
	m.Envelope.From = from
	for _, r := range rcpts {
		m.Envelope.Recipients = append(m.Envelope.Recipients, Recipient{Addr: r})
	}
	m.Describe()
	return m, nil
}

// VerdictEvent is the integration.verdict record of a held message: what
// the MTA (mode) holding it as mtaID was told to do.
func VerdictEvent(m *Message, mode, mtaID, action, text string) telemetry.Event {
	return telemetry.Event{Type: telemetry.IntegrationVerdict, Mode: mode, QueueID: m.ID, MTAQueueID: mtaID,
		SessionID: m.Client.SessionID, ClientIP: m.Client.IP, Helo: m.Client.Helo, Sender: m.Envelope.From,
		Recipient: RecipientList(m.Envelope.Recipients), Recipients: len(m.Envelope.Recipients), Size: m.Size, Subject: m.Subject,
		MessageID: m.MessageID, Attachments: m.Attachments, Verdicts: VerdictSummary(m.Verdicts), Action: action, Text: text}
}
