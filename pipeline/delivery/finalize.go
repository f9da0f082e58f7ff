package delivery

import (
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/gatewatch/gatewatch/pipeline"
	"github.com/gatewatch/gatewatch/pipeline/spool"
	"github.com/gatewatch/gatewatch/telemetry"
)

// finalize settles a message after an attempt: recipients with a final
// outcome are marked, the sender is notified when RFC 3461 says so, and the
// message is then removed (all final) or deferred with backoff.
func (d *Deliverer) finalize(m *tracked) {
	e := m.entry
	id := e.Meta.ID
	defer d.done(id)
	cfg := d.cfg.Load()
	now := time.Now()

	results := m.results
	for n, i := range m.noRoute {
		results = append(results, rcptResult{idx: i, outcome: failed, reason: telemetry.ReasonNoRoute,
			reply: pipeline.Reply{Code: 554, Enhanced: [3]int{5, 4, 4}, Text: "No route to this recipient"}})
		if n == 0 {
			d.opts.Emit.Emit(telemetry.Event{Type: telemetry.DeliveryBounced, QueueID: id, Sender: e.Meta.Envelope.From,
				Recipient: e.Meta.Envelope.Recipients[i].Addr, Recipients: len(m.noRoute), Reason: telemetry.ReasonNoRoute,
				Code: 554, Status: "5.4.4", Attempt: e.State.Attempts + 1, Text: "no route matches the recipient"})
		}
	}
	// Recipients still pending past the queue lifetime fail now.
	expired := now.Sub(e.Meta.Received) > cfg.Retry.Lifetime
	if expired {
		var n int
		var first rcptResult
		for i, r := range results {
			if r.outcome == deferred {
				results[i].outcome = failed
				results[i].reason = telemetry.ReasonExpired
				results[i].reply = pipeline.Reply{Code: r.reply.Code, Enhanced: [3]int{4, 4, 7},
					Text: fmt.Sprintf("Delivery time expired after %s; last error: %s", cfg.Retry.Lifetime, r.reply)}
				if n == 0 {
					first = r
				}
				n++
			}
		}
		if n > 0 {
			d.opts.Emit.Emit(telemetry.Event{Type: telemetry.DeliveryBounced, QueueID: id, Sender: e.Meta.Envelope.From,
				Recipient: e.Meta.Envelope.Recipients[first.idx].Addr, Recipients: n, Route: first.route, Remote: first.remote,
				Reason: telemetry.ReasonExpired, Code: first.reply.Code, Status: "4.4.7",
				Attempt: e.State.Attempts + 1, Text: "queue lifetime ended"})
		}
	}

	var reports []dsnReport
	for _, r := range results {
		rc := e.Meta.Envelope.Recipients[r.idx]
		switch r.outcome {
		case delivered:
			e.State.Rcpts[r.idx] = spool.RcptDelivered
			if rc.Notifies("SUCCESS") && !r.onward {
				action := "relayed"
				if r.remote == "" {
					action = "delivered"
				}
				reports = append(reports, dsnReport{rcpt: rc, action: action, reply: r.reply, remote: r.remote})
			}
		case failed:
			e.State.Rcpts[r.idx] = spool.RcptFailed
			if rc.Notifies("FAILURE") {
				reports = append(reports, dsnReport{rcpt: rc, action: "failed", reply: r.reply, remote: r.remote})
			}
		}
	}
	if len(reports) > 0 && e.Meta.Envelope.From != "" {
		if err := d.notifySender(e, reports, now); err != nil {
			// Without the report on disk the failures must not be
			// forgotten: put those recipients back to pending, so the
			// next attempt fails them again and reports then.
			for _, r := range results {
				if r.outcome == failed {
					e.State.Rcpts[r.idx] = spool.RcptPending
				}
			}
		}
	}

	pending := 0
	for _, st := range e.State.Rcpts {
		if st == spool.RcptPending {
			pending++
		}
	}
	if pending == 0 {
		d.archiveSent(e)
		if err := d.opts.Spool.Remove(id, e.QState); err != nil {
			d.opts.Emit.Emit(telemetry.Event{Type: telemetry.DeliveryDeferred, QueueID: id, Err: err.Error(),
				Text: "could not remove the delivered message from the spool"})
			return
		}
		d.opts.Emit.Emit(completed(e, results))
		return
	}
	e.State.Attempts++
	wait := backoff(cfg.Retry, e.State.Attempts)
	e.State.Next = now.Add(wait).UnixMilli()
	if err := d.opts.Spool.SaveState(e, true); err != nil {
		wait = cfg.Retry.Initial // state lost: retry soon, duplicates over loss
	}
	if err := d.opts.Spool.MoveEntry(e, spool.Deferred); err != nil {
		d.opts.Emit.Emit(telemetry.Event{Type: telemetry.DeliveryDeferred, QueueID: id, Err: err.Error(),
			Text: "could not move the message to the deferred queue; it is retried from the active queue"})
		d.schedule(id, e.QState, wait)
		return
	}
	d.schedule(id, spool.Deferred, wait)
}

