package main

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"strings"

	"github.com/gatewatch/gatewatch/internal/peers"
)

// events returns the gateway's log records of one event type, decoded.
func (g *gwProc) events(name string) []map[string]any {
	g.t.Helper()
	f, err := os.Open(g.logPath)
	if err != nil {
		g.t.Fatal(err)
	}
	defer f.Close()
	var out []map[string]any
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if !strings.Contains(sc.Text(), `"event":"`+name+`"`) {
			continue
		}
		var rec map[string]any
		if json.Unmarshal(sc.Bytes(), &rec) == nil && rec["event"] == name {
			out = append(out, rec)
		}
	}
	return out
}

// cli runs a gatewatch command against the gateway's configuration and
// returns its exit code and combined output.
func (g *gwProc) cli(args ...string) (int, string) {
	g.t.Helper()
	cmd := exec.Command(env.bin, append([]string{args[0], "-config", g.cfgPath}, args[1:]...)...)
	cmd.Dir = g.dir
	out, err := cmd.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		g.t.Fatalf("%v: %v", args, err)
	}
	return code, string(out)
}

// rcptsOf is the envelope recipients of a sink message, bare addresses.
func rcptsOf(m peers.SinkMessage) []string {
	var out []string
	for _, a := range m.RcptArgs {
		a, _, _ = strings.Cut(a, " ")
		out = append(out, strings.Trim(a, "<>"))
	}
	return out
}

// mailFrom is the envelope sender of a sink message, bare.
func mailFrom(m peers.SinkMessage) string {
	a, _, _ := strings.Cut(m.MailArgs, " ")
	return strings.Trim(a, "<>")
}

// to finds the sink messages whose envelope has rcpt.
func to(msgs []peers.SinkMessage, rcpt string) []peers.SinkMessage {
	var out []peers.SinkMessage
	for _, m := range msgs {
		for _, r := range rcptsOf(m) {
			if strings.EqualFold(r, rcpt) {
				out = append(out, m)
				break
			}
		}
	}
	return out
}

// eventsWith keeps the records whose field has the value.
func eventsWith(evs []map[string]any, field, value string) []map[string]any {
	var out []map[string]any
	for _, e := range evs {
		if e[field] == value {
			out = append(out, e)
		}
	}
	return out
}
