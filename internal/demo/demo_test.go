// Package demo is `make demo`: the gateway wired to the real peers an
// operator would run beside it, all on loopback, with a traffic mix that
// gives every channel something to show.
//
// TestDemo starts snmpd (AgentX master), snmptrapd (with GATEWATCH-MIB),
// syslog-ng (parsing CEF into JSON), Prometheus (scraping the admin
// listener), clamd (EICAR only), unbound (the anti-spam test zones), an
// smtp-sink, a second sink that refuses every connection, and the gateway
// itself; sends clean, spam, blacklisted, infected, banned, oversize,
// relay and failing-route mail; and prints where to look.
//
// With DEMO_SECONDS=0 (the default of `make demo`) it keeps everything up
// until SIGINT or SIGTERM and then stops every process it started. With
// DEMO_SECONDS=N it keeps everything up N seconds, then checks that each
// channel received data, which makes it a test as well.
package demo

import (
	"bufio"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"text/template"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/gatewatch/gatewatch/internal/peers"
)

const (
	eicar = `X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*`
	// maxSize is smtp.limits.max_message_size: small, so that the
	// oversize message is quick to send.
	maxSize = 256 << 10
)

// Client addresses on loopback. Only 127.0.0.1 is in relay_networks; the
// others are "the internet" as the anti-spam zones describe it: 127.0.0.2
// is listed in zen.example (with a confirmed PTR), 127.0.0.4 is unlisted
// without a PTR.
const (
	inside = "127.0.0.1"
	listed = "127.0.0.2"
	remote = "127.0.0.4"
)

const gatewayConfig = `smtp:
  listen: ["{{.SMTP}}"]
  hostname: gw.demo.test
  postmaster: postmaster@example.test
  protected_domains: ["example.test", "*.example.test", "broken.test"]
  relay_networks: ["127.0.0.1/32"]
  limits: {max_connections: 200, max_connections_per_ip: 50, max_message_size: {{.MaxSize}}}
  timeouts: {command: 1m, data: 2m, write: 1m}
spool: {dir: "{{.Dir}}/spool"}
store: {dir: "{{.Dir}}/store"}
admin: {listen: "{{.Admin}}"}
log: {level: info, format: json}
delivery:
  concurrency: 4
  retry: {initial: 30s, max: 2m, lifetime: 1h, route_down: 10s}
  timeouts: {connect: 5s, command: 30s, data: 60s, idle: 5s}
  routes:
    - {name: broken, match: "*@broken.test", to: "smtp://{{.Refusing}}"}
    - {name: sink, match: "*", to: "smtp://{{.Sink}}"}
antivirus:
  enabled: true
  scanners: [builtin, clamd]
  clamd: {address: "tcp://{{.Clamd}}", timeout: 10s, max_stream: 10485760}
contentfilter:
  enabled: true
  rules: [{name: executables, names: ["*.exe", "*.scr", "*.com"], types: ["application/x-msdownload"], mismatch: true}]
resolver: {servers: ["{{.DNS}}"], timeout: 2s}
antispam:
  enabled: true
  dnslists:
    - {name: zen, zone: zen.example, kind: ip, score: 3}
    - {name: uribl, zone: uribl.example, kind: domain, score: 4}
policy:
  lists: {senders_black: ["*@blocked.test"]}
telemetry:
  agentx: {address: "{{.AgentX}}", notify: false, timeout: 5s, ping_interval: 5s}
  traps:
    - {target: "{{.Trapd}}", version: "2c", community: public}
  cef:
    events: outcomes
    hostname: gw-demo
    file: "{{.Dir}}/cef.log"
    targets: [{name: siem, address: "tcp://{{.SIEM}}"}]
    buffer_dir: "{{.Dir}}/cef-buffer"
alerts: {interval: 5s}
`

