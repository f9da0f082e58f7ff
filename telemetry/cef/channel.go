// Package cef is the CEF-over-syslog channel: it formats events as CEF
// records, writes them to a local file and sends them to syslog receivers
// over UDP, TCP and TLS, keeping the TCP/TLS targets' records in a disk
// buffer until the receiver has taken them.
package cef

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatewatch/gatewatch/telemetry"
	"github.com/gatewatch/gatewatch/telemetry/cef/journal"
	"github.com/gatewatch/gatewatch/telemetry/stats"
)

// ChannelName is the channel's name on the bus and in the statistics.
const ChannelName = "cef"

// FileChannelName names the file sink in the statistics.
const FileChannelName = "cef:file"

// appendBatch bounds how many records one disk-buffer write takes.
const appendBatch = 512

// Options wires the channel to the rest of the gateway.
type Options struct {
	Version  string // Device Version of the records
	SMTPName string // deviceExternalId: the gateway's SMTP host name
	Stats    *stats.Stats
	Emit     telemetry.Emitter // for the channel's own events (connected, dropping)
	// Grace bounds how long stopping may take to hand the backlog to the
	// receivers; 0 means 3s.
	Grace time.Duration
}

// Channel is the running CEF channel. Handle is the bus handler; it and
// Reconfigure are serialised, so a reload swaps the sinks between two
// events.
type Channel struct {
	opts  Options
	steps []bool      // by event type: a message step, sent only with events: all
	all   atomic.Bool // cfg.WantsAll, read on the mail path by Wants
	on    atomic.Bool // cfg.Enabled

	mu       sync.Mutex
	cfg      Config
	started  bool
	closed   bool
	format   *Formatter
	header   syslogHeader
	file     *fileSink
	fileDown bool
	journal  *journal.Journal
	senders  []*sender
	cefText  []byte
	arena    []byte // stored records waiting for the next disk-buffer write
	ends     []int
	recs     [][]byte
}

// New opens the channel's sinks for cfg; Start starts its senders. Between
// the two the caller subscribes Handle, so that the senders' own first
// events (connected, disconnected) make records too.
func New(cfg Config, o Options) (*Channel, error) {
	if o.Grace == 0 {
		o.Grace = 3 * time.Second
	}
	c := &Channel{opts: o}
	for _, t := range telemetry.Types() {
		if int(t) >= len(c.steps) {
			c.steps = append(c.steps, make([]bool, int(t)+1-len(c.steps))...)
		}
		c.steps[t] = t.Spec().Step
	}
	if err := c.build(cfg); err != nil {
		return nil, err
	}
	return c, nil
}

// Wants reports whether events of type t make a record: the bus asks before
// an event takes room in the channel's buffer.
func (c *Channel) Wants(t telemetry.Type) bool {
	return c.on.Load() && (c.all.Load() || int(t) >= len(c.steps) || !c.steps[t])
}

