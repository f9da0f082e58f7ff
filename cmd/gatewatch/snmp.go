package main

import (
	"context"
	"encoding/hex"
	"path/filepath"
	"strings"

	"github.com/gatewatch/gatewatch/telemetry"
	"github.com/gatewatch/gatewatch/telemetry/agentx"
	"github.com/gatewatch/gatewatch/telemetry/traps"
)

// trapBuffer bounds the notifications waiting for the trap sender.
const trapBuffer = 1024

// snmpChannels are the AgentX subagent and the trap sender as configured;
// a reload that changes their configuration replaces them.
type snmpChannels struct {
	cfg      TelemetryConfig
	cancel   context.CancelFunc
	subagent *agentx.Subagent
	sender   *traps.Sender
	sub      *telemetry.Subscription
}

// startSNMP starts what cfg asks for.
func (gw *gateway) startSNMP(cfg TelemetryConfig) (*snmpChannels, error) {
	st := gw.bus.Stats()
	ctx, cancel := context.WithCancel(context.Background())
	ch := &snmpChannels{cfg: cfg, cancel: cancel}
	var notifier traps.Notifier
	if cfg.AgentX.Address != "" {
		st.ChannelUp.With(agentx.Channel).Set(0) // until it registers: the series exists from the start
		ch.subagent = agentx.New(agentx.Options{Address: cfg.AgentX.Address, Stats: st, Emit: gw.bus,
			Timeout: cfg.AgentX.Timeout, PingInterval: cfg.AgentX.PingInterval})
		go ch.subagent.Run(ctx)
		if cfg.AgentX.Notify {
			notifier = ch.subagent
		}
	}
	if len(cfg.Traps) > 0 || notifier != nil {
		targets := make([]traps.Target, len(cfg.Traps))
		for i, t := range cfg.Traps {
			targets[i] = traps.Target{Target: t.Target, Version: t.Version, Community: t.Community, Inform: t.Inform,
				User: t.User, Auth: t.Auth, AuthPass: t.AuthPass, Priv: t.Priv, PrivPass: t.PrivPass}
		}
		var engineID []byte
		if cfg.SNMPEngineID != "" {
			engineID, _ = hex.DecodeString(strings.TrimPrefix(strings.ToLower(cfg.SNMPEngineID), "0x")) // validated
		}
		_, host := st.Info()
		sender, err := traps.New(traps.Options{Targets: targets, Stats: st, Hostname: host, EngineID: engineID,
			BootsFile: filepath.Join(gw.cfg.Spool.Dir, "snmp-engine-boots"), Burst: cfg.TrapLimit.Burst,
			Interval: cfg.TrapLimit.Interval, Notifier: notifier, Started: st.Started()})
		if err != nil {
			cancel()
			return nil, err
		}
		ch.sender = sender
		ch.sub = gw.bus.SubscribeWith("traps", telemetry.ChannelOptions{Buffer: trapBuffer,
			Wants: func(t telemetry.Type) bool { return t.Spec().Trap }}, sender.Handle)
		gw.log.Info("SNMP trap sender ready", "engine_id", hex.EncodeToString(sender.EngineID()))
	}
	return ch, nil
}

// stop ends the channels: the subscription drains into the sender, the
// sender drains to its receivers, then the subagent closes its session.
func (ch *snmpChannels) stop() {
	if ch == nil {
		return
	}
	if ch.sub != nil {
		ch.sub.Close()
	}
	if ch.sender != nil {
		ch.sender.Close()
	}
	ch.cancel()
}
