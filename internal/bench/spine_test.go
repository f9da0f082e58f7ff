package bench

import (
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/gatewatch/gatewatch/pipeline"
	"github.com/gatewatch/gatewatch/pipeline/delivery"
	"github.com/gatewatch/gatewatch/pipeline/smtpin"
	"github.com/gatewatch/gatewatch/pipeline/spool"
	"github.com/gatewatch/gatewatch/telemetry"
	"github.com/gatewatch/gatewatch/telemetry/logging"
)

// counting is the emitter of the "telemetry off" run: it only notices
// deliveries, so the benchmark knows when it is done.
type counting struct{ sent atomic.Int64 }

func (c *counting) Emit(ev telemetry.Event) {
	if ev.Type == telemetry.DeliverySent {
		c.sent.Add(1)
	}
}

// BenchmarkTelemetrySpine relays messages in process (receiver, spool,
// delivery to a directory; the SMTP clients run in the same process) with
// the whole telemetry spine (bus, stats, JSON log channel) and with a bare
// emitter, and reports what the spine costs: process CPU time (user and
// system) per message, which a shared machine's scheduling noise does not
// move the way it moves wall time. The two alternate for five rounds and
// the medians are compared. The spool is on /dev/shm when there is one,
// so that fsync does not drown the cost being measured.
func BenchmarkTelemetrySpine(b *testing.B) {
	const rounds = 5
	var off, on []float64
	for r := 0; r < rounds; r++ {
		b.Run(fmt.Sprintf("round=%d/telemetry=off", r), func(b *testing.B) {
			if cpu := relayInProcess(b, bareEmitter); b.N > 1 {
				off = append(off, cpu)
			}
		})
		b.Run(fmt.Sprintf("round=%d/telemetry=on", r), func(b *testing.B) {
			if cpu := relayInProcess(b, spine); b.N > 1 {
				on = append(on, cpu)
			}
		})
	}
	if len(off) == rounds && len(on) == rounds {
		slices.Sort(off)
		slices.Sort(on)
		mOff, mOn := off[rounds/2], on[rounds/2]
		b.ReportMetric(100*(mOn/mOff-1), "spine_%")
		fmt.Fprintf(os.Stderr, "\ntelemetry spine (median of %d rounds): %.1f µs CPU/message with, %.1f µs without: %+.1f%%\n\n",
			rounds, mOn/1e3, mOff/1e3, 100*(mOn/mOff-1))
	}
}

// cpuTime is the process's user plus system time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// What an in-process relay runs with.
type telemetryMode int

const (
	bareEmitter telemetryMode = iota // only counts deliveries
	spine                            // bus, statistics, JSON log channel
	spineCEF                         // the spine plus the CEF channel: file sink and a TCP target
)

func relayInProcess(b *testing.B, mode telemetryMode) float64 {
	return relayWithPolicy(b, mode, pipeline.StrictPolicy{})
}

// relayWithPolicy relays in process under the given policy.
func relayWithPolicy(b *testing.B, mode telemetryMode, policy pipeline.Policy) float64 {
	base := b.TempDir()
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		d, err := os.MkdirTemp("/dev/shm", "gatewatch-bench-")
		if err == nil {
			base = d
			b.Cleanup(func() { os.RemoveAll(d) })
		}
	}
	var emit telemetry.Emitter
	cnt := &counting{}
	st := telemetry.NewStats("log")
	delivered := func() int64 { return cnt.sent.Load() }
	if mode != bareEmitter {
		bus := telemetry.NewBus(st)
		lg, err := logging.New(logging.Config{Level: "info", Format: "json"}, io.Discard)
		if err != nil {
			b.Fatal(err)
		}
		sub := bus.SubscribeWith("log", telemetry.ChannelOptions{Buffer: 2048, Wants: lg.Wants, Linger: 20 * time.Millisecond}, lg.Handle)
		b.Cleanup(sub.Close)
		emit = bus
		delivered = func() int64 { return int64(st.SentMessages.Load()) }
		if mode == spineCEF {
			startCEF(b, bus, st, base)
			// Done when every message's record reached the receiver too:
			// the CPU measured then includes the channel's work.
			sent := st.ChannelSent.With("cef:bench")
			base := sent.Load()
			delivered = func() int64 { return min(int64(st.SentMessages.Load()), int64(sent.Load()-base)) }
		}
	} else {
		emit = cnt
	}
	sp, err := spool.Open(spool.Config{Dir: base + "/spool"}, emit, st)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { sp.Close() })
	dcfg := delivery.Config{Concurrency: 4,
		Routes:   []delivery.Route{{Name: "out", Match: "*", To: "dir://" + base + "/out"}},
		Retry:    delivery.Retry{Initial: time.Second, Max: time.Minute, Lifetime: time.Hour, RouteDown: time.Second},
		Timeouts: delivery.Timeouts{Connect: time.Second, Command: time.Minute, Data: time.Minute, Idle: time.Second}}
	dl, err := delivery.New(dcfg, delivery.Options{Hostname: "gw.bench.invalid", Spool: sp, Emit: emit, Stats: st})
	if err != nil {
		b.Fatal(err)
	}
	sp.OnQueued(dl.EnqueueEntry)
	dl.Start(nil, nil)
	b.Cleanup(dl.Stop)
	rcfg := smtpin.Config{Listen: []string{"127.0.0.1:0"}, Hostname: "gw.bench.invalid", RelayNetworks: []string{"127.0.0.0/8"},
		Limits: smtpin.Limits{MaxConnections: 100, MaxConnectionsPerIP: 100, MaxMessageSize: 1 << 20, MaxRecipients: 10,
			MaxMessagesPerSession: 1 << 30, MaxLineLength: 4096, MaxHeaderSize: 64 << 10, MaxHops: 50},
		Timeouts: smtpin.Timeouts{Command: time.Minute, Data: time.Minute, Write: time.Minute}}
	rc, err := smtpin.New(rcfg, sp, pipeline.NewScanner(emit, policy), emit)
	if err != nil {
		b.Fatal(err)
	}
	if err := rc.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = rc.Shutdown(b.Context()) })
	addr := rc.Addrs()[0].String()
	body := "From: a@example.org\r\nTo: b@example.test\r\nSubject: bench\r\n\r\n" + strings.Repeat("0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuv\r\n", 72)

	const conns = 8
	var next atomic.Int64
	b.ResetTimer()
	start, cpuStart := time.Now(), cpuTime()
	var wg sync.WaitGroup
	for w := 0; w < conns; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			nc, err := net.Dial("tcp", addr)
			if err != nil {
				b.Error(err)
				return
			}
			c := smtp.NewClient(nc)
			defer c.Close()
			for next.Add(1) <= int64(b.N) {
				if err := c.SendMail("a@example.org", []string{"b@example.test"}, strings.NewReader(body)); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	deadline := time.Now().Add(5 * time.Minute)
	for delivered() < int64(b.N) {
		if time.Now().After(deadline) {
			b.Fatalf("delivered %d of %d", delivered(), b.N)
		}
		time.Sleep(time.Millisecond)
	}
	elapsed, cpu := time.Since(start), cpuTime()-cpuStart
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msg/s")
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu_µs/msg")
	return float64(cpu.Nanoseconds()) / float64(b.N)
}