// TestDemo is `make demo`; see the package comment.
func TestDemo(t *testing.T) {
	if os.Getenv("GATEWATCH_DEMO") != "1" {
		t.Skip("the demo runs with GATEWATCH_DEMO=1 (make demo)")
	}
	seconds := 0
	if s := os.Getenv("DEMO_SECONDS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			t.Fatalf("DEMO_SECONDS=%q: want a number of seconds, 0 to run until interrupted", s)
		}
		seconds = n
	}
	// Registered first, so that an interrupt while the peers start is
	// not lost: the test then still returns and runs every cleanup.
	ctx, stopSignals := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stopSignals()
	began := time.Now()

	root := moduleRoot(t)
	base := peers.BaseMIBs(t)
	mibs := filepath.Join(root, "mibs")
	mibPath := peers.MIBPath(base, mibs)

	trapd := peers.StartSnmptrapd(t, peers.SnmptrapdOptions{MIBs: []string{base, mibs}, Modules: "SNMPv2-MIB:GATEWATCH-MIB"})
	snmpd := peers.StartSnmpd(t, peers.SnmpdOptions{})
	siem := peers.StartSyslogNG(t, peers.SyslogNGOptions{})
	clamd := peers.StartClamd(t, peers.ClamdOptions{Signatures: map[string]string{
		"eicar.ndb": "Demo.EICAR-Test-File:0:*:" + fmt.Sprintf("%x", eicar) + "\n",
	}})
	dns := peers.StartUnbound(t, peers.SpamTestZones()...)
	sink := peers.StartSink(t, peers.SinkOptions{Dump: true})
	// "A failing route": a next hop that answers every connection with
	// 421, so the route goes down and its mail waits in the queue.
	refusing := peers.StartSink(t, peers.SinkOptions{SoftReject: []string{"CONNECT"}})

	dir, err := os.MkdirTemp("", "gw-demo-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	gw := &gateway{t: t, dir: dir, smtp: peers.FreeAddr(t), admin: peers.FreeAddr(t)}
	// Prometheus first: its first scrape comes only about 6 s after it
	// starts, which overlaps with building the gateway.
	prom := peers.StartPrometheus(t, peers.PrometheusOptions{Targets: []string{gw.admin}})
	gw.build(root)
	gw.writeConfig(map[string]any{
		"SMTP": gw.smtp, "Admin": gw.admin, "Dir": dir, "MaxSize": maxSize,
		"Sink": sink.Addr, "Refusing": refusing.Addr, "Clamd": clamd.Addr, "DNS": dns.Addr,
		"AgentX": snmpd.AgentXUnix(), "Trapd": trapd.Addr, "SIEM": siem.RFC5424,
	})
	gw.start()
	if !gw.waitStat(`channel_up{channel="agentx"}`, "1", 20*time.Second) {
		t.Errorf("the gateway did not register with snmpd within 20s (channel_up{agentx} != 1)")
	}

	// The traffic mix, one SMTP session each.
	results := sendMix(t, gw.smtp)
	t.Logf("traffic mix sent to %s:", gw.smtp)
	for _, r := range results {
		mark := "ok "
		if !r.asExpected() {
			mark = "!! "
			t.Errorf("%s: got %q, want %s", r.name, r.reply, r.want)
		}
		t.Logf("  %s%-22s %s", mark, r.name, r.reply)
	}

	trapLog := filepath.Join(trapd.Dir, "traps.log")
	cefJSON := filepath.Join(siem.Dir, "cef.json")
	q := func(expr string) string {
		return prom.URL() + "/graph?g0.expr=" + url.QueryEscape(expr) + "&g0.tab=0&g0.range_input=15m"
	}
	where := []string{
		"",
		"==================== gatewatch demo: where to look ====================",
		"SMTP (send your own):  swaks --server " + gw.smtp + " --to someone@example.test",
		"Admin listener:        http://" + gw.admin + "/stats   (and /metrics, /queue)",
		"Gateway log (JSON):    " + gw.logPath,
		"SNMP via snmpd:        snmpwalk -v2c -c public -M " + mibPath + " -m GATEWATCH-MIB " + snmpd.Addr() + " GATEWATCH-MIB::gatewatchMIB",
		"Trap log (snmptrapd):  " + trapLog,
		"CEF parsed (JSON):     " + cefJSON,
		"CEF raw (syslog-ng):   " + filepath.Join(siem.Dir, "raw.log"),
		"Delivered mail:        " + filepath.Join(sink.Dir, "dump"),
		"Prometheus:            " + prom.URL(),
		"  Overview:  sum(rate(gatewatch_received_messages_total[1m]))",
		"             " + q("sum(rate(gatewatch_received_messages_total[1m]))"),
		"  Security:  gatewatch_objects_flagged_total",
		"             " + q("gatewatch_objects_flagged_total"),
		"  Delivery:  gatewatch_route_up",
		"             " + q("gatewatch_route_up"),
		"  Health:    gatewatch_channel_up",
		"             " + q("gatewatch_channel_up"),
	}
	if seconds > 0 {
		where = append(where, fmt.Sprintf("Running for %d s (DEMO_SECONDS), then checking every channel.", seconds))
	} else {
		where = append(where, "Running until Ctrl-C (SIGINT) or SIGTERM; every process above is stopped then.")
	}
	where = append(where, "=======================================================================", "")
	fmt.Println(strings.Join(where, "\n"))

	// A message every 2 s keeps the graphs moving.
	runCtx := ctx
	if seconds > 0 {
		var cancel context.CancelFunc
		runCtx, cancel = context.WithTimeout(ctx, time.Duration(seconds)*time.Second)
		defer cancel()
	}
	sent := trickle(runCtx, gw.smtp)
	if seconds == 0 || ctx.Err() != nil {
		fmt.Printf("\nstopping (%d background messages accepted); the cleanups stop every process\n", sent)
		return
	}
	t.Logf("%d background messages accepted; checking the channels", sent)
	check(t, checkInputs{gw: gw, snmpd: snmpd, mibPath: mibPath, trapd: trapd, siem: siem, prom: prom, sink: sink})
	t.Logf("demo took %v", time.Since(began).Round(time.Second))
}

