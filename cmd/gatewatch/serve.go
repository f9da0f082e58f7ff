package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"reflect"
	"syscall"
	"time"

	"github.com/gatewatch/gatewatch/pipeline"
	"github.com/gatewatch/gatewatch/pipeline/delivery"
	"github.com/gatewatch/gatewatch/pipeline/milter"
	"github.com/gatewatch/gatewatch/pipeline/policy"
	"github.com/gatewatch/gatewatch/pipeline/smtpin"
	"github.com/gatewatch/gatewatch/pipeline/spool"
	"github.com/gatewatch/gatewatch/pipeline/watch"
	"github.com/gatewatch/gatewatch/telemetry"
	"github.com/gatewatch/gatewatch/telemetry/cef"
	"github.com/gatewatch/gatewatch/telemetry/logging"
)

// logBuffer is how many events may wait for the log writer before the log
// channel starts dropping (and counting) them; logLinger is how long the
// log channel lets events gather between batches. A few thousand events a
// second fill a tenth of the buffer per linger; a bigger buffer would only
// give the garbage collector more to scan on every cycle.
const (
	logBuffer = 2048
	logLinger = 20 * time.Millisecond
	// The CEF channel's memory buffer sits in front of its disk buffer:
	// large enough for bursts while a batch is written and fsync'd.
	cefBuffer = 16384
	cefLinger = 10 * time.Millisecond
)

func cmdServe(args []string, stderr io.Writer) int {
	path, code, ok := configOnly("serve", args, stderr)
	if !ok {
		return code
	}
	l, err := loadConfig(path)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitConfig
	}
	gw, err := start(l, path, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "gatewatch: %v\n", err)
		return exitFailure
	}
	gw.loop()
	return exitOK
}

// gateway is the running process: every component, wired.
type gateway struct {
	path     string
	cfg      *Config
	bus      *telemetry.Bus
	log      *logging.Logger
	logSub   *telemetry.Subscription
	spool    *spool.Spool
	delivery *delivery.Deliverer
	receiver *smtpin.Receiver
	milter   *milter.Server // nil unless milter.listen is set
	policy   *policySide
	spam     *spamSide
	av       *avSide
	admin    *adminServer
	snmp     *snmpChannels
	cef      *cef.Channel
	cefSub   *telemetry.Subscription
	watcher  *watch.Watcher
	stopBg   context.CancelFunc // background checks
}

func start(l *loaded, path string, stderr io.Writer) (*gateway, error) {
	cfg := l.cfg
	st := telemetry.NewStats("log", "traps", cef.ChannelName)
	host, _ := os.Hostname()
	st.SetInfo(version, host)
	st.SetConfig(cfg.Hash(), l.at)
	bus := telemetry.NewBus(st)
	logger, err := logging.New(cfg.Log, stderr)
	if err != nil {
		return nil, err
	}
	gw := &gateway{path: path, cfg: cfg, bus: bus, log: logger}
	st.ChannelUp.With("log").Set(1) // the log writes to stderr, which is always there
	gw.logSub = bus.SubscribeWith("log", telemetry.ChannelOptions{Buffer: logBuffer, Wants: logger.Wants, Linger: logLinger}, logger.Handle)
	if err := gw.startCEF(cfg); err != nil {
		return nil, err
	}

	gw.spool, err = spool.Open(cfg.Spool, bus, st)
	if err != nil {
		return nil, err
	}
	ready, deferred, err := gw.spool.Recover()
	if err != nil {
		return nil, err
	}
	gw.policy, err = openPolicySide(cfg, gw.spool, bus)
	if err != nil {
		return nil, err
	}
	gw.delivery, err = delivery.New(cfg.Delivery, delivery.Options{Hostname: cfg.SMTP.Hostname, Spool: gw.spool, Emit: bus, Stats: st,
		ArchiveSent: gw.policy.archiveSent})
	if err != nil {
		return nil, err
	}
	gw.spool.OnQueued(gw.delivery.EnqueueEntry)
	var avStages, spamStages []pipeline.Stage
	if gw.av, avStages, err = openAVSide(cfg, bus); err != nil {
		return nil, err
	}
	if gw.spam, spamStages, err = openSpamSide(cfg, bus); err != nil {
		return nil, err
	}
	scanner := pipeline.NewScanner(bus, gw.policy.engine, append(avStages, spamStages...)...)
	gw.receiver, err = smtpin.New(cfg.SMTP, gw.spool, scanner, bus)
	if err != nil {
		return nil, err
	}
	if cfg.Milter.Listen != "" {
		gw.milter, err = milter.New(cfg.Milter, milter.Deps{Scanner: scanner, Lists: gw.policy.engine, Render: policy.Render,
			NewID: gw.spool.NewID, Emit: bus})
		if err != nil {
			return nil, err
		}
		go gw.milter.Serve()
	}
	gw.receiver.SetAftercare(gw.policy.aftercare(func(m *pipeline.Message, rcpts []pipeline.Recipient, reply pipeline.Reply) error {
		return gw.delivery.Bounce(m.Meta, m.Content, rcpts, reply)
	}))
	gw.policy.store.Start()
	gw.admin = newAdminServer(gw)
	if err := gw.admin.listen(cfg.Admin.Listen); err != nil {
		return nil, err
	}
	if err := gw.receiver.Start(); err != nil {
		gw.admin.close()
		return nil, err
	}
	gw.delivery.Start(ready, deferred)
	if gw.snmp, err = gw.startSNMP(cfg.Telemetry); err != nil {
		gw.admin.close()
		return nil, err
	}
	bg, cancel := context.WithCancel(context.Background())
	gw.stopBg = cancel
	gw.watcher = watch.New(cfg.Alerts, gw.spool, st, bus)
	go gw.watcher.Run(bg)
	go gw.av.run(bg)
	gw.admin.setReady(true)
	bus.Emit(telemetry.Event{Type: telemetry.GatewayStarted, Text: fmt.Sprintf("gatewatch %s, config %s (%s), %d queued, %d deferred",
		version, l.source, cfg.Hash(), len(ready), len(deferred))})
	return gw, nil
}

