// Package traps sends the gateway's SNMP notifications: for every event the
// catalog marks as a trap, a GATEWATCH-MIB notification goes to each
// configured receiver (v2c or v3 authPriv, trap or inform) and, optionally,
// through the AgentX master agent. A storm guard limits each event type, and
// every receiver has its own worker and bounded queue, so a dead receiver
// never blocks the bus or the other receivers.
package traps

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/gatewatch/gatewatch/telemetry"
	"github.com/gatewatch/gatewatch/telemetry/mib"
	"github.com/gatewatch/gatewatch/telemetry/stats"
)

// Options configure a Sender.
type Options struct {
	Targets  []Target
	Stats    *stats.Stats // required
	Hostname string       // gwHostname in every notification
	// EngineID is our authoritative engine ID for v3 traps, 5 to 32
	// bytes; empty derives a stable one from Hostname (DeriveEngineID).
	EngineID []byte
	// BootsFile keeps snmpEngineBoots across restarts; New adds one.
	// Empty: boots is always 1, and a receiver that saw an earlier run
	// silently drops this run's v3 traps until its engine time has caught
	// up (net-snmp takes them for replays).
	BootsFile string
	// Storm guard: per event type, at most Burst notifications per
	// Interval (a token bucket refilling Burst tokens per Interval).
	// Defaults 5 and 1m.
	Burst    int
	Interval time.Duration
	// Notifier, when set, also gets every notification (AgentX Notify
	// through snmpd); its counters use the target label NotifierTarget.
	Notifier Notifier
	// Started is when the gateway started: sysUpTime.0 and the v3 engine
	// time count from it. Zero means the time of New.
	Started time.Time
	// Timeout bounds one send; an inform waits this long per try, and a
	// Notify this long in all. Default 2s.
	Timeout time.Duration
	// Retries is how often an unacknowledged inform is sent again after
	// the first try. 0 means the default, 2; negative means none.
	Retries int
}

const (
	defaultBurst    = 5
	defaultInterval = time.Minute
	defaultTimeout  = 2 * time.Second
	defaultRetries  = 2
	// queueSize bounds each receiver's backlog: the storm guard keeps the
	// normal rate far below it, so only a receiver that stopped answering
	// informs fills it.
	queueSize = 128
	// abortWait bounds the wait for workers after Close gave up on them;
	// only a Notifier that ignores its context can take that long.
	abortWait = time.Second
)

// Sender turns trap events into notifications. Handle is its bus handler.
type Sender struct {
	st        *stats.Stats
	hostname  string
	started   time.Time
	engineID  []byte
	boots     uint32
	closeWait time.Duration
	workers   []*worker
	now       func() time.Time // the storm guard's clock

	mu     sync.Mutex // serialises Handle and Close
	guard  *guard
	closed bool
	done   chan struct{} // closed when Close has finished
}

// New validates the options, counts a boot in BootsFile and starts one
// worker per target (and one for the Notifier).
func New(o Options) (*Sender, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	o.defaults()
	engineID := slices.Clone(o.EngineID)
	if len(engineID) == 0 {
		engineID = DeriveEngineID(o.Hostname)
	}
	boots, err := nextBoots(o.BootsFile)
	if err != nil {
		return nil, err
	}
	s := &Sender{
		st:        o.Stats,
		hostname:  o.Hostname,
		started:   o.Started,
		engineID:  engineID,
		boots:     boots,
		closeWait: max(time.Second, o.Timeout*time.Duration(o.Retries+1)),
		now:       time.Now,
		guard:     newGuard(o.Burst, o.Interval),
		done:      make(chan struct{}),
	}
	for _, t := range o.Targets {
		host, port, _ := splitTarget(t.Target)
		d := &snmpTarget{t: t, host: host, port: port, timeout: o.Timeout, retries: o.Retries,
			started: o.Started, engineID: engineID, boots: boots}
		s.workers = append(s.workers, startWorker(d, queueSize,
			o.Stats.TrapTargetSent.With(t.Target), o.Stats.TrapTargetFails.With(t.Target)))
	}
	if o.Notifier != nil {
		s.workers = append(s.workers, startWorker(newNotifierTarget(o.Notifier, o.Timeout), queueSize,
			o.Stats.TrapTargetSent.With(NotifierTarget), o.Stats.TrapTargetFails.With(NotifierTarget)))
	}
	return s, nil
}

func (o *Options) validate() error {
	var errs []error
	if o.Stats == nil {
		errs = append(errs, errors.New("traps: Options.Stats is required"))
	}
	if o.Burst < 0 {
		errs = append(errs, fmt.Errorf("traps: Options.Burst %d is negative", o.Burst))
	}
	if o.Interval < 0 {
		errs = append(errs, fmt.Errorf("traps: Options.Interval %v is negative", o.Interval))
	}
	if o.Timeout < 0 {
		errs = append(errs, fmt.Errorf("traps: Options.Timeout %v is negative", o.Timeout))
	}
	if len(o.EngineID) > 0 {
		if err := checkEngineID(o.EngineID); err != nil {
			errs = append(errs, err)
		}
	}
	for i, t := range o.Targets {
		if err := t.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("traps[%d] (%s): %w", i, t.Target, err))
		}
	}
	return errors.Join(errs...)
}

func (o *Options) defaults() {
	if o.Burst == 0 {
		o.Burst = defaultBurst
	}
	if o.Interval == 0 {
		o.Interval = defaultInterval
	}
	if o.Timeout == 0 {
		o.Timeout = defaultTimeout
	}
	switch {
	case o.Retries == 0:
		o.Retries = defaultRetries
	case o.Retries < 0:
		o.Retries = 0
	}
	if o.Started.IsZero() {
		o.Started = time.Now()
	}
}

// EngineID is our authoritative engine ID, for the receivers' createUser -e.
func (s *Sender) EngineID() []byte { return slices.Clone(s.engineID) }

// EngineBoots is snmpEngineBoots for this run.
func (s *Sender) EngineBoots() uint32 { return s.boots }

// Handle is the bus handler. It ignores events that are not traps, applies
// the storm guard and hands the notification to every worker. It never
// blocks on a receiver.
func (s *Sender) Handle(ev telemetry.Event, _ bool) {
	if !ev.Type.Valid() {
		return
	}
	spec := ev.Type.Spec()
	if !spec.Trap {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	ok, suppressed := s.guard.admit(ev.Type, s.now())
	if !ok {
		s.st.TrapsSuppressed.With(spec.Name).Inc()
		return
	}
	oid, vbs := mib.Notification(ev, s.hostname, suppressed)
	n := &notification{uptime: ticks(time.Since(s.started)), oid: oid, vbs: vbs}
	s.st.TrapsSent.With(spec.Name).Inc()
	for _, w := range s.workers {
		w.offer(n)
	}
}

// Close stops taking notifications and lets the workers drain their
// queues for as long as one inform may take with all its retries (at least
// a second), then gives up on what is left, counting it as failed. Handle
// calls after Close are ignored.
func (s *Sender) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		<-s.done
		return
	}
	s.closed = true
	s.mu.Unlock()
	defer close(s.done)

	for _, w := range s.workers {
		w.finish()
	}
	if waitWorkers(s.workers, s.closeWait) {
		return
	}
	for _, w := range s.workers {
		w.abort()
	}
	waitWorkers(s.workers, abortWait)
}

// waitWorkers waits until every worker has ended or d has passed, and
// reports whether they all ended.
func waitWorkers(workers []*worker, d time.Duration) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	for _, w := range workers {
		select {
		case <-w.done:
		case <-timer.C:
			return false
		}
	}
	return true
}
