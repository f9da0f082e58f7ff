package telemetry

import (
	"regexp"
	"testing"
	"time"
)

type fieldWant struct {
	name, cef, text string
	numeric         bool
	num             float64
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
		Route: "smarthost", Remote: "198.51.100.7:25", Stage: "clamav", Reason: ReasonRejected,
		Code: 550, Status: "5.7.1", Text: "no such user", Channel: "log", Count: 12, Attempt: 4,
		Duration: 1234567 * time.Nanosecond, Err: "boom",
	}
	want := []fieldWant{
		{"queue_id", "externalId", "Q1", false, 0},
		{"session_id", "cs1", "S1", false, 0},
		{"client_ip", "src", "192.0.2.1", false, 0},
		{"client_port", "spt", "40001", true, 40001},
		{"helo", "shost", "client.example", false, 0},
		{"sender", "suser", "a@example.org", false, 0},
		{"recipient", "duser", "b@example.net", false, 0},
		{"recipients", "cn1", "3", true, 3},
		{"size", "fsize", "4096", true, 4096},
		{"route", "cs2", "smarthost", false, 0},
		{"remote", "dst", "198.51.100.7:25", false, 0},
		{"stage", "cs3", "clamav", false, 0},
		{"reason", "reason", "rejected", false, 0},
		{"code", "cn2", "550", true, 550},
		{"status", "outcome", "5.7.1", false, 0},
		{"text", "msg", "no such user", false, 0},
		{"channel", "cs5", "log", false, 0},
		{"count", "cn4", "12", true, 12},
		{"attempt", "cn3", "4", true, 4},
		{"duration_ms", "cfp1", "1.235", true, 1.234567},
		{"error", "cs4", "boom", false, 0},
	}
	got := collectFields(ev)
	if len(got) != len(want) {
		t.Fatalf("got %d fields, want %d: %+v", len(got), len(want), got)
	}
	names, cefs := map[string]bool{}, map[string]bool{}
	nameRE := regexp.MustCompile(`^[a-z][a-z_]*$`)
	for i, w := range want {
		g := got[i]
		if g.Name != w.name || g.CEFKey != w.cef || g.Text != w.text || g.Numeric != w.numeric {
			t.Errorf("field %d = {%s %s %q numeric=%v}, want {%s %s %q numeric=%v}", i, g.Name, g.CEFKey, g.Text, g.Numeric, w.name, w.cef, w.text, w.numeric)
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
		if names[g.Name] || cefs[g.CEFKey] {
			t.Errorf("field %s / CEF key %s used twice", g.Name, g.CEFKey)
		}
		names[g.Name], cefs[g.CEFKey] = true, true
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
		if f.Name != "duration_ms" || f.CEFKey != "cfp1" || !f.Numeric || f.Text != tc.text || f.Num != tc.num {
			t.Errorf("Duration %v: %+v, want duration_ms/cfp1 %q %v numeric", tc.d, f, tc.text, tc.num)
		}
	}
}
