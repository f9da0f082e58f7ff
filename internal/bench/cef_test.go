package bench

import (
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/gatewatch/gatewatch/internal/peers"
	"github.com/gatewatch/gatewatch/telemetry"
	"github.com/gatewatch/gatewatch/telemetry/cef"
	"github.com/gatewatch/gatewatch/telemetry/stats"
)

// BenchmarkRelayCEF relays the same load through three gateways that differ
// only in their CEF channel: off; on (the default file sink plus a TCP
// target, a real syslog-ng); and on with the target down (connection
// refused: every record goes to the disk buffer). Rounds alternate, seven
// of each, one gateway loaded at a time. It reports the median throughput
// and the gateway's CPU time per message (what the channel costs, less moved
// by a shared machine's scheduling than wall time), and the changes against
// CEF off and against the target up. With the target up, syslog-ng runs on
// the same cores and takes its share of them; with it down, the difference
// to off is the gateway's own cost.
func BenchmarkRelayCEF(b *testing.B) {
	peers.Require(b, peers.SMTPSinkBin, peers.SMTPSourceBin, peers.SyslogNGBin)
	n := envInt("GATEWATCH_BENCH_MESSAGES", 4000)
	const rounds = 7
	bin := buildGatewatch(b)
	sink := peers.StartSink(b, peers.SinkOptions{Backlog: 1024, Extra: []string{"-m", "1024"}})
	sng := peers.StartSyslogNG(b, peers.SyslogNGOptions{})
	closed := func() string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		defer ln.Close()
		return ln.Addr().String()
	}()
	cef := func(target string) string {
		return fmt.Sprintf("telemetry:\n  agentx: {address: \"\"}\n  cef:\n    file: var/log/cef.log\n    targets: [{name: siem, address: %q}]\n", target)
	}
	kinds := []struct {
		name  string
		extra string
	}{
		{"off", "telemetry:\n  agentx: {address: \"\"}\n  cef: {file: \"\"}\n"},
		{"on", cef("tcp://" + sng.RFC5424)},
		{"down", cef("tcp://" + closed)},
	}
	gws := make([]*gateway, len(kinds))
	for i, k := range kinds {
		gws[i] = startGateway(b, bin, "smtp://"+sink.Addr, k.extra)
	}
	waitUntil(b, "the CEF target to connect", 30*time.Second, func() bool {
		return gws[1].stat(b, `channel_up{channel="cef:siem"}`) == 1
	})
	sent := make([]int64, len(kinds))
	relay := func(i int) (rate, cpuPerMsg float64) {
		g := gws[i]
		cpu0, start := processCPU(b, g.cmd.Process.Pid), time.Now()
		out, err := exec.Command(peers.SMTPSourceBin, "-s", "20", "-l", "5120", "-m", fmt.Sprint(n),
			"-f", "sender@example.org", "-t", "rcpt@example.test", g.smtp).CombinedOutput()
		if err != nil {
			b.Fatalf("smtp-source: %v\n%s", err, out)
		}
		sent[i] += int64(n)
		waitUntil(b, "delivery", 10*time.Minute, func() bool { return g.stat(b, "mta_sent_messages") == sent[i] })
		wall := time.Since(start)
		cpu := processCPU(b, g.cmd.Process.Pid) - cpu0
		return float64(n) / wall.Seconds(), float64(cpu.Microseconds()) / float64(n)
	}
	median := func(v []float64) float64 {
		v = slices.Clone(v)
		slices.Sort(v)
		return v[len(v)/2]
	}
	for it := 0; it < b.N; it++ {
		rates := make([][]float64, len(kinds))
		cpus := make([][]float64, len(kinds))
		for r := 0; r < rounds; r++ {
			for j := range kinds {
				i := (j + r) % len(kinds) // rotate the order: no kind always runs first
				rate, cpu := relay(i)
				rates[i], cpus[i] = append(rates[i], rate), append(cpus[i], cpu)
			}
		}
		off, on, down := median(rates[0]), median(rates[1]), median(rates[2])
		cOff, cOn, cDown := median(cpus[0]), median(cpus[1]), median(cpus[2])
		b.ReportMetric(100*(on/off-1), "throughput_on_vs_off_%")
		b.ReportMetric(100*(down/on-1), "throughput_down_vs_up_%")
		b.ReportMetric(100*(cOn/cOff-1), "cpu_on_vs_off_%")
		b.ReportMetric(100*(cDown/cOn-1), "cpu_down_vs_up_%")
		b.ReportMetric(100*(down/off-1), "throughput_down_vs_off_%")
		records := gws[1].stat(b, `channel_sent_total{channel="cef:siem"}`)
		backlog := gws[2].stat(b, `channel_backlog_records{channel="cef:siem"}`)
		fmt.Fprintf(os.Stderr, "\n%d messages of 5 KiB per round, 20 sessions, medians of %d rounds\n", n, rounds)
		fmt.Fprintf(os.Stderr, "%-34s %12s %16s\n", "CEF channel", "delivered/s", "gateway CPU/msg")
		for i, k := range kinds {
			fmt.Fprintf(os.Stderr, "%-34s %12.0f %13.0f µs\n", k.name, median(rates[i]), median(cpus[i]))
		}
		fmt.Fprintf(os.Stderr, "on vs off: throughput %+.1f%%, CPU %+.1f%%; target down vs up: throughput %+.1f%%, CPU %+.1f%%; "+
			"down vs off: throughput %+.1f%%, CPU %+.1f%%\n",
			100*(on/off-1), 100*(cOn/cOff-1), 100*(down/on-1), 100*(cDown/cOn-1), 100*(down/off-1), 100*(cDown/cOff-1))
		fmt.Fprintf(os.Stderr, "records the SIEM took: %d; records waiting for the dead target: %d\n\n", records, backlog)
	}
}

