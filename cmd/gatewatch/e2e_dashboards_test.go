package main

import (
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/promql/parser"
	"gopkg.in/yaml.v3"

	"github.com/gatewatch/gatewatch/dashboards"
	"github.com/gatewatch/gatewatch/internal/peers"
)

const rulesFile = "../../dashboards/alerts/gatewatch.rules.yml"

const monitoredGateway = `
smtp:
  listen: ["{{.SMTP}}"]
  hostname: gw.test.invalid
  postmaster: postmaster@example.test
  protected_domains: ["example.test", "*.example.test"]
  relay_networks: ["127.0.0.1/32"]
  limits: {max_connections: 500, max_connections_per_ip: 500, max_message_size: 200000}
resolver: {servers: ["{{.DNS}}"], timeout: 2s}
antispam:
  enabled: true
  dnslists:
    - {name: zen, zone: zen.example, kind: ip, score: 3}
    - {name: multi, zone: uribl.example, kind: domain, score: 4}
antivirus:
  enabled: true
  scanners: [builtin]
  signatures: "{{.Sigs}}"
  databases: {check_interval: 200ms}
contentfilter:
  enabled: true
  rules: [{name: executables, names: ["*.exe"]}]
policy:
  lists: {senders_black: ["*@blocked.test"]}
  default:
    actions:
      spam: {do: quarantine}
      virus: {do: quarantine}
      banned: {remove_parts: true, mark_subject: "[CLEANED]"}
  groups:
    - {name: staff, recipients: ["staff@example.test"]}
store: {dir: "{{.Dir}}/store", archive: {received: true, sent: true}}
notify: {admin: "postmaster@example.test"}
alerts: {interval: 1s}
telemetry:
  agentx: {address: "{{.AgentX}}", timeout: 5s, ping_interval: 2s}
  traps:
    - {target: "{{.Trapd}}", version: "2c", community: public}
delivery:
  concurrency: 4
  retry: {initial: 300ms, max: 1s, lifetime: 1h, route_down: 200ms}
  timeouts: {connect: 5s, command: 30s, data: 60s, idle: 5s}
  routes:
    - {name: broken, match: "*@broken.example.test", to: "smtp://{{.Broken}}"}
    - {name: sink, match: "*", to: "smtp://{{.Sink}}"}
`

// monitoredTraffic sends one message of every kind the dashboards tell
// apart: clean, spam, probable spam, formal, blacklisted, infected, banned
// part, unscannable (a broken zip), oversize, relay attempt, a failing
// route, a policy group.
func monitoredTraffic(t *testing.T, g *gwProc) {
	swaks := func(localIP, from, to, subject string, extra ...string) {
		args := append([]string{"--server", g.SMTP, "--local-interface", localIP, "--from", from, "--to", to,
			"--header", "Subject: " + subject}, extra...)
		_, _ = peers.Swaks(t, args...) // refusals are part of the mix; the figures below are checked
	}
	swaks("127.0.0.4", "a@pass.spf.test", "user@example.test", "clean one", "--body", "hello")
	swaks("127.0.0.2", "a@pass.spf.test", "user@example.test", "spam one", "--body", "cheap at http://www.spammy-domain.test/buy")
	swaks("127.0.0.2", "a@soft.spf.test", "user@example.test", "probable one", "--body", "hello")
	swaks("127.0.0.4", "a@pass.spf.test", "user@example.test", "formal one", "--body", "I am away", "--add-header", "Auto-Submitted: auto-replied")
	swaks("127.0.0.4", "a@blocked.test", "user@example.test", "blacklisted one", "--body", "hello")
	swaks("127.0.0.2", "a@pass.spf.test", "x@elsewhere.test", "relay attempt", "--body", "hello")
	swaks("127.0.0.1", "a@senders.test", "someone@broken.example.test", "to a failing route", "--body", "hello")
	swaks("127.0.0.1", "a@senders.test", "staff@example.test", "for the staff", "--body", "hello")
	for _, msg := range [][]byte{
		withAttachment("infected one", "x.com", "application/octet-stream", "base64", b64([]byte(eicarString))),
		withAttachment("banned one", "tool.exe", "application/octet-stream", "base64", b64([]byte("MZ not a program"))),
		withAttachment("unscannable one", "half.zip", "application/zip", "base64", b64(zipOf(t, "a.txt", []byte("some text"))[:40])),
		[]byte("Subject: oversize one\r\n\r\n" + strings.Repeat(strings.Repeat("x", 98)+"\r\n", 3000)),
	} {
		if _, err := sendMail(g.SMTP, "a@senders.test", []string{"user@example.test"}, msg, nil, nil); err != nil {
			t.Logf("%v", err)
		}
	}
}

