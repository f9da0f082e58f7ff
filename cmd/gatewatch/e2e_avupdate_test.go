package main

import (
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatewatch/gatewatch/internal/peers"
)

// signatureSet writes a directory with one .hdb file naming each payload
// <prefix>.<i>, its time set to released.
func signatureSet(t *testing.T, prefix string, released time.Time, payloads ...[]byte) string {
	t.Helper()
	dir := t.TempDir()
	var b strings.Builder
	for i, p := range payloads {
		sum := md5.Sum(p)
		fmt.Fprintf(&b, "%s:%d:%s.%d\n", hex.EncodeToString(sum[:]), len(p), prefix, i)
	}
	path := filepath.Join(dir, strings.ToLower(prefix)+".hdb")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, released, released); err != nil {
		t.Fatal(err)
	}
	return dir
}

const avUpdateGateway = singleRoute + `
antivirus:
  enabled: true
  scanners: [builtin]
  signatures: "{{.Sigs}}"
  databases: {outdated_after: 24h, obsolete_after: 120h, check_interval: 200ms}
  outbreak: {per_hour: 20}
telemetry:
  traps:
    - {target: "{{.Trapd}}", version: "2c", community: public}
  trap_limit: {burst: 1000, interval: 1m}
`

// TestSignatureUpdateUnderLoad: the gateway starts on a three-day-old
// signature set (outdated trap); while four clients send messages holding
// two payloads, `gatewatch update` swaps between an old set that knows one
// payload and a fresh one that knows both. Every message was scanned with
// one whole set; the fresh set clears the trap; a broken source fails with
// a trap and changes nothing; the detections raise the outbreak trap.
func TestSignatureUpdateUnderLoad(t *testing.T) {
	base := peers.BaseMIBs(t)
	mibs, _ := filepath.Abs("../../mibs")
	trapd := peers.StartSnmptrapd(t, peers.SnmptrapdOptions{MIBs: []string{base, mibs}, Modules: "GATEWATCH-MIB"})
	sink := peers.StartSink(t, peers.SinkOptions{})

	x := []byte(fmt.Sprintf("payload X of %d", time.Now().UnixNano()))
	y := []byte(fmt.Sprintf("payload Y of %d", time.Now().UnixNano()))
	old := signatureSet(t, "Old", time.Now().Add(-72*time.Hour), x)
	fresh := signatureSet(t, "Fresh", time.Now(), x, y)

	g := startGateway(t, avUpdateGateway, gwVars{"Sink": sink.Addr, "Name": "sink", "Trapd": trapd.Addr, "Sigs": t.TempDir()})
	if code, out := g.cli("update", "--from", old); code != 0 || !strings.HasPrefix(out, "updated: ") {
		t.Fatalf("first update: exit %d: %s", code, out)
	}
	trapd.WaitFor(t, 1, func(l string) bool {
		return strings.Contains(l, "gwAvDbOutdatedEvent") && strings.Contains(l, "builtin")
	}, 20*time.Second)
	if got := g.metric(`gatewatch_av_db_state{scanner="builtin"}`); got != 1 {
		t.Errorf("av_db_state{builtin} = %v with a three-day-old set, want 1", got)
	}

	msg := func(n int) []byte {
		return []byte("From: a@senders.test\r\nTo: u@example.test\r\nSubject: load " + fmt.Sprint(n) + "\r\nMIME-Version: 1.0\r\n" +
			"Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n" +
			"--b\r\nContent-Type: application/octet-stream; name=\"x.bin\"\r\nContent-Transfer-Encoding: base64\r\n\r\n" + b64(x) + "\r\n" +
			"--b\r\nContent-Type: application/octet-stream; name=\"y.bin\"\r\nContent-Transfer-Encoding: base64\r\n\r\n" + b64(y) + "\r\n--b--\r\n")
	}
	var stop atomic.Bool
	var sent atomic.Int64
	var wg sync.WaitGroup
	for c := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := c; !stop.Load(); n += 4 {
				_, err := sendMail(g.SMTP, "a@senders.test", []string{"u@example.test"}, msg(n), nil, nil)
				if err == nil || !strings.Contains(err.Error(), "554") {
					t.Errorf("an infected message: %v, want 554 (refused)", err)
					return
				}
				sent.Add(1)
			}
		}()
	}
	swaps := 0
	for i := range 5 { // fresh, old, fresh, old, fresh
		from := fresh
		if i%2 == 1 {
			from = old
		}
		waitFor(t, "messages between swaps", 30*time.Second, func() bool { return sent.Load() >= int64(10*(i+1)) })
		if code, out := g.cli("update", "--from", from); code != 0 || !strings.HasPrefix(out, "updated: ") {
			t.Fatalf("update %d from %s: exit %d: %s", i, from, code, out)
		}
		swaps++
	}
	waitFor(t, "messages after the last swap", 30*time.Second, func() bool { return sent.Load() >= 60 })
	stop.Store(true)
	wg.Wait()

	// Each message's detections come from one set, whole.
	threats := map[string][]string{}
	for _, ev := range eventsWith(g.events("scan.object_flagged"), "category", "infected") {
		id, _ := ev["queue_id"].(string)
		threat, _ := ev["threat"].(string)
		threats[id] = append(threats[id], threat)
	}
	bySet := map[string]int{}
	for id, names := range threats {
		sort.Strings(names)
		got := strings.Join(names, ",")
		if got != "Old.0" && got != "Fresh.0,Fresh.1" {
			t.Errorf("message %s was scanned with %q: neither the old set (Old.0) nor the fresh one (Fresh.0,Fresh.1) whole", id, got)
		}
		bySet[got]++
	}
	t.Logf("%d messages refused during %d swaps: %v", sent.Load(), swaps, bySet)
	if int64(len(threats)) != sent.Load() || bySet["Old.0"] == 0 || bySet["Fresh.0,Fresh.1"] == 0 {
		t.Errorf("%d messages with detections of %d sent, by set %v: want every one, and both sets used", len(threats), sent.Load(), bySet)
	}
	if got := g.metric(`gatewatch_av_updates_total{result="updated"}`); got != float64(swaps+1) {
		t.Errorf("av_updates_total{updated} = %v, want %d", got, swaps+1)
	}
	if loaded := g.events("av.db_loaded"); len(loaded) != swaps+2 { // start (empty), first update, swaps
		t.Errorf("%d av.db_loaded events, want %d", len(loaded), swaps+2)
	}

	// The last swap installed the fresh set: current again.
	trapd.WaitFor(t, 1, func(l string) bool { return strings.Contains(l, "gwAvDbCurrentEvent") }, 20*time.Second)
	if got := g.metric(`gatewatch_av_db_state{scanner="builtin"}`); got != 0 {
		t.Errorf("av_db_state{builtin} = %v with a fresh set, want 0", got)
	}
	if got := g.metric(`gatewatch_av_signatures{scanner="builtin"}`); got != 2 {
		t.Errorf("av_signatures{builtin} = %v, want 2", got)
	}
	// More than 20 detections within the hour.
	trapd.WaitFor(t, 1, func(l string) bool { return strings.Contains(l, "gwAvOutbreakEvent") }, 20*time.Second)
	if got := g.metric("gatewatch_av_outbreak"); got != 1 {
		t.Errorf("av_outbreak = %v", got)
	}
	stats := g.get("/stats")
	if !strings.Contains(stats, `av_threat_detections_total{threat="Fresh.1"}=`) {
		t.Errorf("/stats lacks the per-threat figure for Fresh.1")
	}
	if strings.Contains(g.get("/metrics"), "av_threat_detections") {
		t.Error("threat names reached Prometheus labels")
	}

	// A broken source: refused, reported, nothing changed.
	broken := t.TempDir()
	if err := os.WriteFile(filepath.Join(broken, "bad.hdb"), []byte("0123:not-a-size:Bad\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out := g.cli("update", "--from", broken)
	if code != exitFailure || !strings.Contains(out, "bad.hdb:1") {
		t.Errorf("broken source: exit %d: %s", code, out)
	}
	trapd.WaitFor(t, 1, func(l string) bool { return strings.Contains(l, "gwAvUpdateFailedEvent") }, 20*time.Second)
	if code, out := g.cli("update", "--from", fresh); code != 0 || !strings.HasPrefix(out, "not needed") {
		t.Errorf("the installed set again: exit %d: %s", code, out)
	}
	// Bad command lines.
	for _, args := range [][]string{{"update", "--from", filepath.Join(broken, "missing")}, {"update", "--from", "ftp://x/y"}, {"update", "stray"}} {
		if code, out := g.cli(args...); code != exitUsage {
			t.Errorf("%v: exit %d, want %d: %s", args, code, exitUsage, out)
		}
	}
}
