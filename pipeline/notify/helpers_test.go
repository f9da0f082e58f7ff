package notify

import (
	"bufio"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-message/textproto"

	"github.com/gatewatch/gatewatch/configs"
	"github.com/gatewatch/gatewatch/internal/eventlog"
	"github.com/gatewatch/gatewatch/pipeline"
	"github.com/gatewatch/gatewatch/pipeline/spool"
	"github.com/gatewatch/gatewatch/telemetry"
)

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// env is a notifier over a spool in a fresh directory.
type env struct {
	n     *Notifier
	sp    *spool.Spool
	dir   string
	rec   *eventlog.Recorder // the notifier's events
	clock *clock
}

func newEnv(t *testing.T, cfg Config) *env {
	t.Helper()
	dir := t.TempDir()
	sp, err := spool.Open(spool.Config{Dir: dir}, &eventlog.Recorder{}, nil)
	if err != nil {
		t.Fatalf("spool.Open: %v", err)
	}
	t.Cleanup(func() { _ = sp.Close() })
	e := &env{sp: sp, dir: dir, rec: &eventlog.Recorder{}, clock: &clock{t: time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)}}
	e.n, err = New(cfg, Deps{Spool: sp, Emit: e.rec, Hostname: "mx.example.net", Shipped: configs.NotifyTemplates(),
		Now: e.clock.now})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return e
}

// queued is one notification read back from the spool.
type queued struct {
	entry   *spool.Entry
	raw     []byte
	header  textproto.Header
	body    string
	subject string // as the Subject field has it, not decoded
}

// incoming reads back every message in the incoming queue.
func (e *env) incoming(t *testing.T) []queued {
	t.Helper()
	ids, err := e.sp.List(spool.Incoming)
	if err != nil {
		t.Fatal(err)
	}
	var out []queued
	for _, id := range ids {
		ent, err := e.sp.Find(id)
		if err != nil {
			t.Fatalf("Find(%s): %v", id, err)
		}
		c, err := ent.OpenContent()
		if err != nil {
			t.Fatal(err)
		}
		raw, err := io.ReadAll(c)
		c.Close()
		if err != nil {
			t.Fatal(err)
		}
		br := bufio.NewReader(bytes.NewReader(raw))
		h, err := textproto.ReadHeader(br)
		if err != nil {
			t.Fatalf("%s: header: %v\n%s", id, err, raw)
		}
		body, _ := io.ReadAll(br)
		out = append(out, queued{entry: ent, raw: raw, header: h, body: string(body), subject: h.Get("Subject")})
	}
	return out
}

// byKind maps each NotificationSent event's kind to its queued message.
func (e *env) byKind(t *testing.T) map[string]queued {
	t.Helper()
	kindOf := map[string]string{}
	for _, ev := range e.rec.OfType(telemetry.NotificationSent) {
		kindOf[ev.QueueID] = ev.Category
	}
	out := map[string]queued{}
	for _, q := range e.incoming(t) {
		k, ok := kindOf[q.entry.Meta.ID]
		if !ok {
			t.Fatalf("queued %s without a notify.sent event", q.entry.Meta.ID)
		}
		out[k] = q
	}
	return out
}

// message is a received message as the pipeline hands it over.
func message(from, subject string, header ...string) *pipeline.Message {
	m := &pipeline.Message{Meta: pipeline.Meta{
		ID:       "0MSGID00000000000001",
		Kind:     pipeline.KindMail,
		Envelope: pipeline.Envelope{From: from, Recipients: []pipeline.Recipient{{Addr: "alice@example.com"}, {Addr: "bob@example.com"}}},
		Client:   pipeline.Client{IP: "192.0.2.99"},
		Received: time.Date(2025, 6, 1, 11, 59, 0, 0, time.UTC),
		Size:     4321,
		Verdicts: []pipeline.Verdict{{Stage: "antispam", Status: "spam", Score: 12.5, Detail: "BAYES_99"}},
		Subject:  subject, MessageID: "<orig@example.org>",
	}}
	for i := 0; i+1 < len(header); i += 2 {
		m.Header.Add(header[i], header[i+1])
	}
	return m
}

// outcome is a quarantine decision for both recipients that notifies kinds.
func outcome(kinds ...string) pipeline.Outcome {
	return pipeline.Outcome{
		Recipients: []pipeline.Recipient{{Addr: "alice@example.com"}, {Addr: "bob@example.com"}},
		Group:      "staff", Status: pipeline.StatusSpam,
		Treatment: pipeline.Treatment{Action: pipeline.ActionQuarantine, Notify: kinds},
	}
}

func writeFile(t *testing.T, dir, name, text string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func reasons(evs []telemetry.Event) []telemetry.Reason {
	var out []telemetry.Reason
	for _, ev := range evs {
		out = append(out, ev.Reason)
	}
	return out
}