// build opens the sinks of cfg and starts its senders. On error nothing is
// left open.
func (c *Channel) build(cfg Config) error {
	host := cfg.Hostname
	if host == "" {
		host, _ = os.Hostname()
	}
	facility, _ := facilityCode(cfg.Facility)
	header := newSyslogHeader(facility, host, os.Getpid())
	tlsConfs := make([]*tls.Config, len(cfg.Targets))
	for i, t := range cfg.Targets {
		if t.Transport() != "tls" {
			continue
		}
		tc, err := clientTLS(t)
		if err != nil {
			return fmt.Errorf("telemetry.cef.targets[%d].tls: %w", i, err)
		}
		tlsConfs[i] = tc
	}
	var file *fileSink
	if cfg.File != "" {
		var err error
		if file, err = openFileSink(cfg.File, cfg.FileFormat, cfg.FileMaxBytes, cfg.FileKeep, header); err != nil {
			return err
		}
	}
	var jn *journal.Journal
	byCursor := map[string]*sender{}
	if len(cfg.Targets) > 0 {
		names := make([]string, 0, len(cfg.Targets))
		for _, t := range cfg.Targets {
			n := cursorName(t)
			if byCursor[n] != nil {
				if file != nil {
					_ = file.close()
				}
				return fmt.Errorf("telemetry.cef.targets: two targets share the buffer name %q: give them distinct names", n)
			}
			byCursor[n] = &sender{}
			names = append(names, n)
		}
		var err error
		jn, err = journal.Open(journal.Options{Dir: cfg.BufferDir, MaxBytes: cfg.BufferMaxBytes,
			OnDrop: func(cursor string, n uint64) {
				c.bufferLost(byCursor[cursor], n, "disk buffer full: the oldest records were dropped")
			}}, names)
		if err != nil {
			if file != nil {
				_ = file.close()
			}
			return fmt.Errorf("telemetry.cef.buffer_dir: %w", err)
		}
		for _, rerr := range jn.Repairs() {
			c.opts.Emit.Emit(telemetry.Event{Type: telemetry.ChannelDropping, Channel: ChannelName,
				Text: "disk buffer repaired at open", Err: rerr.Error()})
		}
	}
	st := c.opts.Stats
	var senders []*sender
	for i, t := range cfg.Targets {
		name := t.ChannelName()
		s := byCursor[cursorName(t)]
		*s = sender{name: name, target: t, cursor: jn.Cursor(cursorName(t)), tls: tlsConfs[i], emit: c.opts.Emit,
			framer:  framer{header: header, format: t.format()},
			sent:    st.ChannelSent.With(name),
			dropped: st.EventsDropped.With(name), backlog: st.ChannelBacklog.With(name), backlogB: st.ChannelBacklogBytes.With(name),
			grace: c.opts.Grace, stop: make(chan struct{}), done: make(chan struct{})}
		if t.Transport() != "udp" {
			s.framer.framing = t.framing()
		}
		st.ChannelUp.With(name).Set(0) // until it connects
		if lost := jn.Dropped(cursorName(t)); lost > 0 {
			// Records a damaged buffer file lost, found while opening it.
			c.bufferLost(s, lost, "disk buffer damaged: records lost, found when opening it")
		}
		s.updateBacklog()
		senders = append(senders, s)
	}
	if file != nil {
		st.ChannelUp.With(FileChannelName).Set(1)
		st.EventsDropped.With(FileChannelName)
		st.ChannelSent.With(FileChannelName)
	}
	c.cfg, c.header, c.file, c.journal, c.senders, c.fileDown = cfg, header, file, jn, senders, false
	c.format = NewFormatter(Device{Version: c.opts.Version, Host: host, ID: c.opts.SMTPName}, cfg.MaxRecordBytes)
	c.all.Store(cfg.WantsAll())
	c.on.Store(cfg.Enabled())
	if c.started {
		c.startSenders()
	}
	return nil
}

// Start starts sending to the targets.
func (c *Channel) Start() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.started || c.closed {
		return
	}
	c.started = true
	c.startSenders()
}

func (c *Channel) startSenders() {
	for _, s := range c.senders {
		go s.run()
	}
}

// cursorName is a target's name in the disk buffer: its channel name made
// safe for a file name.
func cursorName(t Target) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, t.ChannelName())
}

