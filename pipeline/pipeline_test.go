package pipeline_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/gatewatch/gatewatch/pipeline"
	"github.com/gatewatch/gatewatch/telemetry"

	"github.com/gatewatch/gatewatch/internal/eventlog"
)

func TestRecipientNotifies(t *testing.T) {
	kinds := []string{"SUCCESS", "FAILURE", "DELAY"}
	for _, tc := range []struct {
		notify []string
		want   map[string]bool
	}{
		{nil, map[string]bool{"FAILURE": true}},
		{[]string{}, map[string]bool{"FAILURE": true}},
		{[]string{"NEVER"}, map[string]bool{}},
		{[]string{"SUCCESS"}, map[string]bool{"SUCCESS": true}},
		{[]string{"SUCCESS", "DELAY"}, map[string]bool{"SUCCESS": true, "DELAY": true}},
		{[]string{"FAILURE", "DELAY"}, map[string]bool{"FAILURE": true, "DELAY": true}},
	} {
		r := pipeline.Recipient{Addr: "a@example.org", Notify: tc.notify}
		for _, k := range kinds {
			if got := r.Notifies(k); got != tc.want[k] {
				t.Errorf("Notify %v: Notifies(%s) = %v, want %v", tc.notify, k, got, tc.want[k])
			}
		}
	}
}

func TestActionText(t *testing.T) {
	all := []pipeline.Action{pipeline.ActionAccept, pipeline.ActionReject, pipeline.ActionTempFail, pipeline.ActionDiscard}
	names := map[string]bool{}
	for _, a := range all {
		b, err := a.MarshalText()
		if err != nil {
			t.Fatalf("%v.MarshalText: %v", a, err)
		}
		if string(b) != a.String() || names[string(b)] {
			t.Errorf("%d marshals to %q (String %q), duplicate %v", a, b, a.String(), names[string(b)])
		}
		names[string(b)] = true
		var back pipeline.Action = 99
		if err := back.UnmarshalText(b); err != nil || back != a {
			t.Errorf("UnmarshalText(%q) = %v, %v; want %v", b, back, err, a)
		}
	}
	if want := "accept reject tempfail discard"; strings.Join([]string{all[0].String(), all[1].String(), all[2].String(), all[3].String()}, " ") != want {
		t.Errorf("action names changed: they are stored in the spool; want %s", want)
	}
	for _, bad := range []string{"", "Accept", "REJECT", "bounce", "action(9)"} {
		a := pipeline.ActionDiscard
		err := a.UnmarshalText([]byte(bad))
		if err == nil {
			t.Errorf("UnmarshalText(%q) accepted", bad)
		} else if !strings.Contains(err.Error(), "unknown action") {
			t.Errorf("UnmarshalText(%q) error %q does not say what is wrong", bad, err)
		}
		if a != pipeline.ActionDiscard {
			t.Errorf("a failed UnmarshalText(%q) changed the value to %v", bad, a)
		}
	}
	if got := pipeline.Action(9).String(); got != "action(9)" {
		t.Errorf("Action(9).String() = %q", got)
	}

	// In JSON (the spool's meta), a verdict's action is its name.
	v := pipeline.Verdict{Stage: "clamav", Status: "virus", Detail: "Eicar", Suggest: pipeline.ActionReject, Parts: []string{"2.1"}}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte(`"suggest":"reject"`)) {
		t.Errorf("verdict JSON %s lacks \"suggest\":\"reject\"", b)
	}
	var back pipeline.Verdict
	if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back, v) {
		t.Errorf("verdict round trip: %+v, %v; want %+v", back, err, v)
	}
	if err := json.Unmarshal([]byte(`{"suggest":"maybe"}`), &back); err == nil {
		t.Errorf("a verdict with an unknown action decoded without error")
	}
}

func TestReply(t *testing.T) {
	r := pipeline.Reply{Code: 554, Enhanced: [3]int{5, 7, 1}, Text: "Message refused: clamav virus"}
	if got := r.String(); got != "554 5.7.1 Message refused: clamav virus" {
		t.Errorf("String() = %q", got)
	}
	if got := r.Status(); got != "5.7.1" {
		t.Errorf("Status() = %q", got)
	}
	if got := (pipeline.Reply{Code: 451, Enhanced: [3]int{4, 3, 0}}).String(); got != "451 4.3.0 " {
		t.Errorf("empty text: String() = %q", got)
	}
}

type ctxKey struct{}

// stage is a scripted Stage that logs its calls in a shared order.
type stage struct {
	name    string
	verdict pipeline.Verdict
	err     error
	order   *[]string
	sawCtx  bool
	sawMsg  string
}

func (s *stage) Name() string { return s.name }