// TestDashboardAndAlertQueriesReturnData: a real Prometheus scrapes a
// gateway that saw every kind of message; every query of every dashboard
// panel and the series under every alert rule return data.
func TestDashboardAndAlertQueriesReturnData(t *testing.T) {
	dns := peers.StartUnbound(t, peers.SpamTestZones()...)
	sink := peers.StartSink(t, peers.SinkOptions{})
	broken := peers.StartSink(t, peers.SinkOptions{HardReject: []string{"RCPT"}})
	trapd := peers.StartSnmptrapd(t, peers.SnmptrapdOptions{})
	snmpd := peers.StartSnmpd(t, peers.SnmpdOptions{})
	sigs := t.TempDir()
	sum := md5.Sum([]byte("a listed payload"))
	if err := os.WriteFile(filepath.Join(sigs, "test.hdb"), []byte(fmt.Sprintf("%s:16:Test.Listed\n", hex.EncodeToString(sum[:]))), 0o644); err != nil {
		t.Fatal(err)
	}
	g := startGateway(t, monitoredGateway, gwVars{"DNS": dns.Addr, "Sink": sink.Addr, "Broken": broken.Addr, "Trapd": trapd.Addr, "Sigs": sigs,
		"AgentX": snmpd.AgentXUnix()})
	rules, err := filepath.Abs(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	prom := peers.StartPrometheus(t, peers.PrometheusOptions{Targets: []string{g.Admin}, RuleFiles: []string{rules}})

	monitoredTraffic(t, g)
	waitFor(t, "the failing route's bounce", 30*time.Second, func() bool { return g.metric("gatewatch_bounced_recipients_total") >= 1 })
	for _, series := range []string{
		`gatewatch_antispam_messages_total{status="spam"}`, `gatewatch_antispam_messages_total{status="probable_spam"}`,
		`gatewatch_antispam_messages_total{status="formal"}`, `gatewatch_antispam_messages_total{status="clean"}`,
		`gatewatch_refused_total{reason="relay_denied"}`, `gatewatch_refused_total{reason="message_size_limit"}`,
		`gatewatch_refused_total{reason="scan_reject"}`, `gatewatch_objects_flagged_total{status="infected"}`,
		`gatewatch_objects_flagged_total{status="banned"}`, `gatewatch_objects_flagged_total{status="corrupted"}`,
		`gatewatch_messages_completed_total{outcome="quarantined"}`, `gatewatch_messages_completed_total{outcome="delivered"}`,
		`gatewatch_route_bounced_recipients_total{route="broken"}`, `gatewatch_policy_group_outcomes_total{group="staff"}`,
	} {
		if g.metric(series) < 1 {
			t.Errorf("the traffic did not produce %s", series)
		}
	}
	// rate() over a minute needs at least two samples of the new values.
	prom.WaitForData(t, `count_over_time(gatewatch_bounced_recipients_total[1m]) >= 3 and gatewatch_bounced_recipients_total > 0`, 60*time.Second)

	queries, err := dashboards.Queries()
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range queries {
		res, err := prom.Query(t, dashboards.Substitute(q.Expr))
		if err != nil {
			t.Errorf("%s / %s: %s: %v", q.Dashboard, q.Panel, q.Expr, err)
			continue
		}
		if len(res.Samples) == 0 {
			t.Errorf("%s / %s: no data for %s", q.Dashboard, q.Panel, q.Expr)
		}
	}
	t.Logf("%d panel queries answered", len(queries))

	n := 0
	for name, expr := range alertExprs(t) {
		if _, err := prom.Query(t, expr); err != nil {
			t.Errorf("alert %s: %s: %v", name, expr, err)
			continue
		}
		for _, side := range dataSides(t, expr) {
			n++
			if res, err := prom.Query(t, side); err != nil || len(res.Samples) == 0 {
				t.Errorf("alert %s: the series it watches, %s, returned nothing (%v)", name, side, err)
			}
		}
	}
	t.Logf("%d alert series answered", n)
	for _, r := range prom.Rules(t) {
		if r.Health == "err" {
			t.Errorf("rule %s: %s", r.Name, r.LastError)
		}
	}
}

// alertExprs reads the shipped alert rules: name -> expression.
func alertExprs(t *testing.T) map[string]string {
	t.Helper()
	data, err := os.ReadFile(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Groups []struct {
			Rules []struct {
				Alert string `yaml:"alert"`
				Expr  string `yaml:"expr"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(data, &file); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, g := range file.Groups {
		for _, r := range g.Rules {
			if r.Alert != "" {
				out[r.Alert] = r.Expr
			}
		}
	}
	if len(out) == 0 {
		t.Fatal("no alert rules")
	}
	return out
}

// dataSides are the expressions an alert compares against its thresholds:
// what must have data for the alert to mean anything. "x > 5" watches x;
// "a and b" watches both.
func dataSides(t *testing.T, expr string) []string {
	t.Helper()
	node, err := parser.NewParser(parser.Options{}).ParseExpr(expr)
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	var out []string
	var walk func(parser.Expr)
	walk = func(e parser.Expr) {
		switch n := e.(type) {
		case *parser.ParenExpr:
			walk(n.Expr)
		case *parser.BinaryExpr:
			switch {
			case n.Op == parser.LAND || n.Op == parser.LOR || n.Op == parser.LUNLESS:
				walk(n.LHS)
				walk(n.RHS)
				return
			case n.Op.IsComparisonOperator():
				lnum := n.LHS.Type() == parser.ValueTypeScalar
				rnum := n.RHS.Type() == parser.ValueTypeScalar
				switch {
				case rnum:
					walk(n.LHS)
					return
				case lnum:
					walk(n.RHS)
					return
				}
			}
			out = append(out, n.String())
		default:
			out = append(out, e.String())
		}
	}
	walk(node)
	return out
}
