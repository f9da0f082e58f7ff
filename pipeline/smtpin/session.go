package smtpin

import (
	"crypto/tls"
	"net"
	"strings"

	"github.com/emersion/go-smtp"

	"github.com/gatewatch/gatewatch/pipeline"
	"github.com/gatewatch/gatewatch/telemetry"
)

// backend creates a session for go-smtp at each EHLO/HELO (and again after
// STARTTLS).
type backend struct{ r *Receiver }

func (b backend) NewSession(sc *smtp.Conn) (smtp.Session, error) {
	c := clientConnOf(sc.Conn())
	if c == nil {
		return nil, &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Internal error, try again later"}
	}
	return &session{r: b.r, c: c, sc: sc}, nil
}

// clientConnOf finds the receiver's connection under go-smtp's, which is a
// TLS connection after STARTTLS.
func clientConnOf(nc net.Conn) *clientConn {
	if tc, ok := nc.(*tls.Conn); ok {
		nc = tc.NetConn()
	}
	c, _ := nc.(*clientConn)
	return c
}

// session is one mail transaction context of a connection.
type session struct {
	r  *Receiver
	c  *clientConn
	sc *smtp.Conn

	env    pipeline.Envelope
	inMail bool
}

func (s *session) Reset() {
	s.env = pipeline.Envelope{}
	s.inMail = false
}

func (s *session) Logout() error { return nil }

// refuse reports a refusal and returns the bare SMTP error go-smtp sends.
func (s *session) refuse(reason telemetry.Reason, rcpt string, reply pipeline.Reply) *smtp.SMTPError {
	s.r.emit.Emit(s.refusal(reason, rcpt, reply))
	return smtpError(reply)
}

// refuseMessage reports the refusal of a message whose content was read, so
// the record says what the message was and what the stages found.
func (s *session) refuseMessage(m *pipeline.Message, reason telemetry.Reason, reply pipeline.Reply) *smtp.SMTPError {
	ev := s.refusal(reason, "", reply)
	ev.Recipient, ev.Recipients = pipeline.RecipientList(m.Envelope.Recipients), len(m.Envelope.Recipients)
	ev.Subject, ev.MessageID, ev.Attachments = m.Subject, m.MessageID, m.Attachments
	ev.Verdicts = pipeline.VerdictSummary(m.Verdicts)
	s.r.emit.Emit(ev)
	return smtpError(reply)
}

func (s *session) refusal(reason telemetry.Reason, rcpt string, reply pipeline.Reply) telemetry.Event {
	action := "reject"
	if reply.Code < 500 {
		action = "tempfail"
	}
	return telemetry.Event{Type: telemetry.MessageRefused, SessionID: s.c.sessionID, ClientIP: s.c.ip.String(),
		ClientPort: s.c.port, Helo: s.sc.Hostname(), Sender: s.env.From, Recipient: rcpt, Reason: reason,
		Code: reply.Code, Status: reply.Status(), Text: reply.Text, Action: action, Outcome: "refused"}
}

func smtpError(r pipeline.Reply) *smtp.SMTPError {
	return &smtp.SMTPError{Code: r.Code, EnhancedCode: smtp.EnhancedCode(r.Enhanced), Message: r.Text}
}

func (s *session) Mail(from string, opts *smtp.MailOptions) error {
	g := s.c.gen
	if int(s.c.messages.Load()) >= g.cfg.Limits.MaxMessagesPerSession {
		return s.refuse(telemetry.ReasonMessagesPerSession, "", pipeline.Reply{Code: 451, Enhanced: [3]int{4, 7, 0},
			Text: "Too many messages in this session, reconnect to send more"})
	}
	s.Reset()
	if opts == nil {
		opts = &smtp.MailOptions{}
	}
	if hasControl(from) {
		return s.refuse(telemetry.ReasonBadAddress, "", pipeline.Reply{Code: 501, Enhanced: [3]int{5, 1, 7},
			Text: "Bad sender address syntax: control characters"})
	}
	if !opts.UTF8 && !isASCII(from) {
		return s.refuse(telemetry.ReasonBadAddress, "", pipeline.Reply{Code: 553, Enhanced: [3]int{5, 6, 7},
			Text: "Non-ASCII sender address needs SMTPUTF8"})
	}
	s.env = pipeline.Envelope{From: from, Ret: string(opts.Return), EnvID: opts.EnvelopeID, SMTPUTF8: opts.UTF8, Body: string(opts.Body)}
	s.inMail = true
	return nil
}

func (s *session) Rcpt(to string, opts *smtp.RcptOptions) error {
	g := s.c.gen
	routed := s.c.in.takeRouted(to)
	if !s.inMail {
		return smtpError(pipeline.Reply{Code: 503, Enhanced: [3]int{5, 5, 1}, Text: "MAIL first"})
	}
	if hasControl(to) {
		return s.refuse(telemetry.ReasonBadAddress, "", pipeline.Reply{Code: 501, Enhanced: [3]int{5, 1, 3},
			Text: "Bad recipient address syntax: control characters"})
	}
	if !s.env.SMTPUTF8 && !isASCII(to) {
		return s.refuse(telemetry.ReasonBadAddress, to, pipeline.Reply{Code: 553, Enhanced: [3]int{5, 6, 7},
			Text: "Non-ASCII recipient address needs SMTPUTF8"})
	}
	local, domain, ok := splitAddress(to)
	if !ok {
		return s.refuse(telemetry.ReasonBadAddress, to, pipeline.Reply{Code: 501, Enhanced: [3]int{5, 1, 3},
			Text: "Bad recipient address syntax"})
	}
	if !s.c.trusted && (routed || senderRouted(local)) {
		return s.refuse(telemetry.ReasonSenderRouting, to, pipeline.Reply{Code: 554, Enhanced: [3]int{5, 7, 1},
			Text: "Sender-specified routing is not allowed: <" + to + ">"})
	}
	if !s.c.relay && !g.protected.matches(domain) {
		return s.refuse(telemetry.ReasonRelayDenied, to, pipeline.Reply{Code: 554, Enhanced: [3]int{5, 7, 1},
			Text: "Relay access denied: <" + to + ">"})
	}
	rc := pipeline.Recipient{Addr: to}
	if opts != nil {
		for _, n := range opts.Notify {
			rc.Notify = append(rc.Notify, strings.ToUpper(string(n)))
		}
		rc.ORcpt, rc.ORcptType = opts.OriginalRecipient, strings.ToLower(string(opts.OriginalRecipientType))
	}
	s.env.Recipients = append(s.env.Recipients, rc)
	return nil
}