// moduleRoot is the directory of go.mod, where the gateway is built from.
func moduleRoot(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMOD").Output()
	gomod := strings.TrimSpace(string(out))
	if err != nil || gomod == "" || gomod == os.DevNull {
		t.Fatalf("go env GOMOD: %q, %v", out, err)
	}
	return filepath.Dir(gomod)
}

// gateway is the gatewatch process of the demo.
type gateway struct {
	t           *testing.T
	dir         string
	bin         string
	cfgPath     string
	logPath     string
	smtp, admin string
	cmd         *exec.Cmd
	done        chan struct{}
}

func (g *gateway) build(root string) {
	g.t.Helper()
	g.bin = filepath.Join(g.dir, "gatewatch")
	cmd := exec.Command("go", "build", "-o", g.bin, "./cmd/gatewatch")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		g.t.Fatalf("go build ./cmd/gatewatch: %v\n%s", err, out)
	}
}

func (g *gateway) writeConfig(vars map[string]any) {
	g.t.Helper()
	var b strings.Builder
	tmpl := template.Must(template.New("cfg").Option("missingkey=error").Parse(gatewayConfig))
	if err := tmpl.Execute(&b, vars); err != nil {
		g.t.Fatal(err)
	}
	g.cfgPath = filepath.Join(g.dir, "gatewatch.yaml")
	if err := os.WriteFile(g.cfgPath, []byte(b.String()), 0o600); err != nil {
		g.t.Fatal(err)
	}
	if out, err := exec.Command(g.bin, "check-config", "-config", g.cfgPath).CombinedOutput(); err != nil {
		g.t.Fatalf("gatewatch check-config: %v\n%s\n%s", err, out, b.String())
	}
}

