package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gatewatch/gatewatch/internal/peers"
)

const cefToSIEM = `
telemetry:
  cef:
    events: outcomes
    hostname: gw-e2e
    targets: [{name: siem, address: "tcp://{{.SIEM}}"}]
    buffer_dir: "{{.Dir}}/cef-buffer"
`

// mailLoad sends numbered messages from a few clients until stopped and
// keeps the queue IDs the gateway acknowledged (a refused or failed
// transaction while the gateway restarts is simply not counted).
type mailLoad struct {
	mu   sync.Mutex
	ids  map[string]bool
	stop chan struct{}
	wg   sync.WaitGroup
}

func startMailLoad(addr func() string, clients int) *mailLoad {
	l := &mailLoad{ids: map[string]bool{}, stop: make(chan struct{})}
	for c := 0; c < clients; c++ {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for n := 0; ; n++ {
				select {
				case <-l.stop:
					return
				default:
				}
				reply, err := sendMail(addr(), "load@senders.test", []string{"rcpt@example.test"}, numbered(fmt.Sprintf("cef%d", c), n), nil, nil)
				if err != nil {
					time.Sleep(20 * time.Millisecond) // the gateway is restarting: back off, not synchronisation
					continue
				}
				if f := strings.Fields(reply); len(f) > 0 {
					l.mu.Lock()
					l.ids[f[len(f)-1]] = true
					l.mu.Unlock()
				}
			}
		}()
	}
	return l
}

func (l *mailLoad) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.ids)
}

func (l *mailLoad) end() map[string]bool {
	close(l.stop)
	l.wg.Wait()
	return l.ids
}

// TestCEFSurvivesSIEMOutage is the acceptance check of the disk buffer: the
// SIEM's syslog-ng stops under mail load, the gateway restarts while it is
// away, then it comes back. Every message's record arrives exactly once and
// in order, and the backlog figures rise and drain to zero.
func TestCEFSurvivesSIEMOutage(t *testing.T) {
	sink := peers.StartSink(t, peers.SinkOptions{})
	sng := peers.StartSyslogNG(t, peers.SyslogNGOptions{})
	g := startGateway(t, singleRoute+cefToSIEM, gwVars{"Sink": sink.Addr, "Name": "out", "SIEM": sng.RFC5424})
	const backlog = `channel_backlog_records{channel="cef:siem"}`
	completed := func() map[string]int {
		out := map[string]int{}
		for _, r := range sng.Records(t) {
			if r.MsgID == "message.completed" {
				out[r.Ext["externalId"]]++
			}
		}
		return out
	}
	var gmu sync.Mutex
	smtpAddr := func() string { gmu.Lock(); defer gmu.Unlock(); return g.SMTP }
	load := startMailLoad(smtpAddr, 4)
	waitFor(t, "records at the SIEM", 30*time.Second, func() bool { return len(completed()) >= 50 })
	if up := g.stat(`channel_up{channel="cef:siem"}`); up != 1 {
		t.Errorf("channel_up = %d while the SIEM receives", up)
	}

	sng.Stop(t)
	waitFor(t, "a backlog", 30*time.Second, func() bool { return g.stat(backlog) >= 200 })
	if up := g.stat(`channel_up{channel="cef:siem"}`); up != 0 {
		t.Errorf("channel_up = %d while the SIEM is down", up)
	}
	before := load.count()
	gmu.Lock()
	g.stop()
	g.start()
	gmu.Unlock()
	kept := g.stat(backlog)
	if kept < 200 {
		t.Fatalf("backlog after the gateway restart: %d", kept)
	}
	waitFor(t, "mail accepted after the restart", 30*time.Second, func() bool { return load.count() > before+50 })

	sng.Restart(t)
	ids := load.end()
	waitFor(t, "the queue to empty", 60*time.Second, func() bool { return g.stat("mta_stored_messages_current") == 0 })
	waitFor(t, "the backlog to drain", 60*time.Second, func() bool {
		return g.stat(backlog) == 0 && g.stat(`channel_backlog_bytes{channel="cef:siem"}`) == 0
	})
	// Acknowledged by the receiver's kernel is not yet written by
	// syslog-ng: give it the time to process what it has.
	deadline := time.Now().Add(30 * time.Second)
	got := completed()
	for len(got) < len(ids) && time.Now().Before(deadline) {
		time.Sleep(25 * time.Millisecond)
		got = completed()
	}
	for id := range ids {
		if got[id] != 1 {
			t.Errorf("queue ID %s: %d message.completed records, want 1", id, got[id])
		}
	}
	if len(got) != len(ids) {
		t.Errorf("%d message records for %d messages", len(got), len(ids))
	}
	recs := sng.Records(t)
	first, last, err := peers.Sequence(recs)
	if err != nil {
		t.Error(err)
	}
	if sent := g.stat(`channel_sent_total{channel="cef:siem"}`); sent < kept {
		t.Errorf("channel_sent_total = %d, want at least the %d records kept over the restart", sent, kept)
	}
	t.Logf("%d messages, %d records at the SIEM, sequence %d..%d", len(ids), len(recs), first, last)
}

// TestCEFFileSink checks the default file sink and its rotation by
// logrotate: after the file is moved away, SIGHUP makes the gateway write a
// new one.
func TestCEFFileSink(t *testing.T) {
	sink := peers.StartSink(t, peers.SinkOptions{})
	g := startGateway(t, singleRoute+`
telemetry:
  cef: {file: "{{.Dir}}/log/cef.log"}
`, gwVars{"Sink": sink.Addr, "Name": "out"})
	path := filepath.Join(g.dir, "log", "cef.log")
	hasRecord := func(p, what string) bool {
		b, _ := os.ReadFile(p)
		return strings.Contains(string(b), what)
	}
	if _, err := sendMail(g.SMTP, "a@senders.test", []string{"r@example.test"}, numbered("file", 1), nil, nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the record in the file", 30*time.Second, func() bool { return hasRecord(path, "message.completed") })
	b, _ := os.ReadFile(path)
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if !strings.HasPrefix(line, "<") || !strings.Contains(line, " gatewatch ") || !strings.Contains(line, "CEF:0|Gatewatch|") {
			t.Errorf("file line is not an RFC 5424 CEF record: %q", line)
		}
	}
	if err := os.Rename(path, path+".old"); err != nil {
		t.Fatal(err)
	}
	g.signal(syscall.SIGHUP)
	waitFor(t, "the reload", 20*time.Second, func() bool { return g.stat(`config_reloads_total{result="success"}`) == 1 })
	if _, err := sendMail(g.SMTP, "a@senders.test", []string{"r@example.test"}, numbered("file", 2), nil, nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a new file after SIGHUP", 30*time.Second, func() bool { return hasRecord(path, "file 2") })
	if hasRecord(path+".old", "file 2") {
		t.Error("the moved file still receives records after SIGHUP")
	}
}
