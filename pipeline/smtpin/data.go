package smtpin

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/emersion/go-message/textproto"
	"github.com/emersion/go-smtp"

	"github.com/gatewatch/gatewatch/pipeline"
	"github.com/gatewatch/gatewatch/telemetry"
)

// Data receives the content, checks and scans it, and spools it. The
// client gets 250 only once the message is durable.
func (s *session) Data(r io.Reader) error {
	g := s.c.gen
	limits := g.cfg.Limits
	start := time.Now()
	// go-smtp's read deadline covers one command line and is not renewed
	// while content flows: give DATA its own budget.
	_ = s.c.Conn.SetReadDeadline(start.Add(g.cfg.Timeouts.Data))

	id := s.r.spool.NewID()
	d, err := s.r.spool.NewDraft(id, len(s.env.Recipients))
	if err != nil {
		_, _ = io.Copy(io.Discard, r)
		return s.refuse(telemetry.ReasonSpoolError, "", pipeline.Reply{Code: 451, Enhanced: [3]int{4, 3, 0},
			Text: "Temporary local problem, try again later"})
	}
	client := s.clientInfo()
	if _, err := d.Write(s.traceHeader(id, client, start)); err != nil {
		d.Abort()
		_, _ = io.Copy(io.Discard, r)
		return s.refuse(telemetry.ReasonSpoolError, "", pipeline.Reply{Code: 451, Enhanced: [3]int{4, 3, 0},
			Text: "Temporary local problem, try again later"})
	}
	cw := &contentWriter{dst: d, headerMax: limits.MaxHeaderSize}
	buf := s.r.copyBufs.Get().(*[]byte)
	_, err = io.CopyBuffer(cw, r, *buf)
	s.r.copyBufs.Put(buf)
	if err != nil {
		d.Abort()
		return s.dataFailed(err, limits.MaxMessageSize)
	}
	refuseContent := func(reason telemetry.Reason, reply pipeline.Reply) error {
		d.Abort()
		return s.refuse(reason, "", reply)
	}
	switch {
	case cw.nul:
		return refuseContent(telemetry.ReasonMalformed, pipeline.Reply{Code: 554, Enhanced: [3]int{5, 6, 0},
			Text: "Message content contains NUL characters"})
	case cw.headerOver:
		return refuseContent(telemetry.ReasonMalformed, pipeline.Reply{Code: 554, Enhanced: [3]int{5, 6, 0},
			Text: fmt.Sprintf("Message header section exceeds %d bytes", limits.MaxHeaderSize)})
	}
	hdr, err := textproto.ReadHeader(bufio.NewReaderSize(bytes.NewReader(cw.header), len(cw.header)+16))
	if err != nil && !errors.Is(err, io.EOF) {
		return refuseContent(telemetry.ReasonMalformed, pipeline.Reply{Code: 554, Enhanced: [3]int{5, 6, 0},
			Text: "Malformed message header: " + quoteForReply(strings.TrimPrefix(err.Error(), "message: "), 120)})
	}
	if hops := hdr.FieldsByKey("Received").Len(); hops >= limits.MaxHops {
		return refuseContent(telemetry.ReasonHopsLimit, pipeline.Reply{Code: 554, Enhanced: [3]int{5, 4, 6},
			Text: fmt.Sprintf("Too many hops (%d Received: fields), mail loop?", hops)})
	}
	if err := d.EndContent(); err != nil {
		return refuseContent(telemetry.ReasonSpoolError, pipeline.Reply{Code: 451, Enhanced: [3]int{4, 3, 0},
			Text: "Temporary local problem, try again later"})
	}

	msg := &pipeline.Message{
		Meta: pipeline.Meta{ID: id, Kind: pipeline.KindMail, Envelope: s.env, Client: client,
			Received: start, EightBit: cw.eightBit},
		Header:  hdr,
		Content: d,
	}
	msg.Describe()
	ctx, cancel := context.WithTimeout(context.Background(), g.cfg.Timeouts.Data)
	decision := s.r.scanner.Scan(ctx, msg)
	cancel()
	if len(decision.Outcomes) > 0 {
		return s.carryOut(msg, d, decision, cw.in)
	}
	switch decision.Action {
	case pipeline.ActionReject, pipeline.ActionTempFail:
		reason := telemetry.ReasonScanReject
		if decision.Action == pipeline.ActionTempFail {
			reason = telemetry.ReasonScanTempfail
		}
		d.Abort()
		return s.refuseMessage(msg, reason, decision.Reply)
	case pipeline.ActionDiscard:
		d.Abort()
		s.accepted(msg, cw.in, "discarded")
		ev := pipeline.CompletedEvent(&msg.Meta, "discard", telemetry.OutcomeDiscarded)
		ev.Size = cw.in
		ev.Text = "discarded by the policy"
		s.r.emit.Emit(ev)
		return &smtp.SMTPError{Code: 250, EnhancedCode: smtp.EnhancedCode{2, 0, 0}, Message: "Ok: discarded as " + id}
	}
	if err := d.Commit(&msg.Meta); err != nil {
		return s.refuse(telemetry.ReasonSpoolError, "", pipeline.Reply{Code: 451, Enhanced: [3]int{4, 3, 0},
			Text: "Temporary local problem, try again later"})
	}
	s.c.messages.Add(1)
	s.accepted(msg, cw.in, "queued")
	return &smtp.SMTPError{Code: 250, EnhancedCode: smtp.EnhancedCode{2, 0, 0}, Message: "Ok: queued as " + id}
}

