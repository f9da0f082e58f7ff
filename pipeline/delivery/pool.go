package delivery

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatewatch/gatewatch/pipeline"
	"github.com/gatewatch/gatewatch/telemetry"
)

// pool runs the transactions of one route with up to route.conc workers,
// each keeping its own connection to the next hop between messages.
type pool struct {
	d       *Deliverer
	route   compiledRoute
	jobs    *fifo[*job]
	halted  chan struct{}
	retired chan struct{}
	retire1 sync.Once
	halt1   sync.Once
	wg      sync.WaitGroup

	mu        sync.Mutex
	downUntil time.Time // while in the future, the next hop is not tried
	lastErr   string
	isDown    bool
	// noTLSUntil: the next hop failed STARTTLS; plaintext until then.
	noTLSUntil atomic.Int64
	bufs       sync.Pool // *[]byte copy buffers for dir:// writes
}

func newPool(d *Deliverer, r compiledRoute) *pool {
	p := &pool{d: d, route: r, jobs: newFIFO[*job](), halted: make(chan struct{}), retired: make(chan struct{})}
	p.bufs.New = func() any { b := make([]byte, 32<<10); return &b }
	d.opts.Stats.Introduce("route", r.name)
	d.opts.Stats.RouteUp.With(r.name).Set(1)
	for i := 0; i < r.conc; i++ {
		p.wg.Add(1)
		go p.work()
	}
	return p
}

func (p *pool) push(j *job) {
	p.d.opts.Stats.RouteQueued.With(p.route.name).Add(1)
	p.jobs.push(j)
}

// retire lets the workers finish the queue, then end.
func (p *pool) retire() { p.retire1.Do(func() { close(p.retired) }) }

// halt ends the workers after their current transaction.
func (p *pool) halt() { p.halt1.Do(func() { close(p.halted) }) }

func (p *pool) wait() { p.wg.Wait() }

func (p *pool) work() {
	defer p.wg.Done()
	var oc *outConn
	defer func() { oc.close(p.d.opts.Stats) }()
	for {
		select {
		case <-p.halted:
			return
		default:
		}
		j, ok := p.jobs.pop()
		if ok {
			p.d.opts.Stats.RouteQueued.With(p.route.name).Add(-1)
		}
		if !ok {
			var idle <-chan time.Time
			if oc != nil {
				idle = time.After(p.d.cfg.Load().Timeouts.Idle)
			}
			select {
			case <-p.jobs.ready():
			case <-idle:
				oc.close(p.d.opts.Stats)
				oc = nil
			case <-p.retired:
				if p.jobs.len() == 0 {
					return
				}
			case <-p.halted:
				return
			}
			continue
		}
		var results []rcptResult
		if p.route.target.kind == "dir" {
			results = p.deliverDir(j)
		} else {
			results = p.deliverSMTP(&oc, j)
		}
		p.d.record(j, results)
	}
}

// down reports whether the next hop is known unreachable right now.
func (p *pool) down() (bool, string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return time.Now().Before(p.downUntil), p.lastErr
}

func (p *pool) markDown(err error) {
	st := p.d.opts.Stats
	st.OutgoingConnectionsFailed.Inc()
	st.RouteConnFails.With(p.route.name).Inc()
	st.RouteLastFailure.With(p.route.name).Set(err.Error())
	p.mu.Lock()
	p.downUntil = time.Now().Add(p.d.cfg.Load().Retry.RouteDown)
	p.lastErr = err.Error()
	was := p.isDown
	p.isDown = true
	p.mu.Unlock()
	if !was {
		p.d.opts.Emit.Emit(telemetry.Event{Type: telemetry.RouteUnreachable, Route: p.route.name,
			Remote: p.route.target.String(), Err: err.Error()})
	}
}

func (p *pool) markUp() {
	p.mu.Lock()
	was := p.isDown
	p.isDown, p.downUntil = false, time.Time{}
	p.mu.Unlock()
	if was {
		p.d.opts.Emit.Emit(telemetry.Event{Type: telemetry.RouteRecovered, Route: p.route.name, Remote: p.route.target.String()})
	}
}

// allResults gives every recipient of j the same outcome.
func allResults(j *job, o outcome, reply pipeline.Reply, remote string, reason telemetry.Reason) []rcptResult {
	out := make([]rcptResult, len(j.rcpts))
	for i, idx := range j.rcpts {
		out[i] = rcptResult{idx: idx, outcome: o, reply: reply, remote: remote, route: j.route.name, reason: reason}
	}
	return out
}

// report emits one event per outcome class of a finished job.
func (p *pool) report(j *job, results []rcptResult, took time.Duration) {
	e := j.msg.entry
	type class struct {
		n     int
		first rcptResult
	}
	var by [failed + 1]class
	for _, r := range results {
		c := &by[r.outcome]
		if c.n == 0 {
			c.first = r
		}
		c.n++
	}
	base := telemetry.Event{QueueID: e.Meta.ID, Sender: e.Meta.Envelope.From, Route: p.route.name,
		Size: e.Meta.Size, Attempt: e.State.Attempts + 1, Duration: took}
	for o, c := range by {
		if c.n == 0 {
			continue
		}
		ev := base
		ev.Recipients = c.n
		ev.Recipient = e.Meta.Envelope.Recipients[c.first.idx].Addr
		ev.Remote = c.first.remote
		ev.Code, ev.Status, ev.Text = c.first.reply.Code, c.first.reply.Status(), c.first.reply.Text
		switch outcome(o) {
		case delivered:
			ev.Type = telemetry.DeliverySent
		case deferred:
			ev.Type = telemetry.DeliveryDeferred
		case failed:
			ev.Type = telemetry.DeliveryBounced
			ev.Reason = c.first.reason
		}
		p.d.opts.Emit.Emit(ev)
	}
}