// start runs the gateway and waits for /readyz; it is stopped (SIGTERM,
// by PID) at cleanup, before the peers it talks to.
func (g *gateway) start() {
	g.t.Helper()
	g.logPath = filepath.Join(g.dir, "gatewatch.log")
	logf, err := os.Create(g.logPath)
	if err != nil {
		g.t.Fatal(err)
	}
	defer logf.Close()
	g.cmd = exec.Command(g.bin, "serve", "-config", g.cfgPath)
	g.cmd.Dir = g.dir
	g.cmd.Stdout, g.cmd.Stderr = logf, logf
	if err := g.cmd.Start(); err != nil {
		g.t.Fatal(err)
	}
	g.done = make(chan struct{})
	go func() { _ = g.cmd.Wait(); close(g.done) }()
	g.t.Cleanup(g.stop)
	deadline := time.Now().Add(30 * time.Second)
	for {
		if code, _ := g.get("/readyz"); code == http.StatusOK {
			return
		}
		select {
		case <-g.done:
			b, _ := os.ReadFile(g.logPath)
			g.t.Fatalf("gatewatch exited at start: %v\n%s", g.cmd.ProcessState, b)
		default:
		}
		if time.Now().After(deadline) {
			g.t.Fatal("gatewatch not ready after 30s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (g *gateway) stop() {
	_ = g.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-g.done:
	case <-time.After(40 * time.Second):
		_ = g.cmd.Process.Kill()
		<-g.done
		g.t.Errorf("gatewatch (pid %d) did not stop within 40s of SIGTERM", g.cmd.Process.Pid)
	}
	if g.t.Failed() {
		b, _ := os.ReadFile(g.logPath)
		if len(b) > 20000 {
			b = b[len(b)-20000:]
		}
		g.t.Logf("gateway log (tail):\n%s", b)
	}
}

func (g *gateway) get(path string) (int, string) {
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get("http://" + g.admin + path)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// stat reads one /stats line (name=value).
func (g *gateway) stat(name string) string {
	_, body := g.get("/stats")
	for _, l := range strings.Split(body, "\n") {
		if i := strings.LastIndexByte(l, '='); i > 0 && l[:i] == name {
			return l[i+1:]
		}
	}
	return ""
}

func (g *gateway) waitStat(name, want string, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if g.stat(name) == want {
			return true
		}
		time.Sleep(100 * time.Millisecond)
	}
	return false
}

// mail is one message of the mix.
type mail struct {
	name     string
	client   string // local address to connect from
	from     string
	to       string
	subject  string
	body     string // the whole message after the header when raw is set
	raw      bool   // body already holds MIME headers and parts
	want     string // "250", or the SMTP code expected in the refusal
	oversize bool
}

type result struct {
	name, want, reply string
	code              int
}

func (r result) asExpected() bool { return strconv.Itoa(r.code) == r.want }

func attachment(name, ctype string, data []byte) string {
	return "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n" +
		"--b1\r\nContent-Type: text/plain\r\n\r\nplease find the file attached\r\n" +
		"--b1\r\nContent-Type: " + ctype + "; name=\"" + name + "\"\r\nContent-Disposition: attachment; filename=\"" + name + "\"\r\n" +
		"Content-Transfer-Encoding: base64\r\n\r\n" + base64Lines(data) + "\r\n--b1--\r\n"
}

func base64Lines(data []byte) string {
	s := base64.StdEncoding.EncodeToString(data)
	var b strings.Builder
	for len(s) > 76 {
		b.WriteString(s[:76] + "\r\n")
		s = s[76:]
	}
	b.WriteString(s)
	return b.String()
}

// theMix is the traffic mix: one message per thing the gateway does.
func theMix() []mail {
	return []mail{
		{name: "clean", client: inside, from: "alice@pass.spf.test", to: "bob@example.test", subject: "demo: clean",
			body: "Hello Bob,\r\n\r\nthe quarterly figures are attached to the wiki page.\r\n\r\nAlice\r\n", want: "250"},
		// No GTUBE here: the anti-spam stage has no GTUBE rule. A client
		// on zen.example (3) with a link into uribl.example (4) scores
		// spam (6); the default policy delivers it marked "[!! SPAM]".
		{name: "spam", client: listed, from: "deals@pass.spf.test", to: "bob@example.test", subject: "demo: cheap watches",
			body: "Best prices, today only: http://www.spammy-domain.test/buy\r\n", want: "250"},
		{name: "blacklisted sender", client: remote, from: "someone@blocked.test", to: "bob@example.test", subject: "demo: blacklisted",
			body: "policy.lists.senders_black has *@blocked.test\r\n", want: "554"},
		{name: "EICAR attachment", client: inside, from: "alice@pass.spf.test", to: "bob@example.test", subject: "demo: virus",
			body: attachment("eicar.com", "application/octet-stream", []byte(eicar)), raw: true, want: "554"},
		{name: "banned .exe", client: inside, from: "alice@pass.spf.test", to: "bob@example.test", subject: "demo: banned",
			body: attachment("setup.exe", "application/octet-stream", []byte("MZ\x90\x00 not really a program")), raw: true, want: "554"},
		{name: "oversize", client: inside, from: "alice@pass.spf.test", to: "bob@example.test", subject: "demo: oversize",
			oversize: true, want: "552"},
		{name: "relay attempt", client: remote, from: "someone@pass.spf.test", to: "victim@elsewhere.test", subject: "demo: relay",
			body: "an outside client, an outside recipient\r\n", want: "554"},
		{name: "failing route", client: inside, from: "alice@pass.spf.test", to: "ops@broken.test", subject: "demo: to the broken route",
			body: "this one waits in the queue: the next hop refuses every connection\r\n", want: "250"},
	}
}

func sendMix(t *testing.T, addr string) []result {
	var out []result
	for i, m := range theMix() {
		code, reply := send(addr, m, i)
		out = append(out, result{name: m.name, want: m.want, reply: reply, code: code})
	}
	return out
}

// message renders m with the header fields a real client sends, so that
// only what the demo means to show scores.
func message(m mail, n int) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "From: <%s>\r\nTo: <%s>\r\nSubject: %s\r\nDate: %s\r\nMessage-ID: <demo.%d.%d@%s>\r\n",
		m.from, m.to, m.subject, time.Now().Format(time.RFC1123Z), time.Now().UnixNano(), n, domainOf(m.from))
	switch {
	case m.oversize:
		b.WriteString("\r\n")
		line := strings.Repeat("0123456789", 7) + "\r\n"
		for b.Len() < maxSize+64<<10 {
			b.WriteString(line)
		}
	case m.raw:
		b.WriteString(m.body)
	default:
		b.WriteString("\r\n" + m.body)
	}
	return []byte(b.String())
}

