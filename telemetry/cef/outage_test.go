package cef

import (
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatewatch/gatewatch/internal/peers"
	"github.com/gatewatch/gatewatch/telemetry"
)

// load emits message records at about rate per second until stopped; each
// carries its number in externalId.
type load struct {
	n    atomic.Int64
	stop chan struct{}
	wg   sync.WaitGroup
}

func startLoad(emit func(telemetry.Event), rate int) *load {
	l := &load{stop: make(chan struct{})}
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-l.stop:
				return
			case <-tick.C:
			}
			for i := 0; i < rate/100; i++ {
				n := l.n.Add(1)
				emit(telemetry.Event{Type: telemetry.MessageCompleted, QueueID: "L" + strconv.FormatInt(n, 10),
					Sender: "a@example.org", Recipient: "b@example.net", Recipients: 1, Size: 1000 + n,
					Subject: fmt.Sprintf("load %d", n), Action: "accept", Outcome: telemetry.OutcomeDelivered})
			}
		}
	}()
	return l
}

func (l *load) end() int64 {
	close(l.stop)
	l.wg.Wait()
	return l.n.Load()
}

// TestOutageExactlyOnce stops the receiver under load, restarts the
// channel (as a gateway restart does) while the receiver is down, then
// brings the receiver back: every record arrives exactly once and in
// order, and the backlog the statistics show drains to zero.
func TestOutageExactlyOnce(t *testing.T) {
	for _, tc := range []struct {
		name string
		tls  bool
	}{{"tcp", false}, {"tls", true}} {
		t.Run(tc.name, func(t *testing.T) {
			pki := peers.WritePKI(t, t.TempDir())
			sng := peers.StartSyslogNG(t, peers.SyslogNGOptions{TLS: &peers.SyslogNGTLS{Cert: pki.ServerCert, Key: pki.ServerKey}})
			cfg := testConfig(t)
			cfg.Events = "outcomes"
			cfg.Hostname = "gw-outage-" + tc.name
			cfg.Targets = []Target{{Name: "siem", Address: "tcp://" + sng.RFC5424}}
			if tc.tls {
				cfg.Targets[0] = Target{Name: "siem", Address: "tls://" + sng.TLS, TLS: TargetTLS{CA: pki.CA, ServerName: "localhost"}}
			}
			const name = "cef:siem"
			received := func() []peers.CEFRecord {
				var out []peers.CEFRecord
				for _, r := range sng.Records(t) {
					if r.Host == cfg.Hostname {
						out = append(out, r)
					}
				}
				return out
			}

			r := startChannel(t, cfg)
			l := startLoad(r.bus.Emit, 2000)
			poll(t, 20*time.Second, "records flowing", func() bool { return len(received()) > 500 })
			sng.Stop(t)
			// Load goes on while the receiver is away: the backlog grows.
			poll(t, 20*time.Second, "a backlog", func() bool { return r.st.ChannelBacklog.With(name).Load() > 1000 })
			if up := r.st.ChannelUp.With(name).Load(); up != 0 {
				t.Errorf("channel_up = %d while the receiver is down", up)
			}
			// The gateway restarts meanwhile: the channel stops and a new
			// one opens the same disk buffer.
			sent := l.end()
			r.close()
			r2 := startChannel(t, cfg)
			kept := r2.st.ChannelBacklog.With(name).Load()
			if kept < 1000 {
				t.Fatalf("backlog after the restart: %d records, want the ones from before", kept)
			}
			l2 := startLoad(func(ev telemetry.Event) {
				ev.QueueID = "M" + ev.QueueID[1:]
				r2.bus.Emit(ev)
			}, 2000)
			poll(t, 20*time.Second, "new records on top of the kept backlog", func() bool {
				return r2.st.ChannelBacklog.With(name).Load() > kept+500
			})
			sng.Restart(t)
			sent2 := l2.end()
			poll(t, 60*time.Second, "the backlog to drain", func() bool {
				return r2.st.ChannelBacklog.With(name).Load() == 0 && r2.st.ChannelBacklogBytes.With(name).Load() == 0
			})
			n := 0
			deadline := time.Now().Add(60 * time.Second)
			for int64(n) < sent+sent2 {
				n = 0
				for _, rec := range received() {
					if rec.MsgID == "message.completed" {
						n++
					}
				}
				if time.Now().After(deadline) {
					// Say how many and which are missing: the next run needs the size of the gap.
					_, _, seqErr := peers.Sequence(received())
					t.Fatalf("after 60s the SIEM has %d of %d records (sequence: %v)", n, sent+sent2, seqErr)
				}
				time.Sleep(50 * time.Millisecond) // polling the receiver's file, with the deadline above
			}
			recs := received()
			first, last, err := peers.Sequence(recs)
			if err != nil {
				t.Error(err)
			}
			seen := map[string]int{}
			for _, rec := range recs {
				if rec.MsgID == "message.completed" {
					seen[rec.Ext["externalId"]]++
				}
			}
			for i := int64(1); i <= sent; i++ {
				if c := seen["L"+strconv.FormatInt(i, 10)]; c != 1 {
					t.Errorf("L%d arrived %d times", i, c)
				}
			}
			for i := int64(1); i <= sent2; i++ {
				if c := seen["M"+strconv.FormatInt(i, 10)]; c != 1 {
					t.Errorf("M%d arrived %d times", i, c)
				}
			}
			if len(seen) != int(sent+sent2) {
				t.Errorf("%d distinct message records, sent %d", len(seen), sent+sent2)
			}
			t.Logf("%d + %d records, %d received in all, sequence %d..%d", sent, sent2, len(recs), first, last)
		})
	}
}
