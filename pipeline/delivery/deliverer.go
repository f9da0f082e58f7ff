package delivery

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatewatch/gatewatch/pipeline"
	"github.com/gatewatch/gatewatch/pipeline/spool"
	"github.com/gatewatch/gatewatch/telemetry"
	"github.com/gatewatch/gatewatch/telemetry/stats"
)

// Options are the deliverer's collaborators.
type Options struct {
	Hostname string // EHLO name, and the Reporting-MTA of DSNs
	Spool    *spool.Spool
	Emit     telemetry.Emitter
	Stats    *stats.Stats
	// ArchiveSent, when set, is given each message delivered to at least
	// one recipient before it leaves the spool. A failure is its own to
	// report: delivery goes on.
	ArchiveSent func(meta pipeline.Meta, content io.Reader)
}

// Deliverer schedules and performs delivery of spooled messages.
type Deliverer struct {
	opts     Options
	cfg      atomic.Pointer[Config]
	table    atomic.Pointer[table]
	resolver *resolver

	ready *fifo[queued] // messages to load and route

	mu       sync.Mutex
	pools    map[string]*pool // by route name and target
	retired  []*pool          // draining after a reload; Stop waits for them too
	inflight map[string]bool  // loaded and not yet finalised
	timers   map[string]*time.Timer
	stopped  bool

	stop    chan struct{}
	workers sync.WaitGroup
}

// queued names a message waiting to be dispatched, and where it waits.
// entry is set when the spool handed the message over just after writing
// it, so it need not be read back.
type queued struct {
	id    string
	state spool.QState
	entry *spool.Entry
}

// dispatchers is how many goroutines load and route messages; delivery
// itself runs in the per-route pools.
const dispatchers = 4

// New creates a deliverer for cfg.
func New(cfg Config, opts Options) (*Deliverer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if opts.Hostname == "" {
		return nil, errors.New("delivery: a hostname for EHLO is needed (smtp.hostname)")
	}
	d := &Deliverer{opts: opts, ready: newFIFO[queued](), pools: map[string]*pool{}, inflight: map[string]bool{},
		timers: map[string]*time.Timer{}, stop: make(chan struct{}), resolver: newResolver(opts.Stats)}
	d.cfg.Store(&cfg)
	t := compileTable(cfg)
	d.table.Store(&t)
	return d, nil
}

// Start begins delivering: ready messages at once, deferred ones when their
// next attempt is due (as recorded in their spool files).
func (d *Deliverer) Start(ready, deferred []string) {
	for i := 0; i < dispatchers; i++ {
		d.workers.Add(1)
		go d.dispatchLoop()
	}
	for _, id := range ready {
		d.ready.push(queued{id: id, state: spool.Incoming})
	}
	for _, id := range deferred {
		e, err := d.opts.Spool.Load(spool.Deferred, id)
		if err != nil {
			continue // corrupt ones were moved aside and reported by Load
		}
		d.schedule(id, spool.Deferred, time.Until(time.UnixMilli(e.State.Next)))
	}
}

// Enqueue is told about a message put in incoming (by an operator's release).
func (d *Deliverer) Enqueue(id string) { d.ready.push(queued{id: id, state: spool.Incoming}) }

// EnqueueEntry is the spool's hook: a message just became durable.
func (d *Deliverer) EnqueueEntry(e *spool.Entry) {
	d.ready.push(queued{id: e.Meta.ID, state: e.QState, entry: e})
}