func domainOf(addr string) string { return addr[strings.LastIndexByte(addr, '@')+1:] }

// send runs one SMTP session from m.client and returns the code of the
// reply that ended the transaction (250, or the refusal) and its text.
func send(addr string, m mail, n int) (int, string) {
	d := net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(m.client)}}
	conn, err := d.Dial("tcp", addr)
	if err != nil {
		return 0, err.Error()
	}
	c := smtp.NewClient(conn)
	defer c.Close()
	_ = conn.SetDeadline(time.Now().Add(60 * time.Second))
	fail := func(step string, err error) (int, string) {
		if e, ok := err.(*smtp.SMTPError); ok {
			return e.Code, fmt.Sprintf("%s: %d %d.%d.%d %s", step, e.Code, e.EnhancedCode[0], e.EnhancedCode[1], e.EnhancedCode[2], e.Message)
		}
		return 0, step + ": " + err.Error()
	}
	if err := c.Hello("client.demo.test"); err != nil {
		return fail("EHLO", err)
	}
	if err := c.Mail(m.from, nil); err != nil {
		return fail("MAIL", err)
	}
	if err := c.Rcpt(m.to, nil); err != nil {
		return fail("RCPT", err)
	}
	w, err := c.Data()
	if err != nil {
		return fail("DATA", err)
	}
	if _, err := w.Write(message(m, n)); err != nil {
		return fail("DATA", err)
	}
	resp, err := w.CloseWithResponse()
	if err != nil {
		return fail("end of DATA", err)
	}
	_ = c.Quit()
	return 250, "250 " + resp.StatusText
}

// trickle sends a message every 2 s until ctx ends: mostly clean, now and
// then spam or a virus, so that every dashboard moves. It returns how many
// were accepted.
func trickle(ctx context.Context, addr string) int {
	mix := theMix()
	cycle := []mail{mix[0], mix[0], mix[1], mix[0], mix[3], mix[0], mix[4]}
	tick := time.NewTicker(2 * time.Second)
	defer tick.Stop()
	accepted := 0
	var wg sync.WaitGroup
	var mu sync.Mutex
	defer wg.Wait()
	for n := 0; ; n++ {
		select {
		case <-ctx.Done():
			return accepted
		case <-tick.C:
		}
		m := cycle[n%len(cycle)]
		m.subject += fmt.Sprintf(" #%d", n)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if code, _ := send(addr, m, 1000+n); code == 250 {
				mu.Lock()
				accepted++
				mu.Unlock()
			}
		}()
	}
}