// loop serves until SIGTERM or SIGINT, reloading on SIGHUP.
func (gw *gateway) loop() {
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGHUP, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(sigs)
	for s := range sigs {
		if s == syscall.SIGHUP {
			gw.reload()
			continue
		}
		gw.stop(s.String())
		return
	}
}

// reload loads the configuration again and puts it in force, or keeps the
// old one and says why.
func (gw *gateway) reload() {
	fail := func(err error) {
		gw.bus.Emit(telemetry.Event{Type: telemetry.ConfigReloadFailed, Err: err.Error(), Text: "previous configuration stays in force"})
	}
	l, err := loadConfig(gw.path)
	if err != nil {
		fail(err)
		return
	}
	cfg := l.cfg
	if cfg.Spool.Dir != gw.cfg.Spool.Dir {
		fail(fmt.Errorf("spool.dir cannot change on reload (restart to move the spool)"))
		return
	}
	if err := gw.policy.reload(cfg); err != nil {
		fail(err)
		return
	}
	if err := gw.spam.reload(cfg, gw.bus); err != nil {
		fail(err)
		return
	}
	if err := gw.av.reload(cfg); err != nil {
		fail(err)
		return
	}
	if err := gw.receiver.Reload(cfg.SMTP); err != nil {
		fail(err)
		return
	}
	if (gw.milter != nil) != (cfg.Milter.Listen != "") {
		fail(fmt.Errorf("milter.listen cannot be turned on or off on reload (restart)"))
		return
	}
	if gw.milter != nil {
		if err := gw.milter.Reload(cfg.Milter); err != nil {
			fail(err)
			return
		}
	}
	if err := gw.delivery.Reload(cfg.Delivery); err != nil {
		fail(err) // validated already: not expected
		return
	}
	if cfg.Admin.Listen != gw.cfg.Admin.Listen {
		if err := gw.admin.move(cfg.Admin.Listen); err != nil {
			fail(err)
		}
	}
	if err := gw.reloadCEF(cfg); err != nil {
		fail(err)
	}
	if !reflect.DeepEqual(cfg.Telemetry.snmpPart(), gw.snmp.cfg.snmpPart()) {
		// The old subagent must close its session first, or the new one's
		// registrations would collide with its own.
		gw.snmp.stop()
		next, err := gw.startSNMP(cfg.Telemetry)
		if err != nil {
			fail(err)
			next = &snmpChannels{cfg: cfg.Telemetry, cancel: func() {}}
		}
		gw.snmp = next
	}
	gw.watcher.Reload(cfg.Alerts)
	gw.cfg = cfg
	gw.bus.Stats().SetConfig(cfg.Hash(), l.at)
	gw.bus.Emit(telemetry.Event{Type: telemetry.ConfigReloaded, Text: fmt.Sprintf("%s (%s)", l.source, cfg.Hash())})
}

// stop drains: no new connections, open sessions get a grace period,
// delivery finishes its current transactions, the log is flushed.
func (gw *gateway) stop(why string) {
	gw.admin.setReady(false)
	gw.bus.Emit(telemetry.Event{Type: telemetry.GatewayStopping, Text: "signal " + why})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_ = gw.receiver.Shutdown(ctx)
	if gw.milter != nil {
		_ = gw.milter.Close()
	}
	gw.delivery.Stop()
	gw.policy.store.Stop()
	gw.stopBg()
	gw.snmp.stop() // after the stopping event reached the trap sender
	gw.stopCEF()
	gw.admin.close()
	gw.logSub.Close()
	gw.log.Flush()
	_ = gw.spool.Close()
}
