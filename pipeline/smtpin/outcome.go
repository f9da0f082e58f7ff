package smtpin

import (
	"errors"
	"fmt"
	"strings"

	"github.com/emersion/go-smtp"

	"github.com/gatewatch/gatewatch/pipeline"
	"github.com/gatewatch/gatewatch/pipeline/policy"
	"github.com/gatewatch/gatewatch/pipeline/spool"
	"github.com/gatewatch/gatewatch/telemetry"
)

// Aftercare carries out what a policy decision asks for beyond the queue.
// Any of it may be nil: a decision that needs a missing piece defers the
// message rather than skip the piece.
type Aftercare struct {
	// Quarantine keeps m's content under id for the outcome's recipients;
	// Withdraw takes such a copy back when the message is deferred after all.
	Quarantine func(m *pipeline.Message, o pipeline.Outcome, id string) error
	Withdraw   func(id string)
	// ArchiveReceived keeps m as received (best effort: it reports its own failures).
	ArchiveReceived func(m *pipeline.Message)
	// Bounce reports to m's sender that rcpts were refused with reply.
	Bounce func(m *pipeline.Message, rcpts []pipeline.Recipient, reply pipeline.Reply) error
	// Notify sends the outcome's notifications about m (copyID: the copy concerned).
	Notify func(m *pipeline.Message, o pipeline.Outcome, copyID string)
}

// SetAftercare gives the receiver what it needs to carry out decisions;
// call it before Start.
func (r *Receiver) SetAftercare(a Aftercare) { r.aftercare = a }

// errAftercare is a decision asking for something not configured.
var errAftercare = errors.New("the policy asks for a quarantine or a bounce and none is configured")

// plannedCopy is one outcome made ready before anything is committed.
type plannedCopy struct {
	o     pipeline.Outcome
	id    string // the copy's own queue ID; "" when it has none (dropped, refused)
	qid   string // the ID of its quarantined copy, if any
	draft *spool.Draft
	meta  pipeline.Meta
}

// carryOut answers DATA for a decision that splits the recipients by
// outcome. A message with some recipients refused and some accepted is
// accepted (after DATA one reply covers every recipient) and the refused
// ones are bounced, as Postfix does with amavis. Every copy is prepared and
// made durable before the single 250; any failure before it is a 451 for
// the whole message.
func (s *session) carryOut(m *pipeline.Message, d *spool.Draft, dec pipeline.Decision, size int64) error {
	ac := s.r.aftercare
	switch dec.Action {
	case pipeline.ActionTempFail, pipeline.ActionReject:
		reason := telemetry.ReasonScanReject
		if dec.Action == pipeline.ActionTempFail {
			reason = telemetry.ReasonScanTempfail
		}
		for _, o := range dec.Outcomes {
			s.applied(m, o, "")
			if dec.Action == pipeline.ActionReject && ac.Notify != nil && len(o.Notify) > 0 {
				ac.Notify(m, o, m.ID)
			}
		}
		d.Abort()
		return s.refuseMessage(m, reason, dec.Reply)
	}
	if len(dec.Outcomes) == 1 && unchanged(dec.Outcomes[0]) {
		return s.commitAsIs(m, d, dec.Outcomes[0], size)
	}

	plan, err := s.prepare(m, dec.Outcomes)
	if err == nil {
		err = s.bounceRefused(m, plan)
	}
	if err == nil {
		if ac.ArchiveReceived != nil {
			ac.ArchiveReceived(m)
		}
		err = s.commitCopies(plan)
	}
	if err != nil {
		// The client will send it again: nothing of this attempt may stay.
		for _, p := range plan {
			if p.draft != nil {
				p.draft.Abort()
			}
			if p.qid != "" {
				ac.Withdraw(p.qid)
			}
		}
		d.Abort()
		s.r.emit.Emit(telemetry.Event{Type: telemetry.MessageRefused, QueueID: m.ID, SessionID: s.c.sessionID,
			Sender: m.Envelope.From, Reason: telemetry.ReasonSpoolError, Err: err.Error(),
			Code: 451, Status: "4.3.0", Action: "tempfail", Outcome: "refused", Text: "policy outcome could not be carried out"})
		return smtpError(pipeline.Reply{Code: 451, Enhanced: [3]int{4, 3, 0}, Text: "Temporary local problem, try again later"})
	}
	var copies []string
	for _, p := range plan {
		s.applied(m, p.o, p.id)
		s.completedOutcome(m, p)
		if ac.Notify != nil && len(p.o.Notify) > 0 {
			about := p.id
			if p.qid != "" {
				about = p.qid // the one an operator can release
			}
			ac.Notify(m, p.o, about)
		}
		if p.id != "" && p.o.Action == pipeline.ActionAccept {
			copies = append(copies, p.id)
		}
	}
	d.Abort() // every copy has its own file now
	s.c.messages.Add(1)
	s.accepted(m, size, fmt.Sprintf("split into %d outcome(s)", len(plan)))
	// The message's own ID comes last, where clients and scripts look for it.
	text := "Ok: queued as " + m.ID
	if len(copies) > 0 {
		text = "Ok: delivered as " + strings.Join(copies, ", ") + "; queued as " + m.ID
	}
	return &smtp.SMTPError{Code: 250, EnhancedCode: smtp.EnhancedCode{2, 0, 0}, Message: text}
}

