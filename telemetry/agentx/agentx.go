// Package agentx is Gatewatch's AgentX subagent (RFC 2741): it connects to
// the host's snmpd as master agent, registers GATEWATCH-MIB, MTA-MIB and
// NETWORK-SERVICES-MIB, answers the master's requests from a mib.View of
// the statistics, and sends notifications through the master.
//
// It has its own session loop instead of go-agentx's Client, which answers
// only the first varbind of a multi-OID GET, panics on TestSet and on PDU
// types it does not know, panics on read errors other than EOF and never
// retries the first dial. go-agentx's pdu package still encodes most of
// what we send; incoming PDUs go through a bounds-checked decoder of our own.
package agentx

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/gatewatch/gatewatch/telemetry"
	"github.com/gatewatch/gatewatch/telemetry/stats"
)

// Channel is the telemetry channel name in Connected/Disconnected events.
const Channel = "agentx"

// Defaults of Options.
const (
	DefaultTimeout      = 5 * time.Second
	DefaultPingInterval = 15 * time.Second
	DefaultViewMaxAge   = time.Second
	DefaultDescription  = "Gatewatch mail gateway"
)

// Reconnect back-off: doubling from backoffMin to backoffMax, so a master
// that restarts is found again within a second or so, and a master that is
// gone for good costs one dial every few seconds.
const (
	backoffMin = 100 * time.Millisecond
	backoffMax = 5 * time.Second
)

// ErrNotConnected is returned by Notify while no session is registered.
var ErrNotConnected = errors.New("agentx: not connected to the master agent")

// Options configure a Subagent.
type Options struct {
	Address      string            // "unix:/path" or "tcp:host:port"
	Stats        *stats.Stats      // values come from mib.NewView(Stats, groups), cached for ViewMaxAge
	Emit         telemetry.Emitter // ChannelConnected / ChannelDisconnected events with Channel: "agentx"
	Timeout      time.Duration     // AgentX session timeout sent in Open, and the wait for responses; default 5s
	PingInterval time.Duration     // liveness Ping to the master; default 15s
	ViewMaxAge   time.Duration     // how long one stats view serves requests (a walk sees one moment); default 1s
	Description  string            // Open's description, default "Gatewatch mail gateway"
}

// Subagent is one AgentX subagent. Run drives it; Notify and Connected may
// be called from any goroutine.
type Subagent struct {
	o     Options
	views *viewCache
	cur   atomic.Pointer[conn] // the registered session, nil while there is none

	// ignored counts PDUs dropped without an answer (unknown types,
	// unmatched or malformed Responses); parseErrors counts requests
	// answered with parseError. Tests read them; nothing else needs to.
	ignored     atomic.Uint64
	parseErrors atomic.Uint64
}

// New creates a subagent; it does nothing until Run.
func New(o Options) *Subagent {
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.PingInterval <= 0 {
		o.PingInterval = DefaultPingInterval
	}
	if o.ViewMaxAge <= 0 {
		o.ViewMaxAge = DefaultViewMaxAge
	}
	if o.Description == "" {
		o.Description = DefaultDescription
	}
	return &Subagent{o: o, views: newViewCache(o.Stats, o.ViewMaxAge)}
}

// Connected reports whether a session is open and every subtree registered.
func (s *Subagent) Connected() bool { return s.cur.Load() != nil }

func (s *Subagent) emit(ev telemetry.Event) {
	if s.o.Emit != nil {
		s.o.Emit.Emit(ev)
	}
}

func (s *Subagent) countSession() {
	if s.o.Stats != nil {
		s.o.Stats.AgentXSessions.Inc()
	}
}

func (s *Subagent) countRequest() {
	if s.o.Stats != nil {
		s.o.Stats.AgentXRequests.Inc()
	}
}

// Run connects, opens a session, registers every subtree and serves the
// master until ctx is done. Whenever the session is lost it closes the
// connection, emits ChannelDisconnected (if the session had been
// registered), backs off and starts again. When ctx ends it sends the
// master a Close and emits ChannelDisconnected too, so the channel's gauge
// does not claim a session that is gone. Nothing the master sends makes it
// panic: bad framing costs the connection, a bad PDU only that PDU.
func (s *Subagent) Run(ctx context.Context) {
	delay := backoffMin
	for ctx.Err() == nil {
		registered, err := s.session(ctx)
		if registered {
			s.emit(telemetry.Event{Type: telemetry.ChannelDisconnected, Channel: Channel, Err: err.Error()})
			delay = backoffMin // it worked until now: retry quickly
		}
		if ctx.Err() != nil {
			return
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		delay = min(2*delay, backoffMax)
	}
}
