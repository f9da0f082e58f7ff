package pipeline

import (
	"io"
	"testing"

	"github.com/gatewatch/gatewatch/telemetry"
)

func TestHeld(t *testing.T) {
	raw := []byte("Subject: hi there\r\nMessage-ID: <1@x>\r\n\r\nbody\r\n")
	m, err := Held("ID1", raw, "a@b.test", []string{"c@d.test", "e@f.test"}, Client{IP: "192.0.2.1"})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(m.Reader())
	if m.Subject != "hi there" || m.Size != int64(len(raw)) || string(body) != string(raw) || len(m.Envelope.Recipients) != 2 {
		t.Errorf("held message %+v, content %q", m.Meta, body)
	}
	ev := VerdictEvent(m, "milter", "4Q7", "accept", "")
	if ev.Type != telemetry.IntegrationVerdict || ev.Recipient != "c@d.test,e@f.test" || ev.Recipients != 2 || ev.MTAQueueID != "4Q7" || ev.Subject != "hi there" {
		t.Errorf("verdict event %+v", ev)
	}
	if _, err := Held("ID2", []byte("not a header line\r\n\r\nbody"), "", nil, Client{}); err == nil {
		t.Error("a malformed header was taken")
	}
}
