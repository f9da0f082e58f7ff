// Package watch keeps an eye on the gateway as an operator would: the
// queue's size and oldest message, the bounce rate, the spool's free disk
// space. Crossing a threshold emits an event (a trap, a CEF record, a log
// line); coming back emits another, so alerts can clear themselves.
package watch

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gatewatch/gatewatch/pipeline/spool"
	"github.com/gatewatch/gatewatch/telemetry"
	"github.com/gatewatch/gatewatch/telemetry/stats"
)

// Config is the alerts section of the configuration. A zero threshold
// turns its check off.
type Config struct {
	Interval   time.Duration `yaml:"interval"`       // how often the checks run
	QueueSize  int64         `yaml:"queue_size"`     // messages queued
	QueueAge   time.Duration `yaml:"queue_age"`      // age of the oldest queued message
	BounceRate int64         `yaml:"bounce_rate"`    // percent of recipients failing for good over window
	BounceMin  int64         `yaml:"bounce_min"`     // fewest final outcomes in window for a rate to count
	Window     time.Duration `yaml:"window"`         // the bounce rate's window
	SpoolFree  int64         `yaml:"spool_free_mib"` // MiB free on the spool's file system
}

// Validate checks the section; errors name the key.
func (c Config) Validate() error {
	var errs []error
	if c.Interval <= 0 {
		errs = append(errs, errors.New("alerts.interval: must be a positive duration such as 30s"))
	}
	for key, v := range map[string]int64{"alerts.queue_size": c.QueueSize, "alerts.bounce_rate": c.BounceRate,
		"alerts.bounce_min": c.BounceMin, "alerts.spool_free_mib": c.SpoolFree} {
		if v < 0 {
			errs = append(errs, fmt.Errorf("%s: must not be negative", key))
		}
	}
	if c.BounceRate > 100 {
		errs = append(errs, errors.New("alerts.bounce_rate: a percentage, at most 100"))
	}
	if c.QueueAge < 0 {
		errs = append(errs, errors.New("alerts.queue_age: must not be negative"))
	}
	if c.BounceRate > 0 && c.Window <= 0 {
		errs = append(errs, errors.New("alerts.window: needed for alerts.bounce_rate"))
	}
	return errors.Join(errs...)
}

// Watcher runs the checks.
type Watcher struct {
	cfg   atomic.Pointer[Config]
	spool *spool.Spool
	st    *stats.Stats
	emit  telemetry.Emitter

	mu      sync.Mutex
	high    map[telemetry.Type]bool // which alerts are raised, by their high event type
	samples []sample                // outcome totals over the bounce window
}

type sample struct {
	at               time.Time
	bounced, settled uint64
}

// New creates a watcher; Run starts it.
func New(cfg Config, sp *spool.Spool, st *stats.Stats, emit telemetry.Emitter) *Watcher {
	w := &Watcher{spool: sp, st: st, emit: emit, high: map[telemetry.Type]bool{}}
	w.cfg.Store(&cfg)
	return w
}

// Reload puts new thresholds in force from the next check on.
func (w *Watcher) Reload(cfg Config) { w.cfg.Store(&cfg) }

