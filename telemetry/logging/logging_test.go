package logging_test

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatewatch/gatewatch/telemetry"
	"github.com/gatewatch/gatewatch/telemetry/logging"
)

// syncBuffer is the log's destination: it records what reached the writer
// (as opposed to what sits in the logger's buffer) and how many writes it
// took.
type syncBuffer struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	writes int
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.writes++
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// waitLines polls until the delayed flush wrote at least n lines.
func (b *syncBuffer) waitLines(t *testing.T, n int) []string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for len(b.lines()) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d lines written, want at least %d:\n%s", len(b.lines()), n, b.String())
		}
		time.Sleep(time.Millisecond)
	}
	return b.lines()
}

func (b *syncBuffer) lines() []string {
	s := strings.TrimSuffix(b.String(), "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

func newLogger(t *testing.T, cfg logging.Config) (*logging.Logger, *syncBuffer) {
	t.Helper()
	w := &syncBuffer{}
	l, err := logging.New(cfg, w)
	if err != nil {
		t.Fatalf("New(%+v): %v", cfg, err)
	}
	return l, w
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		cfg     logging.Config
		wantErr string // "" for valid; else the key the error must name
	}{
		{logging.Config{Level: "info", Format: "json"}, ""},
		{logging.Config{Level: "", Format: "console"}, ""},
		{logging.Config{Level: "DEBUG", Format: "auto"}, ""},
		{logging.Config{Level: "warning", Format: "json"}, ""},
		{logging.Config{Level: "error", Format: "json"}, ""},
		{logging.Config{Level: "loud", Format: "json"}, "log.level"},
		{logging.Config{Level: "info", Format: "xml"}, "log.format"},
		{logging.Config{Level: "info", Format: "JSON"}, "log.format"},
	} {
		err := tc.cfg.Validate()
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("Validate(%+v) = %v, want nil", tc.cfg, err)
		case tc.wantErr != "" && err == nil:
			t.Errorf("Validate(%+v) = nil, want an error naming %s", tc.cfg, tc.wantErr)
		case tc.wantErr != "" && !strings.HasPrefix(err.Error(), tc.wantErr+":"):
			t.Errorf("Validate(%+v) = %q, want it to start with %s:", tc.cfg, err, tc.wantErr)
		}
		if tc.wantErr != "" {
			if l, err := logging.New(tc.cfg, &syncBuffer{}); err == nil || l != nil {
				t.Errorf("New(%+v) = %v, %v; want nil and the validation error", tc.cfg, l, err)
			}
		}
	}
}

// fullEvent sets every field Fields knows.
func fullEvent() telemetry.Event {
	return telemetry.Event{
		Type: telemetry.DeliveryBounced, Time: time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC),
		QueueID: "Q1", SessionID: "S1", ClientIP: "192.0.2.1", ClientPort: 40001, Helo: "client.example",
		Sender: "a@example.org", Recipient: "b@example.net", Recipients: 3, Size: 4096,
		Route: "smarthost", Remote: "198.51.100.7:25", Stage: "clamav", Reason: telemetry.ReasonRejected,
		Code: 550, Status: "5.1.1", Text: `no "such" user`, Channel: "log", Count: 12, Attempt: 4,
		Duration: 1500 * time.Microsecond, Err: "boom",
	}
}

func decodeLine(t *testing.T, line string) map[string]any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(line))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("line is not a JSON object: %v\n%s", err, line)
	}
	if dec.More() {
		t.Fatalf("more than one JSON value on a line: %s", line)
	}
	return m
}

func TestJSONEventLine(t *testing.T) {
	l, w := newLogger(t, logging.Config{Level: "info", Format: "json"})
	ev := fullEvent()
	l.Handle(ev, false)
	lines := w.waitLines(t, 1)
	if len(lines) != 1 {
		t.Fatalf("%d lines, want 1:\n%s", len(lines), w.String())
	}
	m := decodeLine(t, lines[0])
	spec := ev.Type.Spec()
	if m["event"] != spec.Name {
		t.Errorf("event = %v, want %s", m["event"], spec.Name)
	}
	if m["time"] != "2024-05-06T07:08:09.000Z" {
		t.Errorf("time = %v, want the event's time to the millisecond, 2024-05-06T07:08:09.000Z", m["time"])
	}
	if m["level"] != "warn" {
		t.Errorf("level = %v, want warn (the catalog's level of %s)", m["level"], spec.Name)
	}
	if m["message"] != spec.CEFName {
		t.Errorf("message = %v, want %q", m["message"], spec.CEFName)
	}
	want := map[string]bool{"event": true, "time": true, "level": true, "message": true}
	n := 0
	ev.Fields(func(f telemetry.Field) {
		n++
		want[f.Name] = true
		v, ok := m[f.Name]
		if !ok {
			t.Errorf("field %s missing", f.Name)
			return
		}
		if f.Numeric {
			num, isNum := v.(json.Number)
			if !isNum {
				t.Errorf("field %s = %#v, want a JSON number", f.Name, v)
				return
			}
			if x, err := num.Float64(); err != nil || x != f.Num {
				t.Errorf("field %s = %s, want %v", f.Name, num, f.Num)
			}
		} else if v != f.Text {
			t.Errorf("field %s = %#v, want string %q", f.Name, v, f.Text)
		}
	})
	if n != 21 {
		t.Errorf("the full event has %d fields, want 21", n)
	}
	for k := range m {
		if !want[k] {
			t.Errorf("unexpected key %q", k)
		}
	}
}