func (s *stage) Scan(ctx context.Context, m *pipeline.Message) (pipeline.Verdict, error) {
	*s.order = append(*s.order, s.name)
	s.sawCtx = ctx.Value(ctxKey{}) == "scan-ctx"
	s.sawMsg = m.ID
	// Do a little real work, as a stage would, so the measured time is
	// not below the clock's resolution on any platform.
	if _, err := io.Copy(io.Discard, m.Reader()); err != nil {
		return pipeline.Verdict{}, err
	}
	v := s.verdict
	v.Stage = "stage-claims-another-name"
	return v, s.err
}

// bytes.Reader is a pipeline.Content.
var _ pipeline.Content = (*bytes.Reader)(nil)

func newMessage(id, content string) *pipeline.Message {
	return &pipeline.Message{Meta: pipeline.Meta{ID: id, Kind: pipeline.KindMail}, Content: bytes.NewReader([]byte(content))}
}

func TestScannerRunsStagesInOrder(t *testing.T) {
	var order []string
	stages := []*stage{
		{name: "spf", verdict: pipeline.Verdict{Status: "pass", Suggest: pipeline.ActionAccept}, order: &order},
		{name: "clamav", verdict: pipeline.Verdict{Status: "clean", Suggest: pipeline.ActionAccept}, order: &order},
		{name: "spamd", verdict: pipeline.Verdict{Status: "spam", Score: 9.5, Detail: "BAYES_99", Suggest: pipeline.ActionDiscard}, order: &order},
	}
	rec := &eventlog.Recorder{}
	sc := pipeline.NewScanner(rec, pipeline.StrictPolicy{}, stages[0], stages[1], stages[2])
	m := newMessage("Q123", "Subject: hi\r\n\r\nbody\r\n")
	ctx := context.WithValue(context.Background(), ctxKey{}, "scan-ctx")
	d := sc.Scan(ctx, m)

	if strings.Join(order, ",") != "spf,clamav,spamd" {
		t.Errorf("stages ran in order %v", order)
	}
	for _, s := range stages {
		if !s.sawCtx || s.sawMsg != "Q123" {
			t.Errorf("stage %s: got ctx %v, message %q", s.name, s.sawCtx, s.sawMsg)
		}
	}
	if d.Action != pipeline.ActionDiscard {
		t.Errorf("decision %v, want discard", d.Action)
	}
	if len(m.Verdicts) != 3 {
		t.Fatalf("%d verdicts recorded, want 3", len(m.Verdicts))
	}
	for i, v := range m.Verdicts {
		if v.Stage != stages[i].name {
			t.Errorf("verdict %d: Stage %q, want the stage's Name %q", i, v.Stage, stages[i].name)
		}
		if v.Status != stages[i].verdict.Status || v.Suggest != stages[i].verdict.Suggest {
			t.Errorf("verdict %d = %+v, want %+v", i, v, stages[i].verdict)
		}
	}
	if m.Verdicts[2].Score != 9.5 || m.Verdicts[2].Detail != "BAYES_99" {
		t.Errorf("spamd verdict lost its detail: %+v", m.Verdicts[2])
	}

	evs := rec.All()
	if len(evs) != 3 {
		t.Fatalf("%d events, want one ScanStageDone per stage", len(evs))
	}
	for i, ev := range evs {
		if ev.Type != telemetry.ScanStageDone || ev.Stage != stages[i].name || ev.QueueID != "Q123" {
			t.Errorf("event %d: %s stage %q queue %q", i, ev.Type, ev.Stage, ev.QueueID)
		}
		if ev.Duration <= 0 {
			t.Errorf("event %d: Duration %v, want > 0", i, ev.Duration)
		}
		if ev.Text != stages[i].verdict.Status || ev.Err != "" {
			t.Errorf("event %d: Text %q Err %q, want the status %q and no error", i, ev.Text, ev.Err, stages[i].verdict.Status)
		}
	}

	// A second scan appends to the verdicts; no stages means accept.
	empty := pipeline.NewScanner(rec, pipeline.StrictPolicy{})
	if d := empty.Scan(context.Background(), newMessage("Q2", "")); d.Action != pipeline.ActionAccept || d.Reply != (pipeline.Reply{}) {
		t.Errorf("no stages: %+v, want a plain accept", d)
	}
}