// unchanged reports whether an outcome delivers the message exactly as
// received, so the received file can be queued as it is.
func unchanged(o pipeline.Outcome) bool {
	return o.Action == pipeline.ActionAccept && !o.Changes() && !o.QuarantineCopy
}

func (s *session) commitAsIs(m *pipeline.Message, d *spool.Draft, o pipeline.Outcome, size int64) error {
	if ac := s.r.aftercare; ac.ArchiveReceived != nil {
		ac.ArchiveReceived(m)
	}
	if err := d.Commit(&m.Meta); err != nil {
		return s.refuse(telemetry.ReasonSpoolError, "", pipeline.Reply{Code: 451, Enhanced: [3]int{4, 3, 0},
			Text: "Temporary local problem, try again later"})
	}
	s.applied(m, o, m.ID)
	if ac := s.r.aftercare; ac.Notify != nil && len(o.Notify) > 0 {
		ac.Notify(m, o, m.ID)
	}
	s.c.messages.Add(1)
	s.accepted(m, size, "queued")
	return &smtp.SMTPError{Code: 250, EnhancedCode: smtp.EnhancedCode{2, 0, 0}, Message: "Ok: queued as " + m.ID}
}

// prepare renders the delivered copies into drafts and files the
// quarantined ones; nothing is queued yet.
func (s *session) prepare(m *pipeline.Message, outcomes []pipeline.Outcome) ([]plannedCopy, error) {
	ac := s.r.aftercare
	plan := make([]plannedCopy, 0, len(outcomes))
	for _, o := range outcomes {
		// In the plan from the start, so a failure further on undoes
		// whatever this outcome already did.
		plan = append(plan, plannedCopy{o: o})
		p := &plan[len(plan)-1]
		if o.Action == pipeline.ActionQuarantine || o.Action == pipeline.ActionAccept && o.QuarantineCopy {
			if ac.Quarantine == nil || ac.Withdraw == nil {
				return plan, errAftercare
			}
			qid := s.r.spool.NewID()
			if err := ac.Quarantine(m, o, qid); err != nil {
				return plan, fmt.Errorf("quarantine: %w", err)
			}
			p.id, p.qid = qid, qid
		}
		if o.Action != pipeline.ActionAccept {
			continue
		}
		p.id = s.r.spool.NewID()
		rcpts := deliveryRecipients(o)
		draft, err := s.r.spool.NewDraft(p.id, len(rcpts))
		if err != nil {
			return plan, err
		}
		p.draft = draft
		if err := policy.Render(draft, m, o.Treatment, p.id); err != nil {
			return plan, fmt.Errorf("render copy: %w", err)
		}
		if err := draft.EndContent(); err != nil {
			return plan, err
		}
		p.meta = m.Meta
		p.meta.Parent, p.meta.Group = m.ID, o.Group
		p.meta.Envelope.Recipients = rcpts
	}
	return plan, nil
}

