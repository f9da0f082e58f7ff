package main

import (
	"github.com/gatewatch/gatewatch/telemetry"
	"github.com/gatewatch/gatewatch/telemetry/cef"
)

// startCEF starts the CEF channel when the configuration gives it a file or
// a target. It lives for the whole process: reloads reconfigure it in place,
// so no event slips between an old and a new subscription.
func (gw *gateway) startCEF(cfg *Config) error {
	st := gw.bus.Stats()
	ch, err := cef.New(cfg.Telemetry.CEF, cef.Options{Version: version, SMTPName: cfg.SMTP.Hostname, Stats: st, Emit: gw.bus})
	if err != nil {
		return err
	}
	gw.cef = ch
	gw.cefSub = gw.bus.SubscribeWith(cef.ChannelName, telemetry.ChannelOptions{Buffer: cefBuffer, Wants: ch.Wants, Linger: cefLinger}, ch.Handle)
	ch.Start()
	return nil
}

func (gw *gateway) reloadCEF(cfg *Config) error {
	return gw.cef.Reconfigure(cfg.Telemetry.CEF)
}

// stopCEF lets the subscription hand its waiting events to the channel,
// then stops the channel, which gives its receivers the grace period.
func (gw *gateway) stopCEF() {
	gw.cefSub.Close()
	gw.cef.Close()
}