// Run checks every interval until ctx ends.
func (w *Watcher) Run(ctx context.Context) {
	for {
		w.Check(time.Now())
		t := time.NewTimer(w.cfg.Load().Interval)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// Check runs every check once, as of now.
func (w *Watcher) Check(now time.Time) {
	cfg := w.cfg.Load()
	w.mu.Lock()
	defer w.mu.Unlock()
	if cfg.QueueSize > 0 {
		size := stats.SumGauges(w.st.QueueMessages)
		w.level(telemetry.QueueSizeHigh, telemetry.QueueSizeNormal, size, cfg.QueueSize, "",
			fmt.Sprintf("%d messages queued, threshold %d", size, cfg.QueueSize))
	}
	var age int64
	id, at, ok := w.spool.Oldest()
	if ok {
		age = max(int64(now.Sub(at).Seconds()), 0)
	}
	w.st.QueueOldestAge.Set(age)
	avail, size, spaceErr := space(w.spool.Dir())
	if spaceErr == nil {
		w.st.SpoolFree.Set(avail)
		w.st.SpoolSize.Set(size)
	}
	if cfg.QueueAge > 0 {
		limit := int64(cfg.QueueAge.Seconds())
		w.level(telemetry.QueueAgeHigh, telemetry.QueueAgeNormal, age, limit, id,
			fmt.Sprintf("oldest queued message %s is %ds old, threshold %ds", id, age, limit))
	}
	if cfg.BounceRate > 0 {
		if rate, ok := w.bounceRate(now, cfg); ok {
			w.level(telemetry.BounceRateHigh, telemetry.BounceRateNormal, rate, cfg.BounceRate, "",
				fmt.Sprintf("%d%% of recipients failed for good over the last %s, threshold %d%%", rate, cfg.Window, cfg.BounceRate))
		}
	}
	if cfg.SpoolFree > 0 && spaceErr == nil {
		// Low space is the alarm here: compare the shortfall.
		free := avail >> 20
		w.levelBelow(telemetry.DiskSpaceLow, telemetry.DiskSpaceNormal, free, cfg.SpoolFree,
			fmt.Sprintf("%d MiB free for the spool, threshold %d MiB", free, cfg.SpoolFree))
	}
}

// level raises an alert when value goes above limit and clears it when the
// value is back at or below 90% of it, so a value hovering at the limit
// does not flap.
func (w *Watcher) level(high, normal telemetry.Type, value, limit int64, queueID, text string) {
	switch raised := w.high[high]; {
	case !raised && value > limit:
		w.high[high] = true
		w.emit.Emit(telemetry.Event{Type: high, Count: value, Threshold: limit, QueueID: queueID, Text: text})
	case raised && value*10 <= limit*9:
		w.high[high] = false
		w.emit.Emit(telemetry.Event{Type: normal, Count: value, Threshold: limit, Text: text})
	}
}

// levelBelow is level for values that alarm when too small: raised below
// limit, cleared at or above 110% of it.
func (w *Watcher) levelBelow(low, normal telemetry.Type, value, limit int64, text string) {
	switch raised := w.high[low]; {
	case !raised && value < limit:
		w.high[low] = true
		w.emit.Emit(telemetry.Event{Type: low, Count: value, Threshold: limit, Text: text})
	case raised && value*10 >= limit*11:
		w.high[low] = false
		w.emit.Emit(telemetry.Event{Type: normal, Count: value, Threshold: limit, Text: text})
	}
}

// bounceRate is the percentage of final recipient outcomes that were
// failures, between the oldest sample inside the window and now.
func (w *Watcher) bounceRate(now time.Time, cfg *Config) (int64, bool) {
	cur := sample{at: now, bounced: w.st.BouncedRecipients.Load()}
	cur.settled = cur.bounced + w.st.SentRecipients.Load()
	w.samples = append(w.samples, cur)
	for len(w.samples) > 1 && now.Sub(w.samples[1].at) >= cfg.Window {
		w.samples = w.samples[1:]
	}
	base := w.samples[0]
	settled := cur.settled - base.settled
	min := max(cfg.BounceMin, 1)
	if int64(settled) < min {
		return 0, false
	}
	return int64((cur.bounced - base.bounced) * 100 / settled), true
}

// space is what an unprivileged writer can still use on dir's file
// system, and its size, in bytes.
func space(dir string) (avail, size int64, err error) {
	var fs syscall.Statfs_t
	if err := syscall.Statfs(dir, &fs); err != nil {
		return 0, 0, err
	}
	return int64(fs.Bavail) * fs.Bsize, int64(fs.Blocks) * fs.Bsize, nil
}