// deliveryRecipients are whom a delivered copy goes to: the redirection
// if any, else the outcome's recipients; plus the BCC addresses.
func deliveryRecipients(o pipeline.Outcome) []pipeline.Recipient {
	var out []pipeline.Recipient
	seen := map[string]bool{}
	add := func(r pipeline.Recipient) {
		if k := strings.ToLower(r.Addr); !seen[k] {
			seen[k] = true
			out = append(out, r)
		}
	}
	if len(o.RedirectTo) > 0 {
		for _, a := range o.RedirectTo {
			add(pipeline.Recipient{Addr: a})
		}
	} else {
		for _, r := range o.Recipients {
			add(r)
		}
	}
	for _, a := range o.CopyTo {
		add(pipeline.Recipient{Addr: a, Notify: []string{"NEVER"}})
	}
	return out
}

func (s *session) bounceRefused(m *pipeline.Message, plan []plannedCopy) error {
	for _, p := range plan {
		if p.o.Action != pipeline.ActionReject {
			continue
		}
		if s.r.aftercare.Bounce == nil {
			return errAftercare
		}
		if err := s.r.aftercare.Bounce(m, p.o.Recipients, p.o.Reply); err != nil {
			return fmt.Errorf("bounce: %w", err)
		}
	}
	return nil
}

// commitCopies queues the delivered copies. A failure part-way leaves the
// ones committed in the queue: the client retries the whole message, and a
// duplicate is better than a loss.
func (s *session) commitCopies(plan []plannedCopy) error {
	for i := range plan {
		p := &plan[i]
		if p.draft == nil {
			continue
		}
		err := p.draft.Commit(&p.meta)
		p.draft = nil // committed or aborted by Commit
		if err != nil {
			return err
		}
	}
	return nil
}

// actionWord is the configuration's name for an action.
func actionWord(a pipeline.Action) string {
	switch a {
	case pipeline.ActionAccept:
		return "deliver"
	case pipeline.ActionDiscard:
		return "drop"
	}
	return a.String()
}

// applied reports what the policy decided for an outcome's recipients.
func (s *session) applied(m *pipeline.Message, o pipeline.Outcome, copyID string) {
	ev := telemetry.Event{Type: telemetry.PolicyApplied, QueueID: copyID, Parent: m.ID, SessionID: s.c.sessionID,
		Group: o.Group, Reason: telemetry.Reason(o.Status), Action: actionWord(o.Action), Sender: m.Envelope.From,
		Recipient: pipeline.RecipientList(o.Recipients), Recipients: len(o.Recipients), Subject: m.Subject}
	if o.Action == pipeline.ActionQuarantine || o.QuarantineCopy {
		ev.Category = pipeline.CategoryOf(o.Status)
	}
	if o.Action == pipeline.ActionReject || o.Action == pipeline.ActionTempFail {
		ev.Code, ev.Status, ev.Text = o.Reply.Code, o.Reply.Status(), o.Reply.Text
	}
	s.r.emit.Emit(ev)
}

// completedOutcome is the closing record of an outcome that never reaches
// the queue: dropped, quarantined or bounced recipients.
func (s *session) completedOutcome(m *pipeline.Message, p plannedCopy) {
	var outcome string
	switch p.o.Action {
	case pipeline.ActionDiscard:
		outcome = telemetry.OutcomeDiscarded
	case pipeline.ActionQuarantine:
		outcome = telemetry.OutcomeQuarantined
	case pipeline.ActionReject:
		outcome = telemetry.OutcomeBounced
	default:
		return
	}
	meta := m.Meta
	meta.Envelope.Recipients = p.o.Recipients
	ev := pipeline.CompletedEvent(&meta, actionWord(p.o.Action), outcome)
	if p.id != "" {
		ev.QueueID = p.id
	}
	ev.Parent, ev.Group, ev.Text = m.ID, p.o.Group, "policy: "+p.o.Status
	if p.id == "" {
		ev.Parent = "" // the record is the message's own
	}
	if p.o.Action == pipeline.ActionQuarantine {
		ev.Category = pipeline.CategoryOf(p.o.Status)
	}
	if p.o.Action == pipeline.ActionReject {
		ev.Code, ev.Status = p.o.Reply.Code, p.o.Reply.Status()
	}
	s.r.emit.Emit(ev)
}
