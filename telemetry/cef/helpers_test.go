package cef

import (
	"strings"
	"testing"
	"time"

	"github.com/gatewatch/gatewatch/telemetry"
	"github.com/gatewatch/gatewatch/telemetry/stats"
)

// running is a channel subscribed to its own bus, as the gateway runs it.
type running struct {
	bus *telemetry.Bus
	st  *stats.Stats
	ch  *Channel
	sub *telemetry.Subscription
}

func testConfig(t testing.TB) Config {
	return Config{Events: "all", Facility: "local0", MaxRecordBytes: 8192, FileFormat: FormatRFC5424,
		BufferDir: t.TempDir(), BufferMaxBytes: 64 << 20}
}

func startChannel(t testing.TB, cfg Config) *running {
	t.Helper()
	if err := cfg.Validate("telemetry.cef"); err != nil {
		t.Fatalf("config: %v", err)
	}
	st := telemetry.NewStats(ChannelName)
	bus := telemetry.NewBus(st)
	ch, err := New(cfg, Options{Version: "test", SMTPName: "mx.example.test", Stats: st, Emit: bus, Grace: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	r := &running{bus: bus, st: st, ch: ch}
	r.sub = bus.SubscribeWith(ChannelName, telemetry.ChannelOptions{Buffer: 16384, Wants: ch.Wants}, ch.Handle)
	ch.Start()
	t.Cleanup(r.close)
	return r
}

// close unsubscribes (the waiting events reach the channel) and stops the
// channel; it may be called more than once.
func (r *running) close() {
	r.sub.Close()
	r.ch.Close()
}

// unescapeHeader reads a header field as the CEF spec escapes it.
func unescapeHeader(s string) string {
	return strings.NewReplacer(`\\`, `\`, `\|`, `|`).Replace(s)
}

// poll waits for cond, failing the test after timeout.
func poll(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
