package main

import (
	"bytes"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatewatch/gatewatch/internal/peers"
)

// /stats and /metrics report what the test did, and agree with each other.
func TestStatsAndMetricsAgreeWithTraffic(t *testing.T) {
	g := startGateway(t, `
smtp:
  listen: ["{{.SMTP}}"]
  hostname: gw.test.invalid
  protected_domains: ["example.test"]
  relay_networks: ["10.0.0.0/8"]
delivery:
  concurrency: 2
  retry: {initial: 300ms, max: 1s, lifetime: 1h, route_down: 200ms}
  timeouts: {connect: 5s, command: 30s, data: 60s, idle: 5s}
  routes:
    - {name: outbox, match: "*", to: "dir://{{.Dir}}/outbox"}
`, nil)
	var bytesSent, rcpts int
	const messages = 7
	for i := 0; i < messages; i++ {
		msg := append(numbered("count", i), bytes.Repeat([]byte("padding line\r\n"), i*37)...)
		to := []string{"a@example.test"}
		if i%2 == 0 {
			to = append(to, "b@example.test")
		}
		if _, err := sendMail(g.SMTP, "s@senders.test", to, msg, nil, nil); err != nil {
			t.Fatal(err)
		}
		bytesSent += len(msg)
		rcpts += len(to)
	}
	// Two refusals: relaying is not allowed from 127.0.0.1 here.
	for i := 0; i < 2; i++ {
		_, err := sendMail(g.SMTP, "s@senders.test", []string{"x@elsewhere.example"}, numbered("denied", i), nil, nil)
		assertSMTPError(t, err, 554, "5.7.1")
	}
	waitFor(t, "delivery", 20*time.Second, func() bool { return g.stat("mta_sent_messages") == messages })

	want := map[string]int64{
		"mta_received_messages":                          messages,
		"mta_received_bytes":                             int64(bytesSent),
		"mta_received_recipients":                        int64(rcpts),
		"mta_sent_messages":                              messages,
		"mta_sent_recipients":                            int64(rcpts),
		"mta_receivings_refused_for_relay_denied":        2,
		"mta_receivings_refused_total":                   2,
		"mta_incoming_connections_total":                 messages + 2,
		"mta_stored_messages_current":                    0,
		`route_delivered_messages_total{route="outbox"}`: messages,
	}
	st := g.stats()
	for name, v := range want {
		if got, _ := strconv.ParseInt(st[name], 10, 64); got != v {
			t.Errorf("/stats %s = %q, want %d", name, st[name], v)
		}
	}
	series := map[string]string{
		"mta_received_messages":                          "gatewatch_received_messages_total",
		"mta_received_bytes":                             "gatewatch_received_bytes_total",
		"mta_received_recipients":                        "gatewatch_received_recipients_total",
		"mta_sent_messages":                              "gatewatch_sent_messages_total",
		"mta_sent_recipients":                            "gatewatch_sent_recipients_total",
		"mta_receivings_refused_for_relay_denied":        `gatewatch_refused_total{reason="relay_denied"}`,
		"mta_incoming_connections_total":                 "gatewatch_incoming_connections_total",
		`route_delivered_messages_total{route="outbox"}`: `gatewatch_route_delivered_messages_total{route="outbox"}`,
	}
	for legacy, prom := range series {
		if got := g.metric(prom); got != float64(want[legacy]) {
			t.Errorf("/metrics %s = %v, /stats %s = %d", prom, got, legacy, want[legacy])
		}
	}
	sent, _ := strconv.ParseInt(st["mta_sent_bytes"], 10, 64)
	if sent <= int64(bytesSent) {
		t.Errorf("mta_sent_bytes %d should exceed the %d received (the trace header is added)", sent, bytesSent)
	}
	if out := peers.PromtoolCheckMetrics(t, []byte(g.get("/metrics"))); strings.TrimSpace(out) != "" {
		t.Errorf("promtool check metrics:\n%s", out)
	}
	// gatewatch stats prints the same figures.
	out, err := exec.Command(env.bin, "stats", "-config", g.cfgPath).CombinedOutput()
	if err != nil {
		t.Fatalf("gatewatch stats: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), fmt.Sprintf("mta_received_messages=%d\n", messages)) {
		t.Errorf("gatewatch stats output lacks the message count:\n%s", out)
	}
	if g.get("/healthz") != "ok\n" {
		t.Error("/healthz")
	}
}
