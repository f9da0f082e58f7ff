package milter

import (
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	gomilter "github.com/emersion/go-milter"

	"github.com/gatewatch/gatewatch/internal/eventlog"
	"github.com/gatewatch/gatewatch/pipeline"
	"github.com/gatewatch/gatewatch/telemetry"
)

// scripted is a policy that decides what the test says, per recipient.
type scripted struct {
	treat map[string]pipeline.Treatment
	seen  *pipeline.Message
}

func (p *scripted) Runs(*pipeline.Message, string) bool { return true }

func (p *scripted) Decide(m *pipeline.Message, _ []error) pipeline.Decision {
	p.seen = m
	var d pipeline.Decision
	rejected := 0
	for _, r := range m.Envelope.Recipients {
		t := p.treat[r.Addr]
		d.Outcomes = append(d.Outcomes, pipeline.Outcome{Recipients: []pipeline.Recipient{r}, Group: r.Addr, Treatment: t})
		if t.Action == pipeline.ActionReject {
			rejected++
		}
	}
	if rejected == len(d.Outcomes) {
		d.Action, d.Reply = pipeline.ActionReject, pipeline.Reply{Code: 554, Enhanced: [3]int{5, 7, 1}, Text: "all refused"}
	}
	return d
}

type noLists struct{}

func (noLists) AtRecipient(_, sender, _ string) (pipeline.Treatment, bool) {
	if strings.HasSuffix(sender, "@blocked.test") {
		return pipeline.Treatment{Action: pipeline.ActionReject, Reply: pipeline.Reply{Code: 554, Enhanced: [3]int{5, 7, 1}, Text: "blocked"}}, true
	}
	return pipeline.Treatment{}, false
}

func startServer(t *testing.T, pol *scripted) (*Server, *eventlog.Recorder) {
	t.Helper()
	rec := &eventlog.Recorder{Next: telemetry.NewBus(telemetry.NewStats())}
	var n atomic.Int64
	s, err := New(Config{Listen: "127.0.0.1:0", Timeout: 10 * time.Second, MaxMessage: 4096}, Deps{
		Scanner: pipeline.NewScanner(rec, pol),
		Lists:   noLists{},
		Render: func(w io.Writer, m *pipeline.Message, _ pipeline.Treatment, _ string) error {
			_, err := io.Copy(w, m.Reader())
			return err
		},
		NewID: func() string { return fmt.Sprintf("ID%d", n.Add(1)) },
		Emit:  rec,
	})
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve()
	t.Cleanup(func() { _ = s.Close() })
	return s, rec
}

