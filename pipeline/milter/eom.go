package milter

import (
	"bytes"
	"fmt"
	"sort"
	"strings"

	gomilter "github.com/emersion/go-milter"

	"github.com/gatewatch/gatewatch/pipeline"
	"github.com/gatewatch/gatewatch/telemetry"
)

// Body implements gomilter.Milter: the message is complete; scan it,
// decide, and tell the MTA.
func (ss *session) Body(m *gomilter.Modifier) (gomilter.Response, error) {
	ss.keep(m)
	mtaID := ss.macros["i"]
	if ss.tooBig {
		r := pipeline.Reply{Code: 552, Enhanced: [3]int{5, 3, 4}, Text: fmt.Sprintf("Message exceeds the size limit of %d bytes", ss.s.cfg.Load().MaxMessage)}
		ss.s.deps.Emit.Emit(telemetry.Event{Type: telemetry.IntegrationVerdict, Mode: Mode, SessionID: ss.sessionID, MTAQueueID: mtaID,
			ClientIP: ss.clientIP, Helo: ss.helo, Sender: ss.from, Recipient: strings.Join(ss.rcpts, ","), Recipients: len(ss.rcpts),
			Action: "reject", Code: r.Code, Status: r.Status(), Text: r.Text})
		return replyCode(r), nil
	}
	msg, err := ss.message()
	if err != nil {
		ss.s.deps.Emit.Emit(telemetry.Event{Type: telemetry.IntegrationError, Mode: Mode, SessionID: ss.sessionID, MTAQueueID: mtaID, Err: err.Error()})
		return replyCode(pipeline.Reply{Code: 451, Enhanced: [3]int{4, 3, 0}, Text: "Could not read the message, try again later"}), nil
	}
	ctx, cancel := ss.s.timeoutCtx()
	defer cancel()
	dec := ss.s.deps.Scanner.Scan(ctx, msg)
	resp, action, text, err := ss.carryOut(msg, dec, m)
	reply := dec.Reply
	if err != nil {
		ss.s.deps.Emit.Emit(telemetry.Event{Type: telemetry.IntegrationError, Mode: Mode, QueueID: msg.ID, MTAQueueID: mtaID, Err: err.Error()})
		reply = pipeline.Reply{Code: 451, Enhanced: [3]int{4, 3, 0}, Text: "Could not apply the policy, try again later"}
		resp, action, text = replyCode(reply), "tempfail", err.Error()
	}
	ev := pipeline.VerdictEvent(msg, Mode, mtaID, action, text)
	if action == "reject" || action == "tempfail" {
		ev.Code, ev.Status = reply.Code, reply.Status()
	}
	ss.s.deps.Emit.Emit(ev)
	return resp, nil
}

// message is what the stages scan: the fields and body the MTA sent.
func (ss *session) message() (*pipeline.Message, error) {
	raw := make([]byte, 0, ss.header.Len()+2+ss.body.Len())
	raw = append(raw, ss.header.Bytes()...)
	raw = append(raw, '\r', '\n')
	raw = append(raw, crlf(ss.body.Bytes())...)
	// A client the MTA authenticated is one of ours: the checks for mail
	// from outside (rDNS, SPF, DNS lists) do not apply to it.
	client := pipeline.Client{SessionID: ss.sessionID, IP: ss.clientIP, Helo: ss.helo, RelayAllowed: ss.macros["{auth_authen}"] != ""}
	return pipeline.Held(ss.s.deps.NewID(), raw, ss.from, ss.rcpts, client)
}