// TestScannerFeedsStats runs the scanner on a real bus: the stage duration
// histogram sees every stage.
func TestScannerFeedsStats(t *testing.T) {
	st := telemetry.NewStats()
	bus := telemetry.NewBus(st)
	var order []string
	sc := pipeline.NewScanner(bus, pipeline.StrictPolicy{},
		&stage{name: "a", verdict: pipeline.Verdict{Status: "ok"}, order: &order},
		&stage{name: "b", err: errors.New("down"), order: &order})
	for i := 0; i < 3; i++ {
		sc.Scan(context.Background(), newMessage("Q", "x"))
	}
	for _, name := range []string{"a", "b"} {
		if v := st.StageDuration.With(name).Load(); v.Count != 3 || v.Sum <= 0 {
			t.Errorf("scan_stage_duration_seconds{%s}: count %d sum %v, want 3 and > 0", name, v.Count, v.Sum)
		}
	}
	if got := st.Events.With(telemetry.ScanStageDone.Spec().Name).Load(); got != 6 {
		t.Errorf("events_total{scan.stage} = %d, want 6", got)
	}
}

func TestScannerStageError(t *testing.T) {
	const secret = "dial unix /run/clamav/clamd.ctl: connect: permission denied"
	var order []string
	rec := &eventlog.Recorder{}
	sc := pipeline.NewScanner(rec, pipeline.StrictPolicy{},
		&stage{name: "clamav", verdict: pipeline.Verdict{Status: "", Suggest: pipeline.ActionAccept}, err: errors.New(secret), order: &order},
		&stage{name: "spamd", verdict: pipeline.Verdict{Status: "clean", Suggest: pipeline.ActionAccept}, order: &order},
	)
	m := newMessage("Q9", "x")
	d := sc.Scan(context.Background(), m)

	if strings.Join(order, ",") != "clamav,spamd" {
		t.Errorf("a stage error stopped the later stages: ran %v", order)
	}
	if d.Action != pipeline.ActionTempFail {
		t.Fatalf("decision %v, want tempfail", d.Action)
	}
	if d.Reply.Code != 451 || d.Reply.Status() != "4.7.1" {
		t.Errorf("reply %s, want 451 4.7.1", d.Reply)
	}
	for _, leak := range []string{secret, "clamd", "permission", "clamav"} {
		if strings.Contains(d.Reply.String(), leak) {
			t.Errorf("reply %q leaks %q to the client", d.Reply, leak)
		}
	}
	if d.Reply.Text == "" {
		t.Errorf("reply has no text")
	}
	v := m.Verdicts[0]
	if v.Stage != "clamav" || v.Status != "error" || v.Suggest != pipeline.ActionTempFail {
		t.Errorf("failed stage's verdict = %+v, want clamav/error/tempfail", v)
	}
	ev := rec.All()[0]
	if ev.Err != secret || ev.Stage != "clamav" || ev.Duration <= 0 {
		t.Errorf("event for the failed stage: %+v, want Err %q", ev, secret)
	}
	if rec.All()[1].Err != "" {
		t.Errorf("the next stage's event carries an error: %+v", rec.All()[1])
	}
}

// TestScannerErrorPassesCauseToPolicy checks what a custom policy gets.
func TestScannerErrorPassesCauseToPolicy(t *testing.T) {
	cause := errors.New("timeout")
	var got []error
	pol := policyFunc(func(m *pipeline.Message, errs []error) pipeline.Decision {
		got = errs
		return pipeline.Decision{Action: pipeline.ActionAccept}
	})
	var order []string
	sc := pipeline.NewScanner(&eventlog.Recorder{}, pol, &stage{name: "rspamd", err: cause, order: &order})
	sc.Scan(context.Background(), newMessage("Q", "x"))
	if len(got) != 1 || !errors.Is(got[0], cause) || !strings.Contains(got[0].Error(), "rspamd") {
		t.Errorf("policy got %v, want one error wrapping the cause and naming the stage", got)
	}
}

type policyFunc func(*pipeline.Message, []error) pipeline.Decision

func (f policyFunc) Decide(m *pipeline.Message, errs []error) pipeline.Decision { return f(m, errs) }

func (policyFunc) Runs(*pipeline.Message, string) bool { return true }

