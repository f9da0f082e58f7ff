package cef

import (
	"bufio"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatewatch/gatewatch/telemetry"
)

func messageEvent(n int) telemetry.Event {
	return telemetry.Event{Type: telemetry.MessageCompleted, Time: time.Now(), QueueID: "Q" + itoa(n),
		Sender: "a@example.org", Recipient: "b@example.net", Recipients: 1, Size: int64(n),
		Subject: strings.Repeat("s", 200), Action: "accept", Outcome: telemetry.OutcomeDelivered}
}

func itoa(n int) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		if n /= 10; n == 0 {
			return string(b[i:])
		}
	}
}

// blackHole accepts connections and never reads: a receiver that hangs.
func blackHole(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String()
}

// TestHungReceiverNeverBlocksAndBufferIsBounded: a receiver that accepts
// and never reads, and one that is not there at all. The records pile up
// on disk, the bound drops the oldest ones (counted, announced), and
// nothing waits on them: every event reaches the channel.
func TestHungReceiverNeverBlocksAndBufferIsBounded(t *testing.T) {
	refused := func() string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		return addr
	}()
	cfg := testConfig(t)
	cfg.Events = "outcomes"
	cfg.BufferMaxBytes = 1 << 20
	cfg.Targets = []Target{{Name: "hung", Address: "tcp://" + blackHole(t)}, {Name: "gone", Address: "tcp://" + refused}}
	r := startChannel(t, cfg)
	const n = 12000 // about 5 MB of records, five times the bound; fewer than the bus buffer holds
	for i := 1; i <= n; i++ {
		r.bus.Emit(messageEvent(i))
	}
	poll(t, 30*time.Second, "the bound to drop records for both targets", func() bool {
		return r.st.EventsDropped.With("cef:hung").Load() > 0 && r.st.EventsDropped.With("cef:gone").Load() > 0
	})
	r.close()
	if d := r.st.EventsDropped.With(ChannelName).Load(); d != 0 {
		t.Errorf("%d events dropped before the disk buffer: the channel fell behind", d)
	}
	for _, name := range []string{"cef:hung", "cef:gone"} {
		dropped := r.st.EventsDropped.With(name).Load()
		backlog := r.st.ChannelBacklog.With(name).Load()
		bytes := r.st.ChannelBacklogBytes.With(name).Load()
		sent := r.st.ChannelSent.With(name).Load()
		if bytes > cfg.BufferMaxBytes {
			t.Errorf("%s: backlog of %d bytes over the %d bound", name, bytes, cfg.BufferMaxBytes)
		}
		// Every record is accounted for: taken, waiting, or dropped.
		if total := sent + uint64(backlog) + dropped; total < n {
			t.Errorf("%s: sent %d + backlog %d + dropped %d = %d, fewer than the %d records", name, sent, backlog, dropped, total, n)
		}
		if name == "cef:gone" && sent != 0 {
			t.Errorf("%s: %d records sent to nobody", name, sent)
		}
	}
	if r.st.Events.With("telemetry.dropping").Load() == 0 {
		t.Error("no telemetry.dropping event announced the dropped records")
	}
	if up := r.st.ChannelUp.With("cef:gone").Load(); up != 0 {
		t.Errorf("channel_up{cef:gone} = %d", up)
	}
}

// TestUDPRefusedIsCounted: datagrams to a port nobody listens on come back
// as ICMP port unreachable; those records are counted as dropped.
func TestUDPRefusedIsCounted(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := pc.LocalAddr().String()
	pc.Close()
	cfg := testConfig(t)
	cfg.Events = "outcomes"
	cfg.Targets = []Target{{Name: "void", Address: "udp://" + addr}}
	r := startChannel(t, cfg)
	const n = 50
	for i := 1; i <= n; i++ {
		r.bus.Emit(messageEvent(i))
	}
	// The channel's own "connected" record goes the same way.
	poll(t, 10*time.Second, "every datagram settled", func() bool {
		return r.st.ChannelSent.With("cef:void").Load()+r.st.EventsDropped.With("cef:void").Load() >= n+1
	})
	if d := r.st.EventsDropped.With("cef:void").Load(); d == 0 {
		t.Error("no refused datagram counted")
	}
}

func TestFileSinkRotatesBySize(t *testing.T) {
	cfg := testConfig(t)
	dir := t.TempDir()
	cfg.File = filepath.Join(dir, "cef.log")
	cfg.FileMaxBytes, cfg.FileKeep = 8192, 2
	r := startChannel(t, cfg)
	const n = 200
	for i := 1; i <= n; i++ {
		r.bus.Emit(messageEvent(i))
	}
	r.close()
	var lines int
	for _, name := range []string{"cef.log", "cef.log.1", "cef.log.2"} {
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		fi, _ := f.Stat()
		if fi.Size() > cfg.FileMaxBytes {
			t.Errorf("%s has %d bytes, over %d", name, fi.Size(), cfg.FileMaxBytes)
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			lines++
			text := sc.Text()
			i := strings.Index(text, "CEF:0|")
			if !strings.HasPrefix(text, "<") || i < 0 {
				t.Fatalf("%s: not a syslog CEF line: %q", name, text)
			}
			if _, err := parseCEF(text[i:]); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
		}
		f.Close()
	}
	if _, err := os.Stat(filepath.Join(dir, "cef.log.3")); !os.IsNotExist(err) {
		t.Errorf("cef.log.3 kept beyond file_keep 2: %v", err)
	}
	if lines == 0 || lines >= n {
		t.Errorf("%d lines in the kept files; want some, and fewer than the %d written (the oldest rotated out)", lines, n)
	}
	if sent := r.st.ChannelSent.With(FileChannelName).Load(); sent != n {
		t.Errorf("channel_sent_total{cef:file} = %d, want %d", sent, n)
	}
}