// crlf makes every line end CRLF, as the stages expect (Postfix sends the
// body with CRLF, Sendmail may not).
func crlf(b []byte) []byte {
	if !bytes.Contains(b, []byte("\n")) || bytes.Count(b, []byte("\r\n")) == bytes.Count(b, []byte("\n")) {
		return b
	}
	return bytes.ReplaceAll(bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n")), []byte("\n"), []byte("\r\n"))
}

// carryOut turns the policy's decision into the MTA's reply and the
// message changes; action and text are for the event.
func (ss *session) carryOut(msg *pipeline.Message, dec pipeline.Decision, m *gomilter.Modifier) (gomilter.Response, string, string, error) {
	switch dec.Action {
	case pipeline.ActionTempFail, pipeline.ActionReject:
		return replyCode(dec.Reply), actionWord(dec.Action), dec.Reply.Text, nil
	}
	var deliver []pipeline.Outcome
	var notes []string
	held, dropped := false, 0
	for _, o := range dec.Outcomes {
		switch o.Action {
		case pipeline.ActionReject, pipeline.ActionDiscard:
			// After DATA the MTA has one reply for all: these recipients
			// leave the envelope (no bounce: the MTA owns the message).
			for _, r := range o.Recipients {
				if err := m.DeleteRecipient(r.Addr); err != nil {
					return nil, "", "", err
				}
				dropped++
			}
			notes = append(notes, fmt.Sprintf("%s for %d recipient(s) of group %s (removed)", actionWord(o.Action), len(o.Recipients), o.Group))
		case pipeline.ActionQuarantine:
			held = true
			deliver = append(deliver, o)
		default:
			deliver = append(deliver, o)
		}
	}
	if len(deliver) == 0 && len(dec.Outcomes) > 0 {
		return gomilter.RespDiscard, "discard", strings.Join(notes, "; "), nil
	}
	if err := ss.markDelivered(msg, deliver, m, &notes); err != nil {
		return nil, "", "", err
	}
	action := "accept"
	if held {
		if err := m.Quarantine("gatewatch " + msg.ID + ": " + pipeline.VerdictSummary(msg.Verdicts)); err != nil {
			return nil, "", "", err
		}
		action = "quarantine"
	}
	return gomilter.RespAccept, action, strings.Join(notes, "; "), nil
}

// markDelivered adds our fields and applies the treatment of the largest
// delivered outcome (the milter protocol has one copy per transaction).
func (ss *session) markDelivered(msg *pipeline.Message, deliver []pipeline.Outcome, m *gomilter.Modifier, notes *[]string) error {
	fields := append([]pipeline.HeaderField{{Name: "X-Gatewatch-ID", Value: msg.ID}}, msg.Headers...)
	for i := len(fields) - 1; i >= 0; i-- { // on top, in order
		if err := m.InsertHeader(0, fields[i].Name, fields[i].Value); err != nil {
			return err
		}
	}
	if len(deliver) == 0 {
		return nil
	}
	sort.SliceStable(deliver, func(i, j int) bool { return len(deliver[i].Recipients) > len(deliver[j].Recipients) })
	o := deliver[0]
	for _, other := range deliver[1:] {
		if !sameChanges(other.Treatment, o.Treatment) {
			*notes = append(*notes, fmt.Sprintf("group %s's changes applied to group %s too", o.Group, other.Group))
		}
	}
	t := o.Treatment
	if t.MarkSubject != "" {
		subject := msg.Header.Get("Subject")
		var err error
		if msg.Header.Has("Subject") {
			err = m.ChangeHeader(1, "Subject", t.MarkSubject+" "+strings.TrimLeft(subject, " "))
		} else {
			err = m.AddHeader("Subject", t.MarkSubject)
		}
		if err != nil {
			return err
		}
	}
	for _, f := range t.Headers {
		if err := m.AddHeader(f.Name, f.Value); err != nil {
			return err
		}
	}
	if t.RemoveParts {
		if err := ss.replaceParts(msg, t, m); err != nil {
			return err
		}
		*notes = append(*notes, "flagged parts replaced by a notice")
	}
	if len(t.RedirectTo) > 0 {
		for _, r := range msg.Envelope.Recipients {
			if err := m.DeleteRecipient(r.Addr); err != nil {
				return err
			}
		}
		for _, r := range t.RedirectTo {
			if err := m.AddRecipient(r); err != nil {
				return err
			}
		}
	}
	for _, r := range t.CopyTo {
		if err := m.AddRecipient(r); err != nil {
			return err
		}
	}
	return nil
}

// replaceParts renders the copy with the flagged parts replaced and
// hands the MTA its body (the fields stay the MTA's, changed above).
func (ss *session) replaceParts(msg *pipeline.Message, t pipeline.Treatment, m *gomilter.Modifier) error {
	var buf bytes.Buffer
	only := pipeline.Treatment{Action: t.Action, RemoveParts: true}
	if err := ss.s.deps.Render(&buf, msg, only, msg.ID); err != nil {
		return fmt.Errorf("render: %w", err)
	}
	_, body, ok := bytes.Cut(buf.Bytes(), []byte("\r\n\r\n"))
	if !ok {
		return fmt.Errorf("render: no body")
	}
	return m.ReplaceBody(body)
}

func sameChanges(a, b pipeline.Treatment) bool {
	return a.MarkSubject == b.MarkSubject && fmt.Sprint(a.Headers) == fmt.Sprint(b.Headers) && a.RemoveParts == b.RemoveParts &&
		fmt.Sprint(a.RedirectTo) == fmt.Sprint(b.RedirectTo) && fmt.Sprint(a.CopyTo) == fmt.Sprint(b.CopyTo)
}
