package main

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/gatewatch/gatewatch/internal/peers"
)

const singleRoute = `
delivery:
  concurrency: 4
  retry: {initial: 300ms, max: 1s, lifetime: 1h, route_down: 200ms}
  timeouts: {connect: 5s, command: 30s, data: 60s, idle: 5s}
  routes:
    - {name: {{.Name}}, match: "*", to: "smtp://{{.Sink}}"}
`

func numbered(tag string, n int) []byte {
	return []byte(fmt.Sprintf("From: load@senders.test\r\nTo: rcpt@example.test\r\nSubject: %s %d\r\nMessage-ID: <%s-%d@senders.test>\r\n\r\nmessage %d of %s\r\n", tag, n, tag, n, n, tag))
}

// arrived indexes sink dumps by Message-ID.
func arrived(t testing.TB, sinks ...*peers.Sink) map[string]int {
	seen := map[string]int{}
	for _, s := range sinks {
		for _, m := range s.Messages(t) {
			seen[m.Header.Get("Message-Id")]++
		}
	}
	return seen
}

func TestFourHundredRetriedThenDelivered(t *testing.T) {
	flaky := peers.StartSink(t, peers.SinkOptions{SoftReject: []string{"DATA"}})
	g := startGateway(t, singleRoute, gwVars{"Sink": flaky.Addr, "Name": "flaky"})
	if _, err := sendMail(g.SMTP, "a@senders.test", []string{"r@example.test"}, numbered("retry", 1), nil, nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a deferral", 20*time.Second, func() bool { return g.stat("deferred_recipients_total") >= 1 })
	if g.stat("mta_sent_messages") != 0 {
		t.Fatal("sent although the next hop answered 4xx")
	}
	// The next hop recovers on the same address.
	port := flaky.Port
	flaky.Stop(t)
	good := peers.StartSink(t, peers.SinkOptions{Dump: true, Port: port})
	msgs := good.WaitMessages(t, 1, 30*time.Second)
	if id := msgs[0].Header.Get("Message-Id"); id != "<retry-1@senders.test>" {
		t.Fatalf("delivered %q", id)
	}
	waitFor(t, "queue empty", 10*time.Second, func() bool { return g.stat("mta_stored_messages_current") == 0 })
	if n := g.stat("mta_sent_messages"); n != 1 {
		t.Errorf("mta_sent_messages = %d", n)
	}
}

// Every message that got 250 reaches the sink although the gateway is
// killed with SIGKILL several times while the load runs.
func TestKill9LosesNoAcknowledgedMessage(t *testing.T) {
	sink := peers.StartSink(t, peers.SinkOptions{Dump: true, Backlog: 512})
	g := startGateway(t, singleRoute, gwVars{"Sink": sink.Addr, "Name": "sink"})
	const total, senders = 360, 6
	kills := []int64{60, 150, 250}

	var acked sync.Map
	var nAcked, next, failures atomic.Int64
	var wg sync.WaitGroup
	for s := 0; s < senders; s++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				if nAcked.Load() >= total {
					return
				}
				// Every attempt has a number of its own; only the
				// acknowledged ones are owed.
				n := int(next.Add(1))
				if _, err := sendMail(g.SMTP, "load@senders.test", []string{"rcpt@example.test"}, numbered("k9", n), nil, nil); err != nil {
					failures.Add(1)
					time.Sleep(10 * time.Millisecond) // the gateway is restarting: back off a little
					continue
				}
				acked.Store(fmt.Sprintf("<k9-%d@senders.test>", n), true)
				nAcked.Add(1)
			}
		}()
	}
	for _, at := range kills {
		waitFor(t, fmt.Sprintf("%d acknowledged", at), 120*time.Second, func() bool { return nAcked.Load() >= at })
		g.kill9()
		g.start()
	}
	wg.Wait()
	want := 0
	acked.Range(func(_, _ any) bool { want++; return true })
	t.Logf("%d acknowledged, %d attempts failed during kills", want, failures.Load())
	if failures.Load() == 0 {
		t.Error("no attempt failed: the kills did not happen during the load")
	}
	var missing []string
	waitFor(t, "every acknowledged message at the sink", 120*time.Second, func() bool {
		seen := arrived(t, sink)
		missing = missing[:0]
		acked.Range(func(k, _ any) bool {
			if seen[k.(string)] == 0 {
				missing = append(missing, k.(string))
			}
			return true
		})
		return len(missing) == 0
	})
	dups := 0
	for _, c := range arrived(t, sink) {
		if c > 1 {
			dups += c - 1
		}
	}
	t.Logf("all %d acknowledged messages arrived; %d duplicates (allowed)", want, dups)
}

