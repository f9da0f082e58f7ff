package main

import (
	"context"
	"fmt"
	"io"
	"os/signal"
	"syscall"
	"time"

	"github.com/gatewatch/gatewatch/pipeline"
	"github.com/gatewatch/gatewatch/pipeline/cgp"
	"github.com/gatewatch/gatewatch/pipeline/policy"
	"github.com/gatewatch/gatewatch/pipeline/spool"
	"github.com/gatewatch/gatewatch/telemetry"
	"github.com/gatewatch/gatewatch/telemetry/logging"
)

const cgpUsage = `Usage: gatewatch cgp-helper [-config FILE]

Runs as a CommuniGate Pro content filtering helper: reads CGP's helper
protocol on standard input (INTF, FILE, QUIT), scans each queued message with
the configured stages and policy, answers on standard output. The JSON log
goes to standard error.
`

// cgpConfig is the cgp section of the configuration.
type cgpConfig struct {
	BaseDir     string        `yaml:"base_dir"`    // CGP's base directory; FILE paths are relative to it
	Concurrency int           `yaml:"concurrency"` // messages scanned at once
	Timeout     time.Duration `yaml:"timeout"`     // per message
	MaxMessage  int64         `yaml:"max_message"` // bytes
}

func cmdCGPHelper(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	cfg, code, ok := configCommand("cgp-helper", cgpUsage, args, stderr, nil)
	if !ok {
		return code
	}
	st := telemetry.NewStats("log")
	bus := telemetry.NewBus(st)
	logger, err := logging.New(cfg.Log, stderr)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitConfig
	}
	sub := bus.SubscribeWith("log", telemetry.ChannelOptions{Buffer: logBuffer, Wants: logger.Wants, Linger: logLinger}, logger.Handle)
	defer sub.Close()
	// The gateway, when it runs, counts and exports our events like its own.
	var emit telemetry.Emitter = bus
	if cfg.Admin.Listen != "" {
		fw := newForwarder(bus, cfg.Admin.Listen)
		defer fw.Close()
		emit = fw
	}
	engine, err := policy.New(cfg.Policy)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitConfig
	}
	_, avStages, err := openAVSide(cfg, bus)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitConfig
	}
	_, spamStages, err := openSpamSide(cfg, bus)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitConfig
	}
	j := &cgpJudge{scanner: pipeline.NewScanner(bus, engine, append(avStages, spamStages...)...), ids: spool.NewIDs(), emit: emit}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	emit.Emit(telemetry.Event{Type: telemetry.IntegrationSession, Mode: "cgp", Text: "helper started by CommuniGate Pro"})
	c := cfg.CGP
	err = cgp.Serve(ctx, stdin, stdout, j, cgp.Options{Concurrency: c.Concurrency, MaxMessage: c.MaxMessage, BaseDir: c.BaseDir, Timeout: c.Timeout})
	if err != nil && ctx.Err() == nil {
		emit.Emit(telemetry.Event{Type: telemetry.IntegrationError, Mode: "cgp", Err: err.Error()})
		return exitFailure
	}
	return exitOK
}

// cgpJudge scans a message CGP holds and maps the policy's decision to
// CGP's answers.
type cgpJudge struct {
	scanner *pipeline.Scanner
	ids     *spool.IDs
	emit    telemetry.Emitter
}

// Judge implements cgp.Judge.
func (j *cgpJudge) Judge(ctx context.Context, env cgp.Envelope, raw []byte) (cgp.Verdict, error) {
	m, err := pipeline.Held(j.ids.New(), raw, env.From, env.Recipients, pipeline.Client{IP: env.ClientIP})
	if err != nil {
		j.emit.Emit(telemetry.Event{Type: telemetry.IntegrationError, Mode: "cgp", MTAQueueID: env.QueueID, Err: err.Error()})
		return cgp.Verdict{}, err
	}
	dec := j.scanner.Scan(ctx, m)
	v, action, text := cgpVerdict(m, dec)
	j.emit.Emit(pipeline.VerdictEvent(m, "cgp", env.QueueID, action, text))
	return v, nil
}

// cgpVerdict maps a decision: CGP has one answer per message, so a
// deferral is an ERROR (CGP keeps the message and retries), a refusal of
// every recipient REJECTED, dropping everyone DISCARD, and quarantine,
// which CGP has no answer for, DISCARD as well (said in the event). A
// delivered message gets our fields and the largest group's fields and
// subject mark as added header fields.
func cgpVerdict(m *pipeline.Message, dec pipeline.Decision) (v cgp.Verdict, action, text string) {
	switch dec.Action {
	case pipeline.ActionTempFail:
		return cgp.Verdict{Action: cgp.ActionError, Text: dec.Reply.Text}, "tempfail", dec.Reply.Text
	case pipeline.ActionReject:
		return cgp.Verdict{Action: cgp.ActionReject, Text: dec.Reply.Text}, "reject", dec.Reply.Text
	}
	var deliver *pipeline.Outcome
	quarantined := false
	for i, o := range dec.Outcomes {
		switch o.Action {
		case pipeline.ActionQuarantine:
			quarantined = true
		case pipeline.ActionAccept:
			if deliver == nil || len(o.Recipients) > len(deliver.Recipients) {
				deliver = &dec.Outcomes[i]
			}
		}
	}
	if deliver == nil && len(dec.Outcomes) > 0 {
		if quarantined {
			return cgp.Verdict{Action: cgp.ActionDiscard}, "quarantine", "quarantine asked for: discarded (CommuniGate Pro keeps no quarantine for a helper)"
		}
		return cgp.Verdict{Action: cgp.ActionDiscard}, "discard", ""
	}
	fields := []string{"X-Gatewatch-ID: " + m.ID}
	for _, f := range m.Headers {
		fields = append(fields, f.Name+": "+f.Value)
	}
	if deliver != nil {
		for _, f := range deliver.Headers {
			fields = append(fields, f.Name+": "+f.Value)
		}
		if deliver.MarkSubject != "" {
			// CGP adds fields, it does not change them: the mark is
			// reported in a field of its own.
			fields = append(fields, "X-Gatewatch-Subject-Mark: "+deliver.MarkSubject)
		}
	}
	return cgp.Verdict{Action: cgp.ActionOK, AddHeaders: fields}, "accept", ""
}

// Validate checks the section; errors name the key.
func (c cgpConfig) Validate() error {
	if c.Concurrency < 0 || c.Timeout < 0 || c.MaxMessage < 0 {
		return fmt.Errorf("cgp.concurrency, cgp.timeout, cgp.max_message: cannot be negative (0: the default)")
	}
	return nil
}
