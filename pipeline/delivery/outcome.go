package delivery

import (
	"sync"
	"sync/atomic"

	"github.com/gatewatch/gatewatch/pipeline"
	"github.com/gatewatch/gatewatch/pipeline/spool"
	"github.com/gatewatch/gatewatch/telemetry"
)

// tracked is a message out for delivery: its spool entry and what each
// route's job found.
type tracked struct {
	entry   *spool.Entry
	pending atomic.Int32 // jobs not yet complete

	mu      sync.Mutex
	results []rcptResult
	noRoute []int // recipients no route matched
}

func newTracked(e *spool.Entry) *tracked { return &tracked{entry: e} }

// job is the recipients of one message that share a route: one transaction.
type job struct {
	msg   *tracked
	route compiledRoute
	rcpts []int // indices into the envelope's recipients
}

type outcome uint8

const (
	delivered outcome = iota + 1
	deferred
	failed
)

// rcptResult is what became of one recipient in one attempt.
type rcptResult struct {
	idx     int
	outcome outcome
	reply   pipeline.Reply // the next hop's reply, or ours when it never answered
	remote  string         // next hop that gave it
	route   string
	reason  telemetry.Reason // for failed
	// onward is set when the next hop took the DSN request over, so a
	// SUCCESS notification is its business, not ours.
	onward bool
}

// record stores a job's results; the last job of a message finalises it.
func (d *Deliverer) record(j *job, results []rcptResult) {
	m := j.msg
	m.mu.Lock()
	m.results = append(m.results, results...)
	m.mu.Unlock()
	if m.pending.Add(-1) == 0 {
		d.finalize(m)
	}
}