func clientTLS(t Target) (*tls.Config, error) {
	host := t.TLS.ServerName
	if host == "" {
		host, _, _ = net.SplitHostPort(t.HostPort()) // validated
	}
	tc := &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12, DynamicRecordSizingDisabled: true}
	if t.TLS.CA != "" {
		pem, err := os.ReadFile(t.TLS.CA)
		if err != nil {
			return nil, fmt.Errorf("ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ca: %s holds no PEM certificate", t.TLS.CA)
		}
		tc.RootCAs = pool
	}
	if t.TLS.Cert != "" {
		cert, err := tls.LoadX509KeyPair(t.TLS.Cert, t.TLS.Key)
		if err != nil {
			return nil, fmt.Errorf("cert/key: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

// bufferLost counts records the disk buffer lost for s and says so.
func (c *Channel) bufferLost(s *sender, n uint64, why string) {
	if s == nil {
		return
	}
	s.dropped.Add(n)
	c.opts.Emit.Emit(telemetry.Event{Type: telemetry.ChannelDropping, Channel: s.name, Count: int64(n), Text: why})
}

// Handle is the bus handler: one record per event; more says whether other
// events wait, so disk writes and file flushes happen per batch.
func (c *Channel) Handle(ev telemetry.Event, more bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || c.file == nil && c.journal == nil {
		return
	}
	spec := ev.Type.Spec()
	c.cefText = c.format.Append(c.cefText[:0], &ev)
	if c.file != nil {
		c.writeFile(ev.Time, spec.Severity, spec.Name, more)
	}
	if c.journal != nil {
		c.arena = appendStored(c.arena, ev.Time, spec.Severity, spec.Name, c.cefText)
		c.ends = append(c.ends, len(c.arena))
		if !more || len(c.ends) >= appendBatch {
			c.flushBuffer()
		}
	}
}

func (c *Channel) writeFile(t time.Time, severity int, name string, more bool) {
	err := c.file.write(t, severity, name, c.cefText)
	if err == nil && !more {
		err = c.file.flush()
	}
	st := c.opts.Stats
	switch {
	case err != nil:
		st.EventsDropped.With(FileChannelName).Inc()
		if !c.fileDown {
			c.fileDown = true
			c.opts.Emit.Emit(telemetry.Event{Type: telemetry.ChannelDisconnected, Channel: FileChannelName, Err: err.Error(),
				Text: "cannot write the CEF file"})
		}
	case c.fileDown:
		c.fileDown = false
		c.opts.Emit.Emit(telemetry.Event{Type: telemetry.ChannelConnected, Channel: FileChannelName, Text: "writing the CEF file again"})
		fallthrough
	default:
		st.ChannelSent.With(FileChannelName).Inc()
	}
}

// flushBuffer writes the waiting records to the disk buffer in one append.
func (c *Channel) flushBuffer() {
	if len(c.ends) == 0 {
		return
	}
	c.recs = c.recs[:0]
	start := 0
	for _, end := range c.ends {
		c.recs = append(c.recs, c.arena[start:end])
		start = end
	}
	if _, err := c.journal.Append(c.recs...); err != nil {
		// Counted where the bus counts this channel's drops, so the
		// telemetry.dropping announcement covers them too.
		c.opts.Stats.EventsDropped.With(ChannelName).Add(uint64(len(c.recs)))
	}
	c.arena, c.ends = c.arena[:0], c.ends[:0]
	for _, s := range c.senders {
		s.updateBacklog()
	}
}

// Reconfigure puts cfg in force: the file sink is reopened (SIGHUP after
// external rotation); when the rest changed, the senders hand over and the
// disk buffer is reopened with the new targets. Records already buffered
// stay for the targets that remain.
func (c *Channel) Reconfigure(cfg Config) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return errors.New("cef channel closed")
	}
	if sameOutputs(c.cfg, cfg) {
		c.cfg = cfg
		c.all.Store(cfg.WantsAll())
		if c.file != nil {
			return c.file.reopen()
		}
		return nil
	}
	old := c.cfg
	c.teardown(time.Second)
	if err := c.build(cfg); err != nil {
		if rerr := c.build(old); rerr != nil {
			return errors.Join(err, fmt.Errorf("restoring the previous CEF set-up: %w", rerr))
		}
		return err
	}
	return nil
}

// sameOutputs reports whether only settings that need no new sinks differ.
func sameOutputs(a, b Config) bool {
	a.Events, b.Events = "", ""
	return reflect.DeepEqual(a, b)
}

// teardown stops the senders (each gets grace to hand over its backlog)
// and closes the disk buffer and the file.
func (c *Channel) teardown(grace time.Duration) {
	if c.journal != nil {
		c.flushBuffer()
	}
	for _, s := range c.senders {
		s.grace = grace
		close(s.stop)
	}
	if c.started {
		for _, s := range c.senders {
			<-s.done
		}
	}
	if c.journal != nil {
		_ = c.journal.Close()
	}
	if c.file != nil {
		_ = c.file.close()
	}
	c.journal, c.file, c.senders = nil, nil, nil
}

// Close stops the channel. Unsubscribe it from the bus first, so that the
// events already taken reach the buffer.
func (c *Channel) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	c.teardown(c.opts.Grace)
	c.closed = true
}