type checkInputs struct {
	gw      *gateway
	snmpd   *peers.Snmpd
	mibPath string
	trapd   *peers.Snmptrapd
	siem    *peers.SyslogNG
	prom    *peers.Prometheus
	sink    *peers.Sink
}

// check fails the test unless every channel received data.
func check(t *testing.T, in checkInputs) {
	t.Helper()
	// SNMP through snmpd (AgentX), by name with GATEWATCH-MIB.
	out, err := in.snmpd.Tool(t, peers.SnmpwalkBin, "-v2c", "-c", "public", "-t", "2", "-r", "1",
		"-M", in.mibPath, "-m", "GATEWATCH-MIB", in.snmpd.Addr(), "GATEWATCH-MIB::gwStatistics")
	received := -1
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "GATEWATCH-MIB::gwReceivedMessages.0 = Counter64: "); ok {
			received, _ = strconv.Atoi(strings.TrimSpace(v))
		}
	}
	if err != nil || received <= 0 {
		t.Errorf("snmpwalk GATEWATCH-MIB::gwStatistics via snmpd: gwReceivedMessages.0 = %d (%v)\n%s", received, err, out)
	} else {
		t.Logf("SNMP:       gwReceivedMessages.0 = %d (snmpwalk via snmpd %s)", received, in.snmpd.Addr())
	}

	// Notifications at snmptrapd, by name.
	var traps []string
	for _, l := range in.trapd.Lines(t) {
		if tl, err := peers.ParseTrapdLine(l); err == nil {
			if v, ok := tl.Get("SNMPv2-MIB::snmpTrapOID.0"); ok && strings.HasPrefix(v.Value, "GATEWATCH-MIB::gw") {
				traps = append(traps, strings.TrimPrefix(v.Value, "GATEWATCH-MIB::"))
			}
		}
	}
	if len(traps) == 0 {
		t.Errorf("snmptrapd received no GATEWATCH-MIB notification; log:\n%s", in.trapd.Log(t))
	} else {
		t.Logf("Traps:      %d GATEWATCH-MIB notifications: %s", len(traps), strings.Join(uniq(traps), ", "))
	}

	// CEF records, parsed by syslog-ng.
	byID := map[string]int{}
	for _, r := range in.siem.Records(t) {
		byID[r.MsgID]++
	}
	if byID["message.refused"] == 0 || byID["message.completed"] == 0 {
		t.Errorf("syslog-ng's parsed CEF has %d message.refused and %d message.completed records (all: %v)",
			byID["message.refused"], byID["message.completed"], byID)
	} else {
		t.Logf("CEF:        %v", byID)
	}

	// Prometheus, scraping the admin listener.
	expr := fmt.Sprintf(`gatewatch_received_messages_total{instance=%q}`, in.gw.admin)
	r := in.prom.WaitForData(t, expr, 20*time.Second)
	if v, err := strconv.ParseFloat(r.Samples[0].Value, 64); err != nil || v <= 0 {
		t.Errorf("Prometheus: %s = %q", expr, r.Samples[0].Value)
	} else {
		t.Logf("Prometheus: %s = %s", expr, r.Samples[0].Value)
	}
	if r, err := in.prom.Query(t, `gatewatch_route_up{route="broken"}`); err != nil || len(r.Samples) != 1 || r.Samples[0].Value != "0" {
		t.Errorf("Prometheus: gatewatch_route_up{route=\"broken\"} = %+v (%v), want 0", r.Samples, err)
	}

	// The clean message at the sink.
	found := false
	for _, m := range in.sink.Messages(t) {
		if m.Header.Get("Subject") == "demo: clean" {
			found = true
		}
	}
	if !found {
		t.Errorf("the clean message did not reach the sink (%s)", in.sink.Addr)
	} else {
		t.Logf("Sink:       the clean message arrived (%d messages in all)", len(in.sink.Messages(t)))
	}
}

func uniq(s []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, v := range s {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}
