package cef

import (
	"io"
	"net"
	"testing"
	"time"

	"github.com/gatewatch/gatewatch/telemetry"
)

// benchEvent is a typical per-message record.
func benchEvent() telemetry.Event {
	return telemetry.Event{Type: telemetry.MessageCompleted, Time: time.Now(), QueueID: "1K0W20B3RY022MAX",
		SessionID: "1K0W20B3NKQVC6JQ", ClientIP: "192.0.2.10", ClientPort: 51234, Helo: "mail.sender.example",
		Sender: "newsletter@sender.example", Recipient: "alice@example.test,bob@example.test", Recipients: 2, Size: 48213,
		Subject: "Your November statement | account=12345", MessageID: "<20261122.abc@sender.example>",
		Attachments: []string{"statement.pdf"}, Verdicts: "antivirus=clean, antispam=ham(0.4)", Action: "accept",
		Outcome: telemetry.OutcomeDelivered, Route: "inbound", Remote: "10.1.2.3:25", Text: "2 delivered, 0 failed",
		Attempt: 1, Duration: 183 * time.Millisecond}
}

func BenchmarkFormat(b *testing.B) {
	f := NewFormatter(Device{Version: "1.0", Host: "gw1", ID: "mx.example.test"}, 8192)
	ev := benchEvent()
	var buf []byte
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		buf = f.Append(buf[:0], &ev)
	}
	b.SetBytes(int64(len(buf)))
}

// BenchmarkChannelTCP measures what the formatter and the TCP transport
// sustain together: records handed to the channel as the bus does, through
// the disk buffer, to a receiver that reads as fast as it can, until the
// last one is acknowledged. Run with -cpu 1 for the one-core figure.
func BenchmarkChannelTCP(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { _, _ = io.Copy(io.Discard, c); c.Close() }()
		}
	}()
	cfg := testConfig(b)
	cfg.BufferMaxBytes = 4 << 30 // the producer may run ahead: nothing must be dropped
	cfg.Targets = []Target{{Name: "bench", Address: "tcp://" + ln.Addr().String()}}
	r := startChannel(b, cfg)
	sent := r.st.ChannelSent.With("cef:bench")
	poll(b, 10*time.Second, "the target to connect", func() bool { return r.st.ChannelUp.With("cef:bench").Load() == 1 })
	base := sent.Load()
	ev := benchEvent()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		r.ch.Handle(ev, i%512 != 511 && i != b.N-1)
	}
	poll(b, 5*time.Minute, "every record acknowledged", func() bool { return sent.Load()-base >= uint64(b.N) })
	if d := r.st.EventsDropped.With("cef:bench").Load(); d != 0 {
		b.Fatalf("%d records dropped", d)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "records/s")
}