// accepted reports a message taken; size counts the bytes the client sent
// (the spooled copy also has the trace header).
func (s *session) accepted(m *pipeline.Message, size int64, what string) {
	first := ""
	if len(m.Envelope.Recipients) > 0 {
		first = m.Envelope.Recipients[0].Addr
	}
	s.r.emit.Emit(telemetry.Event{Type: telemetry.MessageAccepted, QueueID: m.ID, SessionID: s.c.sessionID,
		ClientIP: m.Client.IP, ClientPort: m.Client.Port, Helo: m.Client.Helo, Sender: m.Envelope.From,
		Recipient: first, Recipients: len(m.Envelope.Recipients), Size: size,
		Subject: m.Subject, MessageID: m.MessageID, Attachments: m.Attachments, Verdicts: pipeline.VerdictSummary(m.Verdicts),
		Code: 250, Status: "2.0.0", Text: what, Duration: time.Since(m.Received)})
}

// dataFailed turns a failure while reading content into the reply.
func (s *session) dataFailed(err error, maxSize int64) error {
	var ne net.Error
	switch {
	case errors.Is(err, smtp.ErrDataTooLarge):
		return s.refuse(telemetry.ReasonMessageSize, "", pipeline.Reply{Code: 552, Enhanced: [3]int{5, 3, 4},
			Text: fmt.Sprintf("Message exceeds the size limit of %d bytes", maxSize)})
	case errors.As(err, &ne) && ne.Timeout():
		// What the client sends next would be read as commands: hang up.
		s.c.closeAfter.Store(true)
		return s.refuse(telemetry.ReasonTimeout, "", pipeline.Reply{Code: 421, Enhanced: [3]int{4, 4, 2},
			Text: "Timeout while receiving the message, closing connection"})
	case errors.Is(err, smtp.ErrTooLongLine):
		s.c.closeAfter.Store(true)
		return s.refuse(telemetry.ReasonMalformed, "", pipeline.Reply{Code: 500, Enhanced: [3]int{5, 4, 0},
			Text: "Line too long in message content, closing connection"})
	}
	s.c.closeAfter.Store(true)
	return &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 4, 0}, Message: "Connection error while receiving the message"}
}

func (s *session) clientInfo() pipeline.Client {
	_, isTLS := s.sc.TLSConnectionState()
	return pipeline.Client{SessionID: s.c.sessionID, IP: s.c.ip.String(), Port: s.c.port, Helo: s.sc.Hostname(),
		TLS: isTLS, RelayAllowed: s.c.relay, Trusted: s.c.trusted}
}

// traceHeader is the Received: field (RFC 5321 4.4) and the X-Gatewatch-ID
// field the receiver puts on top of every message.
func (s *session) traceHeader(id string, c pipeline.Client, at time.Time) []byte {
	proto := "SMTP"
	if s.c.in.usedEHLO() {
		proto = "ESMTP"
	}
	if s.env.SMTPUTF8 {
		proto = "UTF8SMTP"
	}
	if c.TLS {
		proto += "S"
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "Received: from %s ([%s])\r\n\tby %s (Gatewatch) with %s id %s", sanitizeHelo(c.Helo), c.IP, s.c.gen.cfg.Hostname, proto, id)
	if len(s.env.Recipients) == 1 {
		fmt.Fprintf(&b, "\r\n\tfor <%s>", s.env.Recipients[0].Addr)
	}
	fmt.Fprintf(&b, ";\r\n\t%s\r\nX-Gatewatch-ID: %s\r\n", at.Format(time.RFC1123Z), id)
	return b.Bytes()
}

// sanitizeHelo keeps a client's HELO argument from breaking the header.
func sanitizeHelo(h string) string {
	if h == "" {
		return "unknown"
	}
	return strings.Map(func(r rune) rune {
		if r < 0x21 || r == 0x7f || r == '(' || r == ')' || r == ';' {
			return '_'
		}
		return r
	}, h)
}
