package spool

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gatewatch/gatewatch/pipeline"
	"github.com/gatewatch/gatewatch/telemetry"
	"github.com/gatewatch/gatewatch/telemetry/stats"

	"github.com/gatewatch/gatewatch/internal/eventlog"
)

// env is an open spool in a fresh directory wired to a recorder, a bus
// and a stats registry.
type env struct {
	sp  *Spool
	dir string
	rec *eventlog.Recorder
	st  *stats.Stats
	bus *telemetry.Bus
}

func newEnv(t testing.TB) *env {
	t.Helper()
	return openEnv(t, t.TempDir())
}

func openEnv(t testing.TB, dir string) *env {
	t.Helper()
	st := telemetry.NewStats()
	bus := telemetry.NewBus(st)
	rec := &eventlog.Recorder{Next: bus}
	sp, err := Open(Config{Dir: dir}, rec, st)
	if err != nil {
		t.Fatalf("Open(%s): %v", dir, err)
	}
	t.Cleanup(func() { _ = sp.Close() })
	return &env{sp: sp, dir: dir, rec: rec, st: st, bus: bus}
}

func (e *env) gauge(st QState) int64 { return e.st.QueueMessages.With(string(st)).Load() }

// sampleMeta is a meta with every field the spool must keep filled in.
func sampleMeta(rcpts int) *pipeline.Meta {
	m := &pipeline.Meta{
		Kind:   pipeline.KindMail,
		Parent: "",
		Envelope: pipeline.Envelope{
			From:     "sender@example.org",
			Ret:      "HDRS",
			EnvID:    "env+id=1",
			SMTPUTF8: true,
			Body:     "8BITMIME",
		},
		Client: pipeline.Client{
			SessionID: "S1", IP: "192.0.2.7", Port: 40123, Helo: "mx.example.org",
			TLS: true, RelayAllowed: true, Trusted: false,
		},
		Received: time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.UTC),
		EightBit: true,
		Verdicts: []pipeline.Verdict{{Stage: "av", Status: "clean", Score: 0.5, Detail: "none", Suggest: pipeline.ActionAccept}},
	}
	for i := range rcpts {
		r := pipeline.Recipient{Addr: "rcpt" + string(rune('a'+i%26)) + "@example.net"}
		if i%2 == 0 {
			r.Notify = []string{"SUCCESS", "FAILURE"}
			r.ORcpt = "orig" + string(rune('a'+i%26)) + "@example.com"
			r.ORcptType = "rfc822"
		} else {
			r.Notify = []string{"NEVER"}
		}
		m.Envelope.Recipients = append(m.Envelope.Recipients, r)
	}
	return m
}

// commit spools content with meta and returns the queue ID.
func commit(t testing.TB, sp *Spool, content []byte, meta *pipeline.Meta) string {
	t.Helper()
	id := sp.NewID()
	d, err := sp.NewDraft(id, len(meta.Envelope.Recipients))
	if err != nil {
		t.Fatalf("NewDraft: %v", err)
	}
	if _, err := d.Write(content); err != nil {
		t.Fatalf("Write: %v", err)
	}
	if err := d.Commit(meta); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	return id
}

// commitSimple spools a small message with n recipients.
func commitSimple(t testing.TB, sp *Spool, n int) string {
	t.Helper()
	return commit(t, sp, []byte("Subject: x\r\n\r\nbody\r\n"), sampleMeta(n))
}

// dirNames lists the entries of one spool subdirectory.
func dirNames(t testing.TB, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func readContent(t testing.TB, e *Entry) []byte {
	t.Helper()
	c, err := e.OpenContent()
	if err != nil {
		t.Fatalf("OpenContent: %v", err)
	}
	defer c.Close()
	b, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("read content: %v", err)
	}
	return b
}

// testContent is message content with bare CR, bare LF, NUL, and every
// byte value, repeated up to n bytes.
func testContent(n int) []byte {
	var seed bytes.Buffer
	seed.WriteString("Subject: t\r\nX-Bare-CR: a\rb\r\n\r\nline\rwith bare CR\nand bare LF\r\n")
	for i := range 256 {
		seed.WriteByte(byte(i))
	}
	seed.WriteString("\xff\xfe\x80\x00\r\n")
	out := make([]byte, 0, n)
	for len(out) < n {
		out = append(out, seed.Bytes()[:min(seed.Len(), n-len(out))]...)
	}
	return out
}

func isCorrupt(err error) bool { return errors.Is(err, ErrCorrupt) }

func spoolPath(e *env, st QState, id string) string { return filepath.Join(e.dir, string(st), id) }
