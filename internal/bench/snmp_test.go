package bench

import (
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatewatch/gatewatch/internal/peers"
)

// BenchmarkRelayWhilePolled relays the same load without SNMP polling,
// with a poller bulk-walking the gateway's whole subtree every 10 s (a
// busy NMS; most poll every minute or more), and with walks back to back
// (the worst case, where snmpwalk and snmpd themselves compete for the
// CPU), alternating for four rounds. It reports the median throughput
// changes and the walk times, under load and idle. The gateway is an
// AgentX subagent of a real snmpd.
func BenchmarkRelayWhilePolled(b *testing.B) {
	peers.Require(b, peers.SMTPSinkBin, peers.SMTPSourceBin)
	n := envInt("GATEWATCH_BENCH_MESSAGES", 5000)
	bin := buildGatewatch(b)
	snmpd := peers.StartSnmpd(b, peers.SnmpdOptions{})
	sink := peers.StartSink(b, peers.SinkOptions{Backlog: 1024, Extra: []string{"-m", "1024"}})
	gw := startGateway(b, bin, "smtp://"+sink.Addr,
		fmt.Sprintf("telemetry:\n  agentx: {address: %q, timeout: 5s, ping_interval: 15s}\n", snmpd.AgentXUnix()))
	waitUntil(b, "the subagent to register", 30*time.Second, func() bool { return gw.stat(b, `channel_up{channel="agentx"}`) == 1 })

	walkOnce := func(tool string) (time.Duration, int) {
		start := time.Now()
		out, err := snmpd.Tool(b, tool, "-v2c", "-c", "public", "-On", snmpd.Addr(), "1.3.6.1.4.1.32473")
		if err != nil {
			b.Fatalf("%s: %v\n%s", tool, err, out)
		}
		return time.Since(start), strings.Count(out, "\n")
	}
	var sent int64
	// relay runs the load; with pause > 0 a poller walks with tool every
	// pause (back to back when pause < 0).
	relay := func(tool string, pause time.Duration) (rate float64, walks []time.Duration) {
		var mu sync.Mutex
		stop := make(chan struct{})
		var wg sync.WaitGroup
		if tool != "" {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					d, _ := walkOnce(tool)
					mu.Lock()
					walks = append(walks, d)
					mu.Unlock()
					wait := time.After(max(pause, 0))
					select {
					case <-stop:
						return
					case <-wait:
					}
				}
			}()
		}
		start := time.Now()
		out, err := exec.Command(peers.SMTPSourceBin, "-s", "20", "-l", "5120", "-m", fmt.Sprint(n),
			"-f", "sender@example.org", "-t", "rcpt@example.test", gw.smtp).CombinedOutput()
		if err != nil {
			b.Fatalf("smtp-source: %v\n%s", err, out)
		}
		sent += int64(n)
		waitUntil(b, "delivery", 10*time.Minute, func() bool { return gw.stat(b, "mta_sent_messages") == sent })
		rate = float64(n) / time.Since(start).Seconds()
		close(stop)
		wg.Wait()
		return rate, walks
	}
	median := func(v []float64) float64 {
		slices.Sort(v)
		return (v[len(v)/2] + v[(len(v)-1)/2]) / 2
	}
	durMedian := func(v []time.Duration) time.Duration {
		slices.Sort(v)
		return v[len(v)/2]
	}
	for i := 0; i < b.N; i++ {
		var idle []time.Duration
		var varbinds int
		for k := 0; k < 5; k++ {
			d, n := walkOnce("snmpwalk")
			idle, varbinds = append(idle, d), n
		}
		var quiet, every10s, backToBack []float64
		var bulkWalks, walks []time.Duration
		for round := 0; round < 4; round++ {
			q, _ := relay("", 0)
			p, w := relay("snmpbulkwalk", 10*time.Second)
			x, ww := relay("snmpwalk", -1)
			quiet, every10s, backToBack = append(quiet, q), append(every10s, p), append(backToBack, x)
			bulkWalks, walks = append(bulkWalks, w...), append(walks, ww...)
		}
		mq, m10, mb := median(quiet), median(every10s), median(backToBack)
		b.ReportMetric(100*(m10/mq-1), "change_polled_10s_%")
		b.ReportMetric(100*(mb/mq-1), "change_back_to_back_%")
		b.ReportMetric(float64(durMedian(idle).Milliseconds()), "walk_idle_ms")
		fmt.Fprintf(os.Stderr, "\nrelay (medians of 4 rounds): %.0f msg/s without polling, %.0f msg/s with a bulk walk every 10 s (%+.1f%%), "+
			"%.0f msg/s with walks back to back (%+.1f%%)\n", mq, m10, 100*(m10/mq-1), mb, 100*(mb/mq-1))
		fmt.Fprintf(os.Stderr, "walk of the whole subtree (%d values, the snmpwalk process included): idle %s; under full load: "+
			"snmpbulkwalk %s, snmpwalk %s (medians)\n\n", varbinds, durMedian(idle).Round(time.Millisecond),
			durMedian(bulkWalks).Round(time.Millisecond), durMedian(walks).Round(time.Millisecond))
	}
}