// Reload puts a new routing table and retry schedule in force. Messages
// routed before keep their pools until those drain.
func (d *Deliverer) Reload(cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	t := compileTable(cfg)
	d.cfg.Store(&cfg)
	d.table.Store(&t)
	keep := map[string]bool{}
	for _, r := range t.routes {
		keep[poolKey(r)] = true
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for k, p := range d.pools {
		if !keep[k] {
			p.retire()
			delete(d.pools, k)
			d.retired = append(d.retired, p)
		}
	}
	return nil
}

// Stop ends delivery: queued jobs stay in the spool (active messages are
// requeued at the next start) and in-progress transactions finish.
func (d *Deliverer) Stop() {
	d.mu.Lock()
	if d.stopped {
		d.mu.Unlock()
		return
	}
	d.stopped = true
	close(d.stop)
	for _, t := range d.timers {
		t.Stop()
	}
	pools := append(make([]*pool, 0, len(d.pools)+len(d.retired)), d.retired...)
	for _, p := range d.pools {
		pools = append(pools, p)
	}
	d.mu.Unlock()
	for _, p := range pools {
		p.halt()
	}
	d.workers.Wait()
	for _, p := range pools {
		p.wait()
	}
}

func (d *Deliverer) dispatchLoop() {
	defer d.workers.Done()
	for {
		q, ok := d.ready.pop()
		if !ok {
			select {
			case <-d.ready.ready():
				continue
			case <-d.stop:
				return
			}
		}
		select {
		case <-d.stop:
			return
		default:
		}
		d.dispatch(q)
	}
}

// dispatch loads a message, marks it active and hands its pending
// recipients, grouped by route, to the route pools.
func (d *Deliverer) dispatch(q queued) {
	d.mu.Lock()
	if d.inflight[q.id] || d.stopped {
		d.mu.Unlock()
		return
	}
	d.inflight[q.id] = true
	d.mu.Unlock()

	e, err := q.entry, error(nil)
	if e == nil {
		e, err = d.opts.Spool.Load(q.state, q.id)
	}
	if err == nil {
		err = d.opts.Spool.MoveEntry(e, spool.Active)
	}
	if err != nil {
		// Corrupt files were moved aside and reported by Load; a missing
		// one was deleted or held meanwhile.
		d.done(q.id)
		return
	}
	m := newTracked(e)
	// Routing and hand-over happen under the lock that Reload and Stop
	// take: a job can never land in a pool that was just retired or
	// halted, and it is routed by the table in force.
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.stopped {
		delete(d.inflight, q.id) // stays active in the spool; requeued at the next start
		return
	}
	tbl := d.table.Load()
	groups := map[string]*job{}
	var order []string
	for i, st := range e.State.Rcpts {
		if st != spool.RcptPending {
			continue
		}
		d.opts.Stats.RoutingQueries.Inc()
		r, ok := tbl.lookup(e.Meta.Envelope.Recipients[i].Addr)
		if !ok {
			m.noRoute = append(m.noRoute, i)
			continue
		}
		k := poolKey(r)
		j := groups[k]
		if j == nil {
			j = &job{msg: m, route: r}
			groups[k] = j
			order = append(order, k)
		}
		j.rcpts = append(j.rcpts, i)
	}
	m.pending.Store(int32(len(order)))
	if len(order) == 0 {
		go d.finalize(m) // finalize takes d.mu itself
		return
	}
	for _, k := range order {
		d.poolLocked(groups[k].route).push(groups[k])
	}
}

// poolLocked returns the pool of a route, starting it on first use. Called
// with d.mu held.
func (d *Deliverer) poolLocked(r compiledRoute) *pool {
	k := poolKey(r)
	p := d.pools[k]
	if p == nil {
		p = newPool(d, r)
		d.pools[k] = p
	}
	return p
}

func poolKey(r compiledRoute) string {
	return fmt.Sprintf("%s\x00%s\x00%d", r.name, r.target, r.conc)
}

// done forgets a message that is no longer being delivered.
func (d *Deliverer) done(id string) {
	d.mu.Lock()
	delete(d.inflight, id)
	d.mu.Unlock()
}

// schedule dispatches a waiting message (normally in deferred) after wait.
func (d *Deliverer) schedule(id string, from spool.QState, wait time.Duration) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.stopped {
		return
	}
	if t := d.timers[id]; t != nil {
		t.Stop()
	}
	d.timers[id] = time.AfterFunc(max(wait, 0), func() {
		d.mu.Lock()
		delete(d.timers, id)
		d.mu.Unlock()
		d.ready.push(queued{id: id, state: from})
	})
}

// backoff is the wait before attempt n+1 after n failed attempts.
func backoff(r Retry, attempts int) time.Duration {
	w := r.Initial
	for i := 1; i < attempts && w < r.Max; i++ {
		w *= 2
	}
	return min(w, r.Max)
}

// ErrBusy means a message is being delivered right now and cannot be
// changed until the attempt ends.
var ErrBusy = errors.New("message is being delivered right now, try again in a moment")
