package telemetry

import (
	"regexp"
	"testing"
	"time"
)

type fieldWant struct {
	name, text string
	numeric    bool
	num        float64
}

func collectFields(ev Event) []Field {
	var out []Field
	ev.Fields(func(f Field) { out = append(out, f) })
	return out
}

func TestFieldsFullEvent(t *testing.T) {
	ev := Event{
		Type: DeliveryBounced, Time: time.Now(),
		QueueID: "Q1", SessionID: "S1", ClientIP: "192.0.2.1", ClientPort: 40001, Helo: "client.example",
		Sender: "a@example.org", Recipient: "b@example.net", Recipients: 3, Size: 4096,
		Subject: "Hello", MessageID: "<m1@example.org>", Attachments: []string{"a.pdf", "b.zip"},
		Verdicts: "antivirus=clean", Action: "accept", Outcome: "delivered",
		Route: "smarthost", Remote: "198.51.100.7:25", Stage: "clamav", Reason: ReasonRejected,
		Code: 550, Status: "5.7.1", Text: "no such user", Channel: "log", Count: 12, Threshold: 10, Attempt: 4,
		Duration: 1234567 * time.Nanosecond, Err: "boom",
	}
	want := []fieldWant{
		{"queue_id", "Q1", false, 0},
		{"session_id", "S1", false, 0},
		{"client_ip", "192.0.2.1", false, 0},
		{"client_port", "40001", true, 40001},
		{"helo", "client.example", false, 0},
		{"sender", "a@example.org", false, 0},
		{"recipient", "b@example.net", false, 0},
		{"recipients", "3", true, 3},
		{"size", "4096", true, 4096},
		{"subject", "Hello", false, 0},
		{"message_id", "<m1@example.org>", false, 0},
		{"attachments", "a.pdf, b.zip", false, 0},
		{"verdicts", "antivirus=clean", false, 0},
		{"action", "accept", false, 0},
		{"outcome", "delivered", false, 0},
		{"route", "smarthost", false, 0},
		{"remote", "198.51.100.7:25", false, 0},
		{"stage", "clamav", false, 0},
		{"reason", "rejected", false, 0},
		{"code", "550", true, 550},
		{"status", "5.7.1", false, 0},
		{"text", "no such user", false, 0},
		{"channel", "log", false, 0},
		{"count", "12", true, 12},
		{"threshold", "10", true, 10},
		{"attempt", "4", true, 4},
		{"duration_ms", "1.235", true, 1.234567},
		{"error", "boom", false, 0},
	}
	got := collectFields(ev)
	if len(got) != len(want) {
		t.Fatalf("got %d fields, want %d: %+v", len(got), len(want), got)
	}
	names := map[string]bool{}
	nameRE := regexp.MustCompile(`^[a-z][a-z_]*$`)
	for i, w := range want {
		g := got[i]
		if g.Name != w.name || g.Text != w.text || g.Numeric != w.numeric {
			t.Errorf("field %d = {%s %q numeric=%v}, want {%s %q numeric=%v}", i, g.Name, g.Text, g.Numeric, w.name, w.text, w.numeric)
		}
		if w.numeric && g.Num != w.num {
			t.Errorf("field %s: Num = %v, want %v", w.name, g.Num, w.num)
		}
		if !w.numeric && g.Num != 0 {
			t.Errorf("text field %s has Num %v", w.name, g.Num)
		}
		if !nameRE.MatchString(g.Name) {
			t.Errorf("field name %q is not a lower-case identifier", g.Name)
		}
		if names[g.Name] {
			t.Errorf("field %s used twice", g.Name)
		}
		names[g.Name] = true
	}
}

func TestFieldsZeroOmitted(t *testing.T) {
	if got := collectFields(Event{Type: GatewayStarted, Time: time.Now()}); len(got) != 0 {
		t.Errorf("an event with only Type and Time has fields %+v", got)
	}
	got := collectFields(Event{Type: MessageRefused, Sender: "a@b", Code: 550})
	if len(got) != 2 || got[0].Name != "sender" || got[1].Name != "code" {
		t.Errorf("fields = %+v, want exactly sender and code", got)
	}
}

func TestFieldsDuration(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		text string
		num  float64
	}{
		{time.Nanosecond, "0.000", 0.000001},
		{1500 * time.Microsecond, "1.500", 1.5},
		{2 * time.Second, "2000.000", 2000},
		{999999 * time.Nanosecond, "1.000", 0.999999},
		{90 * time.Minute, "5400000.000", 5400000},
	} {
		got := collectFields(Event{Duration: tc.d})
		if len(got) != 1 {
			t.Fatalf("Duration %v: %d fields, want 1", tc.d, len(got))
		}
		f := got[0]
		if f.Name != "duration_ms" || !f.Numeric || f.Text != tc.text || f.Num != tc.num {
			t.Errorf("Duration %v: %+v, want duration_ms %q %v numeric", tc.d, f, tc.text, tc.num)
		}
	}
}