func TestReconfigureSwapsTargets(t *testing.T) {
	cfg := testConfig(t)
	cfg.File = filepath.Join(t.TempDir(), "cef.log")
	r := startChannel(t, cfg)
	r.bus.Emit(messageEvent(1))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan string, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		line, _ := bufio.NewReader(c).ReadString('\n')
		got <- line
	}()
	next := cfg
	next.Targets = []Target{{Name: "new", Address: "tcp://" + ln.Addr().String(), Format: FormatRFC3164}}
	if err := r.ch.Reconfigure(next); err != nil {
		t.Fatal(err)
	}
	r.bus.Emit(messageEvent(2))
	select {
	case line := <-got:
		if !strings.Contains(line, "CEF:0|") {
			t.Errorf("new target got %q", line)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the target added by the reload got nothing")
	}
	bad := next
	bad.Targets = []Target{{Name: "tls", Address: "tls://127.0.0.1:1", TLS: TargetTLS{CA: "/nonexistent/ca.pem"}}}
	if err := r.ch.Reconfigure(bad); err == nil || !strings.Contains(err.Error(), "targets[0].tls") {
		t.Errorf("reload with an unreadable CA: %v", err)
	}
	// The previous set-up is back in force.
	r.bus.Emit(messageEvent(3))
	r.close()
	b, _ := os.ReadFile(next.File)
	if !strings.Contains(string(b), "externalId=Q3") {
		t.Error("the file sink stopped after a failed reload")
	}
}

func TestConfigErrorsNameTheKey(t *testing.T) {
	good := Config{Events: "outcomes", Facility: "local0", MaxRecordBytes: 8192, File: "x", FileFormat: FormatRFC5424,
		BufferDir: "b", BufferMaxBytes: 1 << 20}
	if err := good.Validate("telemetry.cef"); err != nil {
		t.Fatalf("good config: %v", err)
	}
	for _, tc := range []struct {
		key string
		mod func(*Config)
	}{
		{"telemetry.cef.events", func(c *Config) { c.Events = "some" }},
		{"telemetry.cef.facility", func(c *Config) { c.Facility = "local9" }},
		{"telemetry.cef.max_record_bytes", func(c *Config) { c.MaxRecordBytes = 100 }},
		{"telemetry.cef.file_format", func(c *Config) { c.FileFormat = "json" }},
		{"telemetry.cef.file_keep", func(c *Config) { c.FileMaxBytes = 10 }},
		{"telemetry.cef.targets[0].address", func(c *Config) { c.Targets = []Target{{Address: "http://x:1"}} }},
		{"telemetry.cef.targets[0].address", func(c *Config) { c.Targets = []Target{{Address: "tcp://nohost"}} }},
		{"telemetry.cef.targets[0].format", func(c *Config) { c.Targets = []Target{{Address: "udp://h:1", Format: "cef"}} }},
		{"telemetry.cef.targets[0].framing", func(c *Config) { c.Targets = []Target{{Address: "tcp://h:1", Framing: "lines"}} }},
		{"telemetry.cef.targets[0].tls", func(c *Config) { c.Targets = []Target{{Address: "udp://h:1", TLS: TargetTLS{CA: "ca"}}} }},
		{"telemetry.cef.targets[0].tls", func(c *Config) { c.Targets = []Target{{Address: "tls://h:1", TLS: TargetTLS{Cert: "c"}}} }},
		{"telemetry.cef.targets[1].name", func(c *Config) { c.Targets = []Target{{Address: "tcp://h:1"}, {Address: "tcp://h:1"}} }},
		{"telemetry.cef.targets[0].name", func(c *Config) { c.Targets = []Target{{Name: "../x", Address: "tcp://h:1"}} }},
		{"telemetry.cef.buffer_dir", func(c *Config) { c.BufferDir = ""; c.Targets = []Target{{Address: "tcp://h:1"}} }},
		{"telemetry.cef.buffer_max_bytes", func(c *Config) { c.BufferMaxBytes = 10; c.Targets = []Target{{Address: "tcp://h:1"}} }},
	} {
		c := good
		tc.mod(&c)
		err := c.Validate("telemetry.cef")
		if err == nil || !strings.Contains(err.Error(), tc.key+":") {
			t.Errorf("want an error naming %s, got %v", tc.key, err)
		}
	}
	tlsByKey := Target{Address: "tcp://h:1", TLS: TargetTLS{CA: "ca.pem"}}
	if tlsByKey.Transport() != "tls" || tlsByKey.ChannelName() != "cef:tls/h:1" {
		t.Errorf("tcp:// with a tls block: transport %s, name %s", tlsByKey.Transport(), tlsByKey.ChannelName())
	}
}