func TestJSONTimeIsEventTime(t *testing.T) {
	l, w := newLogger(t, logging.Config{Level: "info", Format: "json"})
	at := time.Now().Add(-3 * time.Hour).Truncate(time.Millisecond).Add(700 * time.Millisecond)
	l.Handle(telemetry.Event{Type: telemetry.GatewayStarted, Time: at}, false)
	m := decodeLine(t, w.waitLines(t, 1)[0])
	got, err := time.Parse(time.RFC3339Nano, m["time"].(string))
	if err != nil {
		t.Fatalf("time %v: %v", m["time"], err)
	}
	if d := got.Sub(at); d > 0 || d <= -time.Second {
		t.Errorf("time = %v, want the event's time %v (not the time of writing)", got, at)
	}
}

func TestLevelFilter(t *testing.T) {
	l, w := newLogger(t, logging.Config{Level: "warn", Format: "json"})
	l.Handle(telemetry.Event{Type: telemetry.MessageAccepted, QueueID: "info"}, false) // info
	l.Handle(telemetry.Event{Type: telemetry.MessageQueued, QueueID: "debug"}, false)  // debug
	l.Flush()
	if got := w.String(); got != "" {
		t.Fatalf("events below warn were written:\n%s", got)
	}
	l.Handle(telemetry.Event{Type: telemetry.GatewayStopping}, false)  // warn
	l.Handle(telemetry.Event{Type: telemetry.SpoolCorrupt}, false)     // error
	l.Handle(telemetry.Event{Type: telemetry.DeliveryDeferred}, false) // warn
	lines := w.waitLines(t, 3)
	if len(lines) != 3 {
		t.Fatalf("%d lines, want 3:\n%s", len(lines), w.String())
	}
	for i, want := range []struct{ event, level string }{
		{"gateway.stopping", "warn"}, {"spool.corrupt", "error"}, {"delivery.deferred", "warn"},
	} {
		m := decodeLine(t, lines[i])
		if m["event"] != want.event || m["level"] != want.level {
			t.Errorf("line %d: event %v level %v, want %s %s", i, m["event"], m["level"], want.event, want.level)
		}
	}

	for _, ty := range telemetry.Types() {
		if got, want := l.Wants(ty), ty.Spec().Level >= telemetry.LevelWarn; got != want {
			t.Errorf("Wants(%s) = %v at level warn, want %v", ty, got, want)
		}
	}

	dl, dw := newLogger(t, logging.Config{Level: "debug", Format: "json"})
	dl.Handle(telemetry.Event{Type: telemetry.MessageQueued, QueueID: "Q"}, false)
	if m := decodeLine(t, dw.waitLines(t, 1)[0]); m["level"] != "debug" || m["event"] != "message.queued" {
		t.Errorf("debug event: %v", m)
	}
	for _, ty := range telemetry.Types() {
		if !dl.Wants(ty) {
			t.Errorf("Wants(%s) = false at level debug", ty)
		}
	}
}

// TestFlushOnLastEvent checks the batching: with more=true nothing reaches
// the writer; once an event with more=false ends the burst, everything is
// written in one write shortly after.
func TestFlushOnLastEvent(t *testing.T) {
	l, w := newLogger(t, logging.Config{Level: "info", Format: "json"})
	for i := 0; i < 3; i++ {
		l.Handle(telemetry.Event{Type: telemetry.MessageAccepted, Attempt: i + 1}, true)
	}
	if got := w.String(); got != "" {
		t.Fatalf("writer got output while more events were waiting:\n%s", got)
	}
	// A filtered event that ends the burst still flushes what is pending.
	l.Handle(telemetry.Event{Type: telemetry.MessageQueued}, false)
	lines := w.waitLines(t, 3)
	if len(lines) != 3 {
		t.Fatalf("%d lines after the burst ended, want 3:\n%s", len(lines), w.String())
	}
	for i, line := range lines {
		if m := decodeLine(t, line); m["attempt"] != json.Number(strconv.Itoa(i+1)) {
			t.Errorf("line %d: attempt %v, want %d (order)", i, m["attempt"], i+1)
		}
	}
	w.mu.Lock()
	writes := w.writes
	w.mu.Unlock()
	if writes != 1 {
		t.Errorf("the burst took %d writes, want 1", writes)
	}

	l.Handle(telemetry.Event{Type: telemetry.GatewayStopping}, true)
	if len(w.lines()) != 3 {
		t.Errorf("a pending event was written before the flush")
	}
	l.Flush()
	if len(w.lines()) != 4 {
		t.Errorf("Flush did not write the pending event:\n%s", w.String())
	}
}

