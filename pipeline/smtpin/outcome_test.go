package smtpin

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/gatewatch/gatewatch/pipeline"
	"github.com/gatewatch/gatewatch/pipeline/policy"
	"github.com/gatewatch/gatewatch/pipeline/spool"
)

// flagging is a stage that finds every message banned because of one part,
// standing in for the attachment filter.
type flagging struct{ part string }

func (flagging) Name() string { return "contentfilter" }
func (f flagging) Scan(context.Context, *pipeline.Message) (pipeline.Verdict, error) {
	return pipeline.Verdict{Status: pipeline.StatusBanned, Detail: "exe attachment", Parts: []string{f.part}}, nil
}

// engine compiles cfg; the default delivers every status it does not set.
func engine(t *testing.T, cfg policy.Config) *policy.Engine {
	t.Helper()
	all := map[string]policy.Action{}
	for _, st := range pipeline.Statuses() {
		all[st] = policy.Action{Do: "deliver"}
	}
	for st, a := range cfg.Default.Actions {
		all[st] = a
	}
	cfg.Default.Actions = all
	e, err := policy.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func spooledContent(t *testing.T, sp *spool.Spool, id string) (pipeline.Meta, string) {
	t.Helper()
	e, err := sp.Find(id)
	if err != nil {
		t.Fatal(err)
	}
	c, err := e.OpenContent()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	b, _ := io.ReadAll(c)
	return e.Meta, string(b)
}

const withAttachment = "From: a@senders.test\r\nTo: r@example.test\r\nSubject: invoice\r\nMIME-Version: 1.0\r\n" +
	"Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n" +
	"--b1\r\nContent-Type: text/plain\r\n\r\nplease see attached\r\n" +
	"--b1\r\nContent-Type: application/octet-stream; name=\"invoice.exe\"\r\nContent-Disposition: attachment; filename=\"invoice.exe\"\r\n" +
	"Content-Transfer-Encoding: base64\r\n\r\nTVqQAAMAAAAEAAAA//8AALgAAAAAAAAAQAAAAAAAAAAA\r\n--b1--\r\n"

// TestRemovePartsDeliversACleanedCopy: a stage flags the attachment, the
// policy removes flagged parts and marks the subject; the queued copy has
// its own ID, the text part and a notice in place of the attachment.
func TestRemovePartsDeliversACleanedCopy(t *testing.T) {
	pol := engine(t, policy.Config{Default: policy.Settings{Actions: map[string]policy.Action{
		pipeline.StatusBanned: {Do: "deliver", RemoveParts: true, MarkSubject: "[CLEANED]"}}}})
	h := startWith(t, nil, pol, Aftercare{}, flagging{part: "2"})
	c := greeted(t, h.addr)
	c.expect(250, "EHLO client.test")
	code, text := c.sendMessage("a@senders.test", []string{"r@example.test"}, withAttachment)
	if code != 250 || !strings.Contains(text, "delivered as ") {
		t.Fatalf("reply %d %s", code, text)
	}
	parent := queueID(t, text)
	copyID, _, _ := strings.Cut(text[strings.Index(text, "delivered as ")+len("delivered as "):], ";")
	meta, content := spooledContent(t, h.sp, copyID)
	if meta.Parent != parent || len(meta.Envelope.Recipients) != 1 {
		t.Errorf("copy meta %+v, parent %s", meta, parent)
	}
	for _, want := range []string{"Subject: [CLEANED] invoice", "X-Gatewatch-Parent-ID: " + parent, "please see attached"} {
		if !strings.Contains(content, want) {
			t.Errorf("copy lacks %q:\n%s", want, content)
		}
	}
	if strings.Contains(content, "TVqQAAMAAAAEAAAA") || strings.Contains(content, `filename="invoice.exe"`) {
		t.Errorf("the flagged attachment is still there:\n%s", content)
	}
	if _, err := h.sp.Find(parent); !errors.Is(err, spool.ErrNotFound) {
		t.Errorf("the unchanged message was queued too: %v", err)
	}
}

// TestQuarantineFailureDefersTheWholeMessage: when the quarantine cannot
// take its copy, the client gets 451 and nothing is queued, not even the
// copy of the other group.
func TestQuarantineFailureDefersTheWholeMessage(t *testing.T) {
	pol := engine(t, policy.Config{Groups: []policy.Group{
		{Name: "held", Recipients: []string{"*@held.test"}, Settings: policy.Settings{Actions: map[string]policy.Action{
			pipeline.StatusClean: {Do: "quarantine"}}}},
		{Name: "marked", Recipients: []string{"*@marked.test"}, Settings: policy.Settings{Actions: map[string]policy.Action{
			pipeline.StatusClean: {MarkSubject: "[x]"}}}},
	}})
	failing := Aftercare{Quarantine: func(*pipeline.Message, pipeline.Outcome, string) error { return errors.New("disk full") },
		Withdraw: func(string) { t.Error("nothing was quarantined, nothing to withdraw") }}
	h := startWith(t, nil, pol, failing)
	c := greeted(t, h.addr)
	c.expect(250, "EHLO client.test")
	code, text := c.sendMessage("a@senders.test", []string{"u@held.test", "v@marked.test"}, "Subject: s\r\n\r\nbody\r\n")
	if code != 451 || !strings.HasPrefix(text, "4.3.0") {
		t.Fatalf("reply %d %s, want 451 4.3.0", code, text)
	}
	for _, d := range []string{"incoming", "tmp"} {
		names, err := os.ReadDir(filepath.Join(h.sp.Dir(), d))
		if err != nil || len(names) != 0 {
			t.Errorf("%s holds %v (%v) after a refused message", d, names, err)
		}
	}
	// The session goes on: the next message is taken.
	if code, text := c.sendMessage("a@senders.test", []string{"v@marked.test"}, "Subject: s\r\n\r\nbody\r\n"); code != 250 {
		t.Errorf("next message: %d %s", code, text)
	}
}

// TestLaterFailureWithdrawsTheQuarantinedCopy: the quarantine took its
// copy, then the bounce for a refused recipient failed: the client gets
// 451 and the quarantined copy is taken back, so the retry does not leave
// two.
func TestLaterFailureWithdrawsTheQuarantinedCopy(t *testing.T) {
	pol := engine(t, policy.Config{Groups: []policy.Group{
		{Name: "held", Recipients: []string{"*@held.test"}, Settings: policy.Settings{Actions: map[string]policy.Action{
			pipeline.StatusClean: {Do: "quarantine"}}}},
		{Name: "closed", Recipients: []string{"*@closed.test"}, Settings: policy.Settings{Actions: map[string]policy.Action{
			pipeline.StatusClean: {Do: "reject"}}}},
	}})
	var mu sync.Mutex
	var kept, withdrawn []string
	ac := Aftercare{
		Quarantine: func(_ *pipeline.Message, _ pipeline.Outcome, id string) error {
			mu.Lock()
			defer mu.Unlock()
			kept = append(kept, id)
			return nil
		},
		Withdraw: func(id string) {
			mu.Lock()
			defer mu.Unlock()
			withdrawn = append(withdrawn, id)
		},
		Bounce: func(*pipeline.Message, []pipeline.Recipient, pipeline.Reply) error { return errors.New("spool full") },
	}
	h := startWith(t, nil, pol, ac)
	c := greeted(t, h.addr)
	c.expect(250, "EHLO client.test")
	code, text := c.sendMessage("a@senders.test", []string{"u@held.test", "v@closed.test"}, "Subject: s\r\n\r\nbody\r\n")
	if code != 451 {
		t.Fatalf("reply %d %s, want 451", code, text)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(kept) != 1 || strings.Join(withdrawn, ",") != kept[0] {
		t.Errorf("quarantined %v, withdrawn %v: want the one copy taken back", kept, withdrawn)
	}
}
