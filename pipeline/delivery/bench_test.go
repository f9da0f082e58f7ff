package delivery

import (
	"testing"
	"time"

	"github.com/gatewatch/gatewatch/pipeline"
)

// BenchmarkDeliverySMTP spools b.N messages and measures until the
// in-process next hop has accepted them all.
func BenchmarkDeliverySMTP(b *testing.B) {
	hop := newFakeHop(b)
	hop.mu.Lock()
	hop.discard = true
	hop.mu.Unlock()
	cfg := testConfig(Route{Name: "bench", Match: "*", To: hop.url()})
	cfg.Concurrency = 4
	e := newEnv(b, cfg)
	content := testContent("bench")
	meta := pipeline.Meta{Envelope: pipeline.Envelope{From: testSender, Recipients: rcpts("a@dest.test", "b@dest.test")}}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		e.spoolMsg(meta, content)
	}
	waitFor(b, time.Minute+time.Duration(b.N)*10*time.Millisecond, "all messages accepted", func() bool { return hop.count() >= b.N })
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	waitFor(b, time.Minute, "the spool to drain", func() bool { return len(e.queued()) == 0 })
	if n := e.st.SentMessages.Load(); n != uint64(b.N) {
		b.Fatalf("SentMessages %d, want %d", n, b.N)
	}
}
