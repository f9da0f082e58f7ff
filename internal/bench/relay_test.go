package bench

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/gatewatch/gatewatch/internal/peers"
)

// BenchmarkRelay runs the same load, in one invocation, three ways:
// smtp-source straight into smtp-sink (the ceiling of this machine),
// through a Postfix relay, and through gatewatch, each until the last
// message reached the sink. Every message gatewatch acknowledges is
// fsync'd. It reports messages per second and the ratios.
//
// GATEWATCH_BENCH_MESSAGES (default 10000) and GATEWATCH_BENCH_SESSIONS
// (default 20) set the load; messages are 5 KiB, one per connection.
func BenchmarkRelay(b *testing.B) {
	peers.Require(b, peers.SMTPSinkBin, peers.SMTPSourceBin, peers.PostfixBin)
	n := envInt("GATEWATCH_BENCH_MESSAGES", 10000)
	sessions := envInt("GATEWATCH_BENCH_SESSIONS", 20)
	bin := buildGatewatch(b)
	sink := peers.StartSink(b, peers.SinkOptions{Backlog: 1024, Extra: []string{"-m", "1024"}})
	source := func(addr string) time.Duration {
		start := time.Now()
		out, err := exec.Command(peers.SMTPSourceBin, "-s", fmt.Sprint(sessions), "-l", "5120", "-m", fmt.Sprint(n),
			"-f", "sender@example.org", "-t", "rcpt@example.test", addr).CombinedOutput()
		if err != nil {
			b.Fatalf("smtp-source to %s: %v\n%s", addr, err, out)
		}
		return time.Since(start)
	}
	for i := 0; i < b.N; i++ {
		direct := source(sink.Addr)

		pf := peers.StartPostfix(b, peers.PostfixOptions{RelayHost: sink.Addr, Extra: map[string]string{
			"smtp_destination_concurrency_limit": "50", "default_destination_concurrency_limit": "50",
			"max_use": "1000", "qmgr_clog_warn_time": "0"}})
		start := time.Now()
		pfInject := source(pf.Addr)
		pf.WaitQueueEmpty(b, 10*time.Minute)
		pfTotal := time.Since(start)
		if sent := strings.Count(pf.Maillog(b), "status=sent"); sent != n {
			b.Fatalf("Postfix sent %d of %d", sent, n)
		}
		pf.Stop(b)

		gw := startGateway(b, bin, "smtp://"+sink.Addr, "")
		start = time.Now()
		gwInject := source(gw.smtp)
		waitUntil(b, "gatewatch to deliver everything", 10*time.Minute, func() bool {
			return gw.stat(b, "mta_sent_messages") == int64(n) && gw.stat(b, "mta_stored_messages_current") == 0
		})
		gwTotal := time.Since(start)

		rate := func(d time.Duration) float64 { return float64(n) / d.Seconds() }
		b.ReportMetric(rate(direct), "direct_msg/s")
		b.ReportMetric(rate(pfTotal), "postfix_msg/s")
		b.ReportMetric(rate(gwTotal), "gatewatch_msg/s")
		b.ReportMetric(rate(gwTotal)/rate(pfTotal), "gatewatch/postfix")
		b.ReportMetric(rate(gwTotal)/rate(direct), "gatewatch/direct")
		fmt.Fprintf(os.Stderr, "\n%d messages of 5 KiB, %d parallel sessions, one message per connection\n", n, sessions)
		fmt.Fprintf(os.Stderr, "%-44s %10s %10s\n", "path", "accepted/s", "delivered/s")
		fmt.Fprintf(os.Stderr, "%-44s %10.0f %10.0f\n", "smtp-source -> smtp-sink (direct)", rate(direct), rate(direct))
		fmt.Fprintf(os.Stderr, "%-44s %10.0f %10.0f\n", "smtp-source -> Postfix -> smtp-sink", rate(pfInject), rate(pfTotal))
		fmt.Fprintf(os.Stderr, "%-44s %10.0f %10.0f\n", "smtp-source -> gatewatch -> smtp-sink", rate(gwInject), rate(gwTotal))
		fmt.Fprintf(os.Stderr, "gatewatch / Postfix: %.2fx   gatewatch / direct: %.2f\n\n", rate(gwTotal)/rate(pfTotal), rate(gwTotal)/rate(direct))
	}
}

// BenchmarkIdleConnections opens GATEWATCH_BENCH_IDLE (default 5000)
// SMTP connections that stay idle after the greeting and reports the
// gateway's resident memory per connection.
func BenchmarkIdleConnections(b *testing.B) {
	peers.Require(b, peers.SMTPSinkBin)
	n := envInt("GATEWATCH_BENCH_IDLE", 5000)
	bin := buildGatewatch(b)
	gw := startGateway(b, bin, "dir://"+b.TempDir(), "")
	for i := 0; i < b.N; i++ {
		before := rssBytes(b, gw.cmd.Process.Pid)
		conns := make([]net.Conn, 0, n)
		buf := make([]byte, 512)
		for len(conns) < n {
			c, err := net.Dial("tcp", gw.smtp)
			if err != nil {
				b.Fatalf("connection %d: %v", len(conns), err)
			}
			if _, err := c.Read(buf); err != nil || !strings.HasPrefix(string(buf), "220 ") {
				b.Fatalf("connection %d: no greeting (%v)", len(conns), err)
			}
			conns = append(conns, c)
		}
		waitUntil(b, "all sessions open", time.Minute, func() bool {
			return gw.stat(b, "mta_incoming_connections_current") == int64(n)
		})
		after := rssBytes(b, gw.cmd.Process.Pid)
		per := float64(after-before) / float64(n)
		b.ReportMetric(per/1024, "KiB/conn")
		fmt.Fprintf(os.Stderr, "\n%d idle SMTP sessions: RSS %d MiB -> %d MiB, %.1f KiB per session\n\n", n, before>>20, after>>20, per/1024)
		for _, c := range conns {
			c.Close()
		}
		waitUntil(b, "sessions closed", time.Minute, func() bool {
			return gw.stat(b, "mta_incoming_connections_current") == 0
		})
	}
}
