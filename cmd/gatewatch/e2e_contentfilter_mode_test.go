package main

import (
	"fmt"
	"testing"
	"time"

	"github.com/gatewatch/gatewatch/internal/peers"
)

// TestPostfixContentFilterRoundTrip: Postfix hands every message to the
// gateway as its after-queue content filter (content_filter =
// scan:[127.0.0.1]:PORT), the gateway relays it back to Postfix's
// re-injection listener, Postfix delivers to smtp-sink. The gateway is
// stopped half way: Postfix keeps the rest deferred and retries once it is
// back. Every message arrives exactly once, scanned, and none loops.
func TestPostfixContentFilterRoundTrip(t *testing.T) {
	sink := peers.StartSink(t, peers.SinkOptions{Dump: true})
	filterAddr := peers.FreeAddr(t)
	pf := peers.StartPostfix(t, peers.PostfixOptions{RelayHost: sink.Addr, ContentFilter: peers.PostfixScanFilter(filterAddr), Reinject: true})
	g := startGateway(t, singleRoute, gwVars{"SMTP": filterAddr, "Sink": pf.ReinjectAddr, "Name": "reinject"})

	const n = 30
	send := func(i int) {
		msg := numbered("filtered", i)
		if _, err := sendMail(pf.Addr, "load@senders.test", []string{"rcpt@example.test"}, msg, nil, nil); err != nil {
			t.Fatalf("message %d to Postfix: %v", i, err)
		}
	}
	for i := 0; i < n/2; i++ {
		send(i)
	}
	sink.WaitMessages(t, n/2, 60*time.Second)
	g.stop()
	for i := n / 2; i < n; i++ {
		send(i) // Postfix accepts; its filter is down
	}
	waitFor(t, "Postfix deferring the second half", 60*time.Second, func() bool { return pf.Deferred(t) >= 1 })
	g.start()
	pf.Flush(t)
	msgs := sink.WaitMessages(t, n, 120*time.Second)
	pf.WaitQueueEmpty(t, 60*time.Second)

	seen := map[string]int{}
	for _, m := range msgs {
		seen[m.Header.Get("Message-Id")]++
		if m.Header.Get("X-Gatewatch-ID") == "" {
			t.Errorf("%s reached the sink without passing the gateway", m.Header.Get("Message-Id"))
		}
		if got := len(m.Header["X-Gatewatch-Id"]); got > 1 {
			t.Errorf("%s went through the gateway %d times (a loop)", m.Header.Get("Message-Id"), got)
		}
	}
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("<filtered-%d@senders.test>", i)
		if seen[id] != 1 {
			t.Errorf("%s arrived %d times, want once", id, seen[id])
		}
	}
	if len(msgs) != n {
		t.Errorf("%d messages at the sink, want %d", len(msgs), n)
	}
}