// archiveSent hands a message that reached someone to the sent archive.
func (d *Deliverer) archiveSent(e *spool.Entry) {
	if d.opts.ArchiveSent == nil || e.Meta.Kind != pipeline.KindMail || !slices.Contains(e.State.Rcpts, spool.RcptDelivered) {
		return
	}
	content, err := e.OpenContent()
	if err != nil {
		return
	}
	defer content.Close()
	d.opts.ArchiveSent(e.Meta, content)
}

// Bounce queues a non-delivery report for the recipients of orig a policy
// refused after DATA while accepting the message for others: the one reply
// to DATA cannot refuse some recipients only (as Postfix with amavis does).
func (d *Deliverer) Bounce(orig pipeline.Meta, content io.ReaderAt, rcpts []pipeline.Recipient, reply pipeline.Reply) error {
	if orig.Envelope.From == "" {
		return nil
	}
	var reports []dsnReport
	for _, r := range rcpts {
		if r.Notifies("FAILURE") {
			reports = append(reports, dsnReport{rcpt: r, action: "failed", reply: reply})
		}
	}
	if len(reports) == 0 {
		return nil
	}
	body, err := buildDSN(d.opts.Hostname, orig, content, reports, time.Now())
	if err != nil {
		return fmt.Errorf("bounce for %s: %w", orig.ID, err)
	}
	return d.inject(orig, body, reports)
}

// notifySender queues a delivery status notification for e's sender.
func (d *Deliverer) notifySender(e *spool.Entry, reports []dsnReport, now time.Time) error {
	content, err := e.OpenContent()
	if err != nil {
		return err
	}
	defer content.Close()
	body, err := buildDSN(d.opts.Hostname, e.Meta, content, reports, now)
	if err != nil {
		return err
	}
	return d.inject(e.Meta, body, reports)
}

// inject spools a generated DSN addressed to the original sender.
func (d *Deliverer) inject(orig pipeline.Meta, body []byte, reports []dsnReport) error {
	sp := d.opts.Spool
	id := sp.NewID()
	draft, err := sp.NewDraft(id, 1)
	if err != nil {
		return err
	}
	if _, err := draft.Write(body); err != nil {
		draft.Abort()
		return err
	}
	meta := pipeline.Meta{ID: id, Kind: pipeline.KindDSN, Parent: orig.ID, Received: time.Now(),
		EightBit: orig.EightBit,
		Envelope: pipeline.Envelope{From: "", Recipients: []pipeline.Recipient{{Addr: orig.Envelope.From}}, SMTPUTF8: orig.Envelope.SMTPUTF8}}
	if err := draft.Commit(&meta); err != nil {
		return err
	}
	action := reports[0].action
	d.opts.Emit.Emit(telemetry.Event{Type: telemetry.DSNGenerated, QueueID: id, Sender: "", Recipient: orig.Envelope.From,
		Recipients: len(reports), Size: meta.Size, Text: fmt.Sprintf("%s notification for %s", action, orig.ID)})
	return nil
}

// completed is the message's one summary record once every recipient has a
// final outcome.
func completed(e *spool.Entry, last []rcptResult) telemetry.Event {
	var nDelivered, nFailed int
	for _, st := range e.State.Rcpts {
		switch st {
		case spool.RcptDelivered:
			nDelivered++
		case spool.RcptFailed:
			nFailed++
		}
	}
	outcome := telemetry.OutcomePartial
	switch {
	case nFailed == 0:
		outcome = telemetry.OutcomeDelivered
	case nDelivered == 0:
		outcome = telemetry.OutcomeBounced
	}
	ev := pipeline.CompletedEvent(&e.Meta, "accept", outcome)
	ev.Attempt = e.State.Attempts + 1
	ev.Text = fmt.Sprintf("%d delivered, %d failed", nDelivered, nFailed)
	// The last transaction tells where the message went and, for a
	// failure, what the next hop said.
	for _, r := range last {
		if r.route != "" && ev.Route == "" {
			ev.Route, ev.Remote = r.route, r.remote
		}
		if r.outcome == failed && ev.Code == 0 {
			ev.Code, ev.Status, ev.Reason = r.reply.Code, r.reply.Status(), r.reason
			ev.Text += ": " + r.reply.String()
		}
	}
	return ev
}