// startCEF subscribes a CEF channel as the gateway runs it by default (one
// record per message outcome), with the file sink and a TCP target that
// reads and discards.
func startCEF(b *testing.B, bus *telemetry.Bus, st *stats.Stats, dir string) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { _, _ = io.Copy(io.Discard, c); c.Close() }()
		}
	}()
	cfg := cef.Config{Events: "outcomes", Facility: "local0", MaxRecordBytes: 8192,
		File: filepath.Join(dir, "cef.log"), FileFormat: cef.FormatRFC5424,
		Targets:   []cef.Target{{Name: "bench", Address: "tcp://" + ln.Addr().String()}},
		BufferDir: filepath.Join(dir, "cef-buffer"), BufferMaxBytes: 256 << 20}
	ch, err := cef.New(cfg, cef.Options{Version: "bench", SMTPName: "gw.bench.invalid", Stats: st, Emit: bus})
	if err != nil {
		b.Fatal(err)
	}
	sub := bus.SubscribeWith(cef.ChannelName, telemetry.ChannelOptions{Buffer: 16384, Wants: ch.Wants, Linger: 10 * time.Millisecond}, ch.Handle)
	ch.Start()
	b.Cleanup(func() { sub.Close(); ch.Close() })
}

// BenchmarkCEFCost relays in process with the telemetry spine, with and
// without the CEF channel, alternating for five rounds, and compares the
// process CPU time per message: what CEF adds to relaying a message.
func BenchmarkCEFCost(b *testing.B) {
	const rounds = 5
	var off, on []float64
	runOff := func(r int) {
		b.Run(fmt.Sprintf("round=%d/cef=off", r), func(b *testing.B) {
			if cpu := relayInProcess(b, spine); b.N > 1 {
				off = append(off, cpu)
			}
		})
	}
	runOn := func(r int) {
		b.Run(fmt.Sprintf("round=%d/cef=on", r), func(b *testing.B) {
			if cpu := relayInProcess(b, spineCEF); b.N > 1 {
				on = append(on, cpu)
			}
		})
	}
	for r := 0; r < rounds; r++ {
		if r%2 == 0 { // neither always runs first
			runOff(r)
			runOn(r)
		} else {
			runOn(r)
			runOff(r)
		}
	}
	if len(off) == rounds && len(on) == rounds {
		slices.Sort(off)
		slices.Sort(on)
		mOff, mOn := off[rounds/2], on[rounds/2]
		b.ReportMetric(100*(mOn/mOff-1), "cef_cpu_%")
		fmt.Fprintf(os.Stderr, "\nCEF channel (median of %d rounds): %.1f µs CPU/message with, %.1f µs without: %+.1f%%\n\n",
			rounds, mOn/1e3, mOff/1e3, 100*(mOn/mOff-1))
	}
}