// TestThroughBus wires the logger to a bus the way the gateway does and
// checks that what the bus delivers ends up written.
func TestThroughBus(t *testing.T) {
	l, w := newLogger(t, logging.Config{Level: "info", Format: "json"})
	bus := telemetry.NewBus(telemetry.NewStats("log"))
	sub := bus.SubscribeWith("log", telemetry.ChannelOptions{Buffer: 64, Wants: l.Wants, Linger: 5 * time.Millisecond}, l.Handle)
	for i := 0; i < 10; i++ {
		bus.Emit(telemetry.Event{Type: telemetry.MessageAccepted, Attempt: i + 1})
		bus.Emit(telemetry.Event{Type: telemetry.MessageQueued}) // debug: not subscribed
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(w.lines()) < 10 {
		if time.Now().After(deadline) {
			t.Fatalf("only %d of 10 lines written:\n%s", len(w.lines()), w.String())
		}
		time.Sleep(time.Millisecond)
	}
	sub.Close()
	if n := len(w.lines()); n != 10 {
		t.Errorf("%d lines, want 10", n)
	}
	for _, line := range w.lines() {
		if m := decodeLine(t, line); m["event"] != "message.accepted" {
			t.Errorf("unexpected line %s", line)
		}
	}
}

func TestProcessMessages(t *testing.T) {
	l, w := newLogger(t, logging.Config{Level: "error", Format: "json"})
	before := time.Now().Add(-time.Second)
	l.Info("starting", "listen", "127.0.0.1:25", "odd") // the unpaired key is ignored
	l.Error("spool unusable", "dir", "/var/spool/gw")
	lines := w.lines()
	if len(lines) != 2 {
		t.Fatalf("%d lines, want 2 (process messages are written at once, whatever the event level):\n%s", len(lines), w.String())
	}
	m := decodeLine(t, lines[0])
	if m["level"] != "info" || m["message"] != "starting" || m["listen"] != "127.0.0.1:25" {
		t.Errorf("info line: %v", m)
	}
	if _, ok := m["odd"]; ok {
		t.Errorf("unpaired key written: %v", m)
	}
	ts, err := time.Parse(time.RFC3339, m["time"].(string))
	if err != nil || ts.Before(before.Truncate(time.Second)) || ts.After(time.Now().Add(time.Second)) {
		t.Errorf("time %v (%v) is not now", m["time"], err)
	}
	if m := decodeLine(t, lines[1]); m["level"] != "error" || m["dir"] != "/var/spool/gw" {
		t.Errorf("error line: %v", m)
	}
}

func TestConsoleFormat(t *testing.T) {
	t.Setenv("NO_COLOR", "1")
	l, w := newLogger(t, logging.Config{Level: "info", Format: "console"})
	ev := telemetry.Event{Type: telemetry.MessageAccepted, Time: time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC),
		QueueID: "Q42", ClientIP: "192.0.2.1", Size: 123}
	l.Handle(ev, false)
	w.waitLines(t, 1)
	out := w.String()
	if out == "" || !strings.HasSuffix(out, "\n") || strings.Count(out, "\n") != 1 {
		t.Fatalf("console output is not one line: %q", out)
	}
	if json.Valid([]byte(strings.TrimSpace(out))) {
		t.Errorf("console format wrote JSON: %s", out)
	}
	for _, want := range []string{"Message accepted", "event=message.accepted", "queue_id=Q42", "client_ip=192.0.2.1", "size=123", "INF"} {
		if !strings.Contains(out, want) {
			t.Errorf("console line lacks %q: %s", want, out)
		}
	}

	// auto on something that is not a terminal is JSON.
	al, aw := newLogger(t, logging.Config{Level: "info", Format: "auto"})
	al.Handle(ev, false)
	aw.waitLines(t, 1)
	if !json.Valid([]byte(strings.TrimSpace(aw.String()))) {
		t.Errorf("auto format on a buffer is not JSON: %s", aw.String())
	}
}