func TestStrictPolicyPrecedence(t *testing.T) {
	v := func(stage string, a pipeline.Action, status string) pipeline.Verdict {
		return pipeline.Verdict{Stage: stage, Status: status, Suggest: a}
	}
	A, R, T, D := pipeline.ActionAccept, pipeline.ActionReject, pipeline.ActionTempFail, pipeline.ActionDiscard
	for _, tc := range []struct {
		name     string
		verdicts []pipeline.Verdict
		action   pipeline.Action
		reply    pipeline.Reply
	}{
		{"nothing", nil, A, pipeline.Reply{}},
		{"all accept", []pipeline.Verdict{v("a", A, "ok"), v("b", A, "ok")}, A, pipeline.Reply{}},
		{"discard over accept", []pipeline.Verdict{v("a", A, "ok"), v("b", D, "spam")}, D, pipeline.Reply{}},
		{"tempfail over discard", []pipeline.Verdict{v("a", D, "spam"), v("b", T, "greylisted")}, T,
			pipeline.Reply{451, [3]int{4, 7, 1}, "Message deferred: b greylisted, try again later"}},
		{"reject over tempfail", []pipeline.Verdict{v("a", T, "greylisted"), v("b", R, "virus"), v("c", D, "spam")}, R,
			pipeline.Reply{554, [3]int{5, 7, 1}, "Message refused: b virus"}},
		{"reject over all, whatever the order", []pipeline.Verdict{v("x", R, "banned"), v("y", T, "busy"), v("z", D, "spam")}, R,
			pipeline.Reply{554, [3]int{5, 7, 1}, "Message refused: x banned"}},
		{"first of equals names the reply", []pipeline.Verdict{v("first", R, "virus"), v("second", R, "spam")}, R,
			pipeline.Reply{554, [3]int{5, 7, 1}, "Message refused: first virus"}},
	} {
		m := &pipeline.Message{Meta: pipeline.Meta{Verdicts: tc.verdicts}}
		d := pipeline.StrictPolicy{}.Decide(m, nil)
		if d.Action != tc.action || d.Reply != tc.reply {
			t.Errorf("%s: %v %q, want %v %q", tc.name, d.Action, d.Reply, tc.action, tc.reply)
		}
	}
	// With stage errors, the tempfail reply is generic.
	m := &pipeline.Message{Meta: pipeline.Meta{Verdicts: []pipeline.Verdict{v("a", T, "error")}}}
	d := pipeline.StrictPolicy{}.Decide(m, []error{errors.New("stage a: secret")})
	if d.Action != T || strings.Contains(d.Reply.Text, "secret") || strings.Contains(d.Reply.Text, "a error") {
		t.Errorf("tempfail on error: %v %q", d.Action, d.Reply)
	}
}

const multipartMsg = "From: a@example.org\r\n" +
	"To: b@example.net\r\n" +
	"Subject: parts\r\n" +
	"MIME-Version: 1.0\r\n" +
	"Content-Type: multipart/mixed; boundary=\"XYZ\"\r\n" +
	"\r\n" +
	"preamble\r\n" +
	"--XYZ\r\n" +
	"Content-Type: text/plain; charset=us-ascii\r\n" +
	"\r\n" +
	"hello world\r\n" +
	"--XYZ\r\n" +
	"Content-Type: application/octet-stream\r\n" +
	"Content-Disposition: attachment; filename=\"x.bin\"\r\n" +
	"Content-Transfer-Encoding: base64\r\n" +
	"\r\n" +
	"AAECAw==\r\n" +
	"--XYZ--\r\n"

func TestMessageReaderAndMIME(t *testing.T) {
	m := newMessage("Q1", multipartMsg)
	// Reader starts over every time and covers the whole content.
	for i := 0; i < 2; i++ {
		b, err := io.ReadAll(m.Reader())
		if err != nil || string(b) != multipartMsg {
			t.Fatalf("Reader() pass %d: %d bytes, %v", i, len(b), err)
		}
	}
	r := m.Reader()
	if r.Size() != int64(len(multipartMsg)) {
		t.Errorf("Reader().Size() = %d, want %d", r.Size(), len(multipartMsg))
	}

	type part struct{ ctype, body string }
	parse := func() []part {
		e, err := m.MIME()
		if err != nil {
			t.Fatalf("MIME(): %v", err)
		}
		if e.Header.Get("Subject") != "parts" {
			t.Errorf("Subject = %q", e.Header.Get("Subject"))
		}
		mr := e.MultipartReader()
		if mr == nil {
			t.Fatalf("MIME(): not multipart")
		}
		var parts []part
		for {
			p, err := mr.NextPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("NextPart: %v", err)
			}
			ct, _, _ := p.Header.ContentType()
			b, err := io.ReadAll(p.Body)
			if err != nil {
				t.Fatalf("part body: %v", err)
			}
			parts = append(parts, part{ct, string(b)})
		}
		return parts
	}
	first := parse()
	want := []part{{"text/plain", "hello world"}, {"application/octet-stream", "\x00\x01\x02\x03"}}
	if len(first) != len(want) {
		t.Fatalf("parts = %q, want %q", first, want)
	}
	for i := range want {
		if first[i] != want[i] {
			t.Errorf("part %d = %q, want %q (decoded)", i, first[i], want[i])
		}
	}
	// Each MIME() call is an independent parse.
	if second := parse(); len(second) != len(first) || second[1] != first[1] {
		t.Errorf("second parse = %q, want %q", second, first)
	}
}
