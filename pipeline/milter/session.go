package milter

import (
	"bytes"
	"fmt"
	"net"
	"net/textproto"
	"strings"

	gomilter "github.com/emersion/go-milter"

	"github.com/gatewatch/gatewatch/pipeline"
	"github.com/gatewatch/gatewatch/telemetry"
)

// session is one MTA connection: one SMTP client of the MTA, and the
// messages of that client's session one after the other.
type session struct {
	s         *Server
	sessionID string
	clientIP  string
	helo      string
	macros    map[string]string // every macro the MTA sent in this transaction

	from    string
	rcpts   []string
	header  bytes.Buffer
	body    bytes.Buffer
	tooBig  bool
	refused int // recipients refused at RCPT, for the event
}

func (s *Server) newSession() *session {
	return &session{s: s, sessionID: s.deps.NewID(), macros: map[string]string{}}
}

func (ss *session) keep(m *gomilter.Modifier) {
	for k, v := range m.Macros {
		ss.macros[k] = v
	}
}

// Connect implements gomilter.Milter.
func (ss *session) Connect(host, family string, port uint16, addr net.IP, m *gomilter.Modifier) (gomilter.Response, error) {
	ss.keep(m)
	if addr != nil {
		ss.clientIP = addr.String()
	}
	if a := ss.macros["{client_addr}"]; a != "" {
		ss.clientIP = a
	}
	ss.s.deps.Emit.Emit(telemetry.Event{Type: telemetry.IntegrationSession, Mode: Mode, SessionID: ss.sessionID,
		ClientIP: ss.clientIP, ClientPort: int(port), Helo: host})
	return gomilter.RespContinue, nil
}

// Helo implements gomilter.Milter.
func (ss *session) Helo(name string, m *gomilter.Modifier) (gomilter.Response, error) {
	ss.keep(m)
	ss.helo = name
	return gomilter.RespContinue, nil
}

// MailFrom implements gomilter.Milter: a new transaction starts.
func (ss *session) MailFrom(from string, m *gomilter.Modifier) (gomilter.Response, error) {
	ss.reset()
	ss.keep(m)
	ss.from = bare(from)
	return gomilter.RespContinue, nil
}

// RcptTo implements gomilter.Milter: the lists refuse a recipient here.
func (ss *session) RcptTo(rcpt string, m *gomilter.Modifier) (gomilter.Response, error) {
	ss.keep(m)
	addr := bare(rcpt)
	if t, refuse := ss.s.deps.Lists.AtRecipient(ss.clientIP, ss.from, addr); refuse {
		ss.refused++
		ss.s.deps.Emit.Emit(telemetry.Event{Type: telemetry.IntegrationVerdict, Mode: Mode, SessionID: ss.sessionID,
			MTAQueueID: ss.macros["i"], ClientIP: ss.clientIP, Helo: ss.helo, Sender: ss.from, Recipient: addr, Recipients: 1,
			Action: actionWord(t.Action), Code: t.Reply.Code, Status: t.Reply.Status(), Text: t.Reply.Text})
		return replyCode(t.Reply), nil
	}
	ss.rcpts = append(ss.rcpts, addr)
	return gomilter.RespContinue, nil
}

// Header implements gomilter.Milter. The MTA sends each field without
// its line ends; folded lines come with bare newlines.
func (ss *session) Header(name, value string, m *gomilter.Modifier) (gomilter.Response, error) {
	value = strings.ReplaceAll(strings.ReplaceAll(value, "\r\n", "\n"), "\n", "\r\n")
	ss.header.WriteString(name + ": " + strings.TrimLeft(value, " ") + "\r\n")
	ss.checkSize()
	return gomilter.RespContinue, nil
}

// Headers implements gomilter.Milter.
func (ss *session) Headers(_ textproto.MIMEHeader, m *gomilter.Modifier) (gomilter.Response, error) {
	ss.keep(m)
	return gomilter.RespContinue, nil
}

// BodyChunk implements gomilter.Milter.
func (ss *session) BodyChunk(chunk []byte, _ *gomilter.Modifier) (gomilter.Response, error) {
	if !ss.tooBig {
		ss.body.Write(chunk)
		ss.checkSize()
	}
	return gomilter.RespContinue, nil
}

func (ss *session) checkSize() {
	if int64(ss.header.Len()+ss.body.Len()) > ss.s.cfg.Load().MaxMessage {
		ss.tooBig = true
		ss.body.Reset() // what is over the limit is not kept
	}
}

// Abort implements gomilter.Milter.
func (ss *session) Abort(_ *gomilter.Modifier) error {
	ss.reset()
	return nil
}

func (ss *session) reset() {
	ss.from, ss.rcpts, ss.tooBig, ss.refused = "", nil, false, 0
	ss.header.Reset()
	ss.body.Reset()
	for k := range ss.macros {
		if k != "{client_addr}" && k != "j" && k != "{daemon_name}" {
			delete(ss.macros, k)
		}
	}
}

// bare strips the angle brackets (and ESMTP parameters) around an address.
func bare(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '>'); strings.HasPrefix(s, "<") && i > 0 {
		return s[1:i]
	}
	return s
}

// replyCode answers with the policy's own reply text.
func replyCode(r pipeline.Reply) gomilter.Response {
	return gomilter.NewResponseStr(byte(gomilter.ActReplyCode), fmt.Sprintf("%d %s %s", r.Code, r.Status(), oneLine(r.Text)))
}

func oneLine(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	return s
}

func actionWord(a pipeline.Action) string {
	switch a {
	case pipeline.ActionReject:
		return "reject"
	case pipeline.ActionTempFail:
		return "tempfail"
	case pipeline.ActionDiscard:
		return "discard"
	case pipeline.ActionQuarantine:
		return "quarantine"
	}
	return "accept"
}
