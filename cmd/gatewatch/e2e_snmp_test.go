package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gatewatch/gatewatch/internal/peers"
)

// The gateway under the real snmpd as AgentX subagent, sending traps to a
// real snmptrapd directly and through the master agent: SNMP, Prometheus
// and the traffic agree, and notifications arrive by name.
func TestSNMPEndToEnd(t *testing.T) {
	base := peers.BaseMIBs(t)
	mibs, _ := filepath.Abs("../../mibs")
	trapd := peers.StartSnmptrapd(t, peers.SnmptrapdOptions{MIBs: []string{base, mibs}, Modules: "GATEWATCH-MIB"})
	snmpd := peers.StartSnmpd(t, peers.SnmpdOptions{Extra: []string{"trap2sink " + trapd.Addr + " public"}})
	stuck := peers.StartSink(t, peers.SinkOptions{SoftReject: []string{"RCPT"}})
	g := startGateway(t, `
telemetry:
  agentx: {address: "{{.AgentX}}", notify: true, timeout: 5s, ping_interval: 2s}
  traps:
    - {target: "{{.Trapd}}", version: "2c", community: public}
  trap_limit: {burst: 5, interval: 1m}
alerts: {interval: 200ms, queue_size: 1}
delivery:
  concurrency: 2
  retry: {initial: 1h, max: 1h, lifetime: 2h, route_down: 200ms}
  timeouts: {connect: 5s, command: 30s, data: 60s, idle: 5s}
  routes:
    - {name: stuck, match: "*@stuck.test", to: "smtp://{{.Stuck}}"}
    - {name: outbox, match: "*", to: "dir://{{.Dir}}/outbox"}
`, gwVars{"AgentX": snmpd.AgentXUnix(), "Trapd": trapd.Addr, "Stuck": stuck.Addr})

	waitFor(t, "the subagent to register", 20*time.Second, func() bool { return g.stat(`channel_up{channel="agentx"}`) == 1 })
	const n = 5
	for i := 0; i < n; i++ {
		if _, err := sendMail(g.SMTP, "s@senders.test", []string{"r@example.test"}, numbered("snmp", i), nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "delivery", 20*time.Second, func() bool { return g.stat("mta_sent_messages") == n })

	got, err := snmpd.Get(t, "1.3.6.1.4.1.32473.2.1.0", "1.3.6.1.4.1.32473.2.4.0", "1.3.6.1.2.1.28.1.1.1.1", "1.3.6.1.2.1.28.1.1.3.1",
		"1.3.6.1.4.1.32473.1.1.0", "1.3.6.1.2.1.27.1.1.2.1", "1.3.6.1.2.1.27.1.1.6.1", "1.3.6.1.2.1.28.2.1.25.1.1")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"1.3.6.1.4.1.32473.2.1.0": "Counter64 " + fmt.Sprint(n), // gwReceivedMessages.0
		"1.3.6.1.4.1.32473.2.4.0": "Counter64 " + fmt.Sprint(n), // gwSentMessages.0
		"1.3.6.1.2.1.28.1.1.1.1":  "Counter32 " + fmt.Sprint(n), // mtaReceivedMessages.1
		"1.3.6.1.2.1.28.1.1.3.1":  "Counter32 " + fmt.Sprint(n), // mtaTransmittedMessages.1
	}
	for oid, w := range want {
		if v := got[oid]; v.Type+" "+v.Value != w {
			t.Errorf("snmpget %s = %s %s, want %s", oid, v.Type, v.Value, w)
		}
	}
	if v := got["1.3.6.1.4.1.32473.1.1.0"]; v.Type != "STRING" || v.Value == "" {
		t.Errorf("gwVersion.0 = %+v", v)
	}
	// NETWORK-SERVICES-MIB applName.1 and applOperStatus.1 (up), and the
	// inbound MTA group's name: standard objects at their RFC positions.
	for oid, w := range map[string]string{"1.3.6.1.2.1.27.1.1.2.1": "STRING gatewatch", "1.3.6.1.2.1.27.1.1.6.1": "INTEGER 1",
		"1.3.6.1.2.1.28.2.1.25.1.1": "STRING inbound"} {
		if v := got[oid]; v.Type+" "+v.Value != w {
			t.Errorf("snmpget %s = %s %s, want %s", oid, v.Type, v.Value, w)
		}
	}
	if m := g.metric("gatewatch_received_messages_total"); m != n {
		t.Errorf("Prometheus says %v received, SNMP %d", m, n)
	}

	// A reload: its notification arrives twice, sent directly and through
	// snmpd's trap2sink.
	g.signal(syscall.SIGHUP)
	lines := trapd.WaitFor(t, 2, func(l string) bool { return strings.Contains(l, "gwConfigReloadedEvent") }, 20*time.Second)
	for _, l := range lines {
		tl, err := peers.ParseTrapdLine(l)
		if err != nil {
			t.Fatal(err)
		}
		if v, ok := tl.Get("GATEWATCH-MIB::gwTrapEvent.0"); !ok || v.Value != "config.reloaded" {
			t.Errorf("reload notification lacks gwTrapEvent: %s", l)
		}
	}

	// Two messages stuck in the queue cross alerts.queue_size (1).
	for i := 0; i < 2; i++ {
		if _, err := sendMail(g.SMTP, "s@senders.test", []string{"r@stuck.test"}, numbered("stuck", i), nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	high := trapd.WaitFor(t, 1, func(l string) bool { return strings.Contains(l, "gwQueueSizeHighEvent") }, 20*time.Second)
	tl, err := peers.ParseTrapdLine(high[0])
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := tl.Get("GATEWATCH-MIB::gwTrapThreshold.0"); v.Value != "1" {
		t.Errorf("threshold varbind = %+v in %s", v, high[0])
	}
	if v, _ := tl.Get("GATEWATCH-MIB::gwTrapValue.0"); v.Value != "2" {
		t.Errorf("value varbind = %+v in %s", v, high[0])
	}
	if n := g.stat(`traps_sent_total{event="queue.size_high"}`); n < 1 {
		t.Errorf("traps_sent_total{queue.size_high} = %d", n)
	}
}