// A reload changes the route while sessions are open and sending: no
// session fails, mail sent after the reload goes the new way.
func TestReloadUnderLoadChangesRoute(t *testing.T) {
	sinkA := peers.StartSink(t, peers.SinkOptions{Dump: true})
	sinkB := peers.StartSink(t, peers.SinkOptions{Dump: true})
	g := startGateway(t, singleRoute, gwVars{"Sink": sinkA.Addr, "Name": "a"})

	var nAcked atomic.Int64
	var errs sync.Map
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for s := 0; s < 4; s++ {
		wg.Add(1)
		go func(s int) {
			defer wg.Done()
			// One long session per sender: the reload happens under it.
			c, err := smtp.Dial(g.SMTP)
			if err != nil {
				errs.Store(fmt.Sprintf("dial %d", s), err)
				return
			}
			defer c.Close()
			for i := 0; ; i++ {
				select {
				case <-stop:
					_ = c.Quit()
					return
				default:
				}
				if err := c.SendMail("load@senders.test", []string{"rcpt@example.test"}, strings.NewReader(string(numbered(fmt.Sprintf("rl%d", s), i)))); err != nil {
					errs.Store(fmt.Sprintf("sender %d message %d", s, i), err)
					return
				}
				nAcked.Add(1)
			}
		}(s)
	}
	waitFor(t, "load running", 30*time.Second, func() bool { return nAcked.Load() >= 40 })
	g.writeConfig(singleRoute, gwVars{"Sink": sinkB.Addr, "Name": "b"})
	g.signal(syscall.SIGHUP)
	waitFor(t, "reload", 10*time.Second, func() bool { return g.stat(`config_reloads_total{result="success"}`) == 1 })
	before := nAcked.Load()
	waitFor(t, "load continuing after reload", 30*time.Second, func() bool { return nAcked.Load() >= before+40 })
	if _, err := sendMail(g.SMTP, "a@senders.test", []string{"r@example.test"}, numbered("marker", 1), nil, nil); err != nil {
		t.Fatal(err)
	}
	close(stop)
	wg.Wait()
	errs.Range(func(k, v any) bool {
		t.Errorf("%s: %v", k, v)
		return true
	})
	waitFor(t, "marker at the new route", 30*time.Second, func() bool { return arrived(t, sinkB)["<marker-1@senders.test>"] == 1 })
	if arrived(t, sinkA)["<marker-1@senders.test>"] != 0 {
		t.Error("marker went the old way")
	}
	want := nAcked.Load() + 1
	waitFor(t, "every message delivered", 60*time.Second, func() bool {
		n := 0
		for _, c := range arrived(t, sinkA, sinkB) {
			n += c
		}
		return int64(n) >= want
	})
	if g.stat(`route_delivered_messages_total{route="b"}`) == 0 || g.stat(`route_delivered_messages_total{route="a"}`) == 0 {
		t.Error("per-route counters do not show both routes")
	}
}

func TestFailedReloadKeepsConfig(t *testing.T) {
	sink := peers.StartSink(t, peers.SinkOptions{Dump: true})
	g := startGateway(t, singleRoute, gwVars{"Sink": sink.Addr, "Name": "a"})
	if err := os.WriteFile(g.cfgPath, []byte("smtp:\n  lisen: [oops]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	g.signal(syscall.SIGHUP)
	waitFor(t, "failed reload counted", 10*time.Second, func() bool { return g.stat(`config_reloads_total{result="failure"}`) == 1 })
	waitFor(t, "the log to explain the failed reload", 10*time.Second, func() bool {
		log, _ := os.ReadFile(g.logPath)
		return strings.Contains(string(log), `"event":"config.reload_failed"`) && strings.Contains(string(log), "unknown key smtp.lisen")
	})
	if _, err := sendMail(g.SMTP, "a@senders.test", []string{"r@example.test"}, numbered("after-bad-reload", 1), nil, nil); err != nil {
		t.Fatalf("gateway stopped serving after a bad reload: %v", err)
	}
	sink.WaitMessages(t, 1, 20*time.Second)
}
