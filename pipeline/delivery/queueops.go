package delivery

import (
	"github.com/gatewatch/gatewatch/pipeline"
	"github.com/gatewatch/gatewatch/pipeline/spool"
	"github.com/gatewatch/gatewatch/telemetry"
)

// Operator actions while the gateway runs: the spool change plus the
// matching change to the schedule.

// Hold stops delivery of a queued message until it is released.
func (d *Deliverer) Hold(id string) error {
	if err := d.quiet(id); err != nil {
		return err
	}
	err := d.opts.Spool.Hold(id)
	d.audit(id, "hold", err)
	d.keepScheduled(id, err)
	return err
}

// Release puts a held message back for delivery at once.
func (d *Deliverer) Release(id string) error {
	err := d.opts.Spool.Release(id)
	d.audit(id, "release", err)
	if err == nil {
		d.Enqueue(id)
	}
	return err
}

// Delete removes a queued message without delivering it.
func (d *Deliverer) Delete(id string) error {
	if err := d.quiet(id); err != nil {
		return err
	}
	// Read what the message was before it goes, for its final record; a
	// corrupt file has nothing to tell.
	var entry *spool.Entry
	for _, st := range []spool.QState{spool.Incoming, spool.Deferred, spool.Hold} {
		if e, err := d.opts.Spool.Load(st, id); err == nil {
			entry = e
			break
		}
	}
	_, err := d.opts.Spool.Delete(id)
	d.audit(id, "delete", err)
	d.keepScheduled(id, err)
	if err == nil && entry != nil {
		ev := pipeline.CompletedEvent(&entry.Meta, "delete", telemetry.OutcomeDeleted)
		ev.Attempt = entry.State.Attempts
		ev.Text = "deleted from the queue by an operator"
		d.opts.Emit.Emit(ev)
	}
	return err
}

// Flush attempts deferred messages now; id "" means all of them.
func (d *Deliverer) Flush(id string) (int, error) {
	ids := []string{id}
	if id == "" {
		var err error
		if ids, err = d.opts.Spool.List(spool.Deferred); err != nil {
			return 0, err
		}
	}
	n := 0
	for _, i := range ids {
		d.mu.Lock()
		t := d.timers[i]
		if t != nil && t.Stop() {
			delete(d.timers, i)
		} else {
			t = nil
		}
		d.mu.Unlock()
		if t != nil {
			d.ready.push(queued{id: i, state: spool.Deferred})
			n++
		}
	}
	d.audit(id, "flush", nil)
	return n, nil
}

// quiet makes sure nothing is delivering id and cancels its retry timer.
func (d *Deliverer) quiet(id string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.inflight[id] {
		return ErrBusy
	}
	if t := d.timers[id]; t != nil {
		t.Stop()
		delete(d.timers, id)
	}
	return nil
}

// keepScheduled gives a deferred message its retry back when an operator
// action on it failed after quiet cancelled the timer.
func (d *Deliverer) keepScheduled(id string, err error) {
	if err == nil || !spool.ValidID(id) {
		return
	}
	if _, e := d.opts.Spool.Load(spool.Deferred, id); e == nil {
		d.schedule(id, spool.Deferred, d.cfg.Load().Retry.Initial)
	}
}

func (d *Deliverer) audit(id, action string, err error) {
	ev := telemetry.Event{Type: telemetry.QueueAdmin, QueueID: id, Text: action}
	if err != nil {
		ev.Err = err.Error()
	}
	d.opts.Emit.Emit(ev)
}