// transaction plays an MTA: one message to rcpts, returning the final
// action and the changes asked for.
func transaction(t *testing.T, s *Server, from string, rcpts []string, macros map[string]string, body string) ([]gomilter.ModifyAction, *gomilter.Action, []*gomilter.Action) {
	t.Helper()
	c := gomilter.NewClientWithOptions("tcp", s.Addr(), gomilter.ClientOptions{ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second,
		ActionMask: gomilter.OptAddHeader | gomilter.OptChangeHeader | gomilter.OptChangeBody | gomilter.OptAddRcpt | gomilter.OptRemoveRcpt | gomilter.OptQuarantine})
	sess, err := c.Session()
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	var kv []string
	for k, v := range macros {
		kv = append(kv, k, v)
	}
	if err := sess.Macros(gomilter.CodeConn, kv...); err != nil {
		t.Fatal(err)
	}
	if _, err := sess.Conn("client.test", gomilter.FamilyInet, 4321, "192.0.2.7"); err != nil {
		t.Fatal(err)
	}
	if _, err := sess.Helo("client.test"); err != nil {
		t.Fatal(err)
	}
	if _, err := sess.Mail("<"+from+">", nil); err != nil {
		t.Fatal(err)
	}
	var rcptActs []*gomilter.Action
	accepted := 0
	for _, r := range rcpts {
		a, err := sess.Rcpt("<"+r+">", nil)
		if err != nil {
			t.Fatal(err)
		}
		rcptActs = append(rcptActs, a)
		if a.Code == gomilter.ActContinue {
			accepted++
		}
	}
	if accepted == 0 {
		return nil, nil, rcptActs // an MTA sends no DATA without a recipient
	}
	if _, err := sess.HeaderField("Subject", "hello"); err != nil {
		t.Fatal(err)
	}
	if _, err := sess.HeaderEnd(); err != nil {
		t.Fatal(err)
	}
	mods, act, err := sess.BodyReadFrom(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return mods, act, rcptActs
}

func TestEndOfMessageMapping(t *testing.T) {
	pol := &scripted{treat: map[string]pipeline.Treatment{
		"a@example.test": {Action: pipeline.ActionAccept, MarkSubject: "[X]", Headers: []pipeline.HeaderField{{Name: "X-Group", Value: "a"}},
			CopyTo: []string{"audit@example.test"}},
		"b@example.test": {Action: pipeline.ActionDiscard},
		"c@example.test": {Action: pipeline.ActionReject},
	}}
	s, rec := startServer(t, pol)
	mods, act, _ := transaction(t, s, "s@senders.test", []string{"a@example.test", "b@example.test", "c@example.test"},
		map[string]string{"{auth_authen}": "alice"}, "line one\r\nline two\r\n")
	if act.Code != gomilter.ActAccept {
		t.Fatalf("final action %c, want accept", act.Code)
	}
	var got []string
	for _, m := range mods {
		switch m.Code {
		case gomilter.ActDelRcpt, gomilter.ActAddRcpt:
			got = append(got, fmt.Sprintf("%c%s", m.Code, m.Rcpt))
		case gomilter.ActChangeHeader, gomilter.ActAddHeader, gomilter.ActInsertHeader:
			got = append(got, fmt.Sprintf("%c%s=%s", m.Code, m.HeaderName, m.HeaderValue))
		}
	}
	want := []string{"-<b@example.test>", "-<c@example.test>", "iX-Gatewatch-ID=ID2", "mSubject=[X] hello", "hX-Group=a", "+<audit@example.test>"}
	// (ID1 is the session's.)
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("changes %v\nwant    %v", got, want)
	}
	if !pol.seen.Client.RelayAllowed || pol.seen.Client.IP != "192.0.2.7" {
		t.Errorf("client %+v: an authenticated client is ours, and its address comes from the connection", pol.seen.Client)
	}
	if body := string(must(io.ReadAll(pol.seen.Reader()))); !strings.HasSuffix(body, "\r\n\r\nline one\r\nline two\r\n") || !strings.HasPrefix(body, "Subject: hello\r\n") {
		t.Errorf("the stages saw %q", body)
	}
	evs := rec.OfType(telemetry.IntegrationVerdict)
	if len(evs) != 1 || evs[0].Action != "accept" || !strings.Contains(evs[0].Text, "removed") {
		t.Errorf("verdict events %+v", evs)
	}
}

func TestRefusalsAndLimits(t *testing.T) {
	pol := &scripted{treat: map[string]pipeline.Treatment{"q@example.test": {Action: pipeline.ActionQuarantine}}}
	s, rec := startServer(t, pol)
	_, _, rcptActs := transaction(t, s, "x@blocked.test", []string{"a@example.test"}, nil, "hi\r\n")
	if rcptActs[0].Code != gomilter.ActReplyCode || rcptActs[0].SMTPCode != 554 || !strings.Contains(rcptActs[0].SMTPText, "blocked") {
		t.Errorf("blacklisted sender at RCPT: %+v", rcptActs[0])
	}
	mods, act, _ := transaction(t, s, "s@senders.test", []string{"q@example.test"}, nil, "hi\r\n")
	quarantined := false
	for _, m := range mods {
		quarantined = quarantined || m.Code == gomilter.ActQuarantine
	}
	if act.Code != gomilter.ActAccept || !quarantined {
		t.Errorf("quarantine: action %c, modifications %+v", act.Code, mods)
	}
	_, act, _ = transaction(t, s, "s@senders.test", []string{"a@example.test"}, nil, strings.Repeat("x", 5000)+"\r\n")
	if act.Code != gomilter.ActReplyCode || act.SMTPCode != 552 {
		t.Errorf("over max_message: %+v", act)
	}
	pol.treat["a@example.test"] = pipeline.Treatment{Action: pipeline.ActionReject}
	_, act, _ = transaction(t, s, "s@senders.test", []string{"a@example.test"}, nil, "hi\r\n")
	if act.Code != gomilter.ActReplyCode || act.SMTPCode != 554 || !strings.Contains(act.SMTPText, "all refused") {
		t.Errorf("all refused: %+v", act)
	}
	byAction := map[string]int{}
	for _, ev := range rec.OfType(telemetry.IntegrationVerdict) {
		byAction[ev.Action]++
	}
	if byAction["reject"] != 3 || byAction["quarantine"] != 1 {
		t.Errorf("verdicts by action %v, want reject 3 (RCPT, size, policy), quarantine 1", byAction)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
