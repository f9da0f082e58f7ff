package policy

import (
	"bufio"
	"bytes"
	"strings"
	"testing"

	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-message/textproto"

	"github.com/gatewatch/gatewatch/pipeline"
)

// defaults is a complete default section, as the embedded configuration
// has one.
func defaults() Settings {
	return Settings{Actions: map[string]Action{
		"trusted": {}, "clean": {}, "formal": {MarkSubject: "[!! Formal]"},
		"probable_spam": {MarkSubject: "[?? Probable Spam]"}, "spam": {Do: "quarantine"},
		"error": {Do: "tempfail"}, "unscannable": {Do: "quarantine"}, "suspicious": {Do: "quarantine"},
		"banned":      {RemoveParts: true, Notify: []string{"recipients"}},
		"virus":       {Do: "reject", Reply: "Virus found", QuarantineCopy: true, Notify: []string{"admin"}},
		"blacklisted": {Do: "reject"},
	}}
}

type bytesContent struct{ *bytes.Reader }

func (c bytesContent) Size() int64 { return c.Reader.Size() }

func message(from string, rcpts []string, raw string, verdicts ...pipeline.Verdict) *pipeline.Message {
	raw = strings.ReplaceAll(raw, "\n", "\r\n")
	hdr, _ := textproto.ReadHeader(bufio.NewReader(strings.NewReader(raw)))
	m := &pipeline.Message{Header: hdr, Content: bytesContent{bytes.NewReader([]byte(raw))}}
	m.ID = "1K0W00000000PARN"
	m.Client.IP = "192.0.2.10"
	m.Envelope.From = from
	for _, r := range rcpts {
		m.Envelope.Recipients = append(m.Envelope.Recipients, pipeline.Recipient{Addr: r})
	}
	m.Verdicts = verdicts
	return m
}

func engine(t *testing.T, cfg Config) *Engine {
	t.Helper()
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestValidateNamesKeys(t *testing.T) {
	good := Config{Default: defaults()}
	if err := good.Validate(); err != nil {
		t.Fatalf("good config: %v", err)
	}
	for _, tc := range []struct {
		key string
		mod func(*Config)
	}{
		{"policy.default.actions: no action for status \"virus\"", func(c *Config) { delete(c.Default.Actions, "virus") }},
		{"policy.default.actions.viruses: unknown status", func(c *Config) { c.Default.Actions["viruses"] = Action{} }},
		{"policy.default.actions.spam.do: \"bounce\"", func(c *Config) { c.Default.Actions["spam"] = Action{Do: "bounce"} }},
		{"policy.default.checks.antiphish: unknown stage", func(c *Config) { c.Default.Checks = map[string]bool{"antiphish": true} }},
		{"policy.groups[0].name", func(c *Config) { c.Groups = []Group{{Name: "Bad Name", Recipients: []string{"*"}}} }},
		{"policy.groups[1].name: \"vip\" is used twice", func(c *Config) {
			c.Groups = []Group{{Name: "vip", Recipients: []string{"a@x"}}, {Name: "vip", Recipients: []string{"b@x"}}}
		}},
		{"policy.groups[0].name: \"default\"", func(c *Config) { c.Groups = []Group{{Name: "default", Recipients: []string{"*"}}} }},
		{"policy.groups[0]: a group needs", func(c *Config) { c.Groups = []Group{{Name: "empty"}} }},
		{"policy.groups[0].recipients[1]", func(c *Config) { c.Groups = []Group{{Name: "g", Recipients: []string{"ok@x", "a b@x"}}} }},
		{"policy.groups[0].actions.spam.redirect_to[0]", func(c *Config) {
			c.Groups = []Group{{Name: "g", Senders: []string{"*"}, Settings: Settings{Actions: map[string]Action{"spam": {RedirectTo: []string{"not an address"}}}}}}
		}},
		{"policy.groups[0].actions.spam.notify[0]: \"boss\"", func(c *Config) {
			c.Groups = []Group{{Name: "g", Senders: []string{"*"}, Settings: Settings{Actions: map[string]Action{"spam": {Notify: []string{"boss"}}}}}}
		}},
		{"policy.default.actions.clean.reply: only reject", func(c *Config) { c.Default.Actions["clean"] = Action{Reply: "x"} }},
		{"policy.default.headers.Bad Name: not a header", func(c *Config) { c.Default.Headers = map[string]string{"Bad Name": "x"} }},
		{"policy.lists.clients_black[0]", func(c *Config) { c.Lists.ClientsBlack = []string{"300.1.1.1"} }},
		{"policy.lists.senders_white[0]", func(c *Config) { c.Lists.SendersWhite = []string{"a@b@c"} }},
		{"policy.lists.white_skips[0]", func(c *Config) { c.Lists.WhiteSkips = []string{"everything"} }},
	} {
		c := Config{Default: defaults()}
		c.Default.Actions = map[string]Action{}
		for k, v := range defaults().Actions {
			c.Default.Actions[k] = v
		}
		tc.mod(&c)
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.key) {
			t.Errorf("want an error with %q, got %v", tc.key, err)
		}
	}
}

// Two groups treat a blacklisted sender differently: each recipient's
// copy gets its own group's outcome.
func TestDecideSplitsByGroup(t *testing.T) {
	cfg := Config{Default: defaults(), Lists: Lists{SendersBlack: []string{"*@spammer.test"}},
		Groups: []Group{{Name: "lenient", Recipients: []string{"*@lenient.test"},
			Settings: Settings{Actions: map[string]Action{"blacklisted": {MarkSubject: "[BL]", Headers: map[string]string{"X-Blacklisted": "yes"}}}}}}}
	e := engine(t, cfg)
	m := message("bad@spammer.test", []string{"a@strict.test", "b@lenient.test", "c@strict.test"}, "Subject: hi\n\nbody\n")
	d := e.Decide(m, nil)
	if d.Action != pipeline.ActionAccept || len(d.Outcomes) != 2 {
		t.Fatalf("decision %+v", d)
	}
	strict, lenient := d.Outcomes[0], d.Outcomes[1]
	if strict.Group != "default" || strict.Status != "blacklisted" || strict.Action != pipeline.ActionReject ||
		len(strict.Recipients) != 2 || strict.Recipients[1].Addr != "c@strict.test" || strict.Reply.Code != 554 {
		t.Errorf("strict outcome %+v", strict)
	}
	if lenient.Group != "lenient" || lenient.Action != pipeline.ActionAccept || lenient.MarkSubject != "[BL]" ||
		len(lenient.Headers) != 1 || lenient.Headers[0] != (pipeline.HeaderField{Name: "X-Blacklisted", Value: "yes"}) {
		t.Errorf("lenient outcome %+v", lenient)
	}
	// Every recipient strict: the message is refused as a whole.
	d = e.Decide(message("bad@spammer.test", []string{"a@strict.test"}, "\nx\n"), nil)
	if d.Action != pipeline.ActionReject || d.Reply.Text != "Message refused by policy (blacklisted)" {
		t.Errorf("all refused: %+v", d)
	}
}

func TestDecideStatusesAndLists(t *testing.T) {
	cfg := Config{Default: defaults(),
		Lists: Lists{SendersWhite: []string{"*@partner.test"}, RecipientsBlack: []string{"closed@example.test"},
			ClientsBlack: []string{"198.51.100.0/24"}, WhiteSkips: []string{"antispam"}},
		Groups: []Group{{Name: "noav", Recipients: []string{"lab.example.test"}, Settings: Settings{Checks: map[string]bool{"antivirus": false}}}}}
	e := engine(t, cfg)
	spam := pipeline.Verdict{Stage: "antispam", Status: "spam"}
	virus := pipeline.Verdict{Stage: "antivirus", Status: "virus"}
	for _, tc := range []struct {
		name, from, rcpt, client string
		verdicts                 []pipeline.Verdict
		status                   string
	}{
		{"nothing found", "a@x.test", "u@example.test", "", nil, "clean"},
		{"worst verdict wins", "a@x.test", "u@example.test", "", []pipeline.Verdict{spam, virus}, "virus"},
		{"trusted skips antispam", "a@partner.test", "u@example.test", "", []pipeline.Verdict{spam}, "trusted"},
		{"trusted does not skip antivirus", "a@partner.test", "u@example.test", "", []pipeline.Verdict{virus}, "virus"},
		{"blacklisted recipient", "a@partner.test", "closed@example.test", "", nil, "blacklisted"},
		{"blacklisted client wins over white sender", "a@partner.test", "u@example.test", "198.51.100.7", nil, "blacklisted"},
		{"check off for the group", "a@x.test", "u@lab.example.test", "", []pipeline.Verdict{virus}, "clean"},
		{"unknown status counts as error", "a@x.test", "u@example.test", "", []pipeline.Verdict{{Stage: "antispam", Status: "weird"}}, "error"},
	} {
		m := message(tc.from, []string{tc.rcpt}, "\nx\n", tc.verdicts...)
		if tc.client != "" {
			m.Client.IP = tc.client
		}
		d := e.Decide(m, nil)
		if len(d.Outcomes) != 1 || d.Outcomes[0].Status != tc.status {
			t.Errorf("%s: outcomes %+v, want status %s", tc.name, d.Outcomes, tc.status)
		}
	}
	// Runs: antispam is skipped only when every recipient is trusted for it.
	trustedOnly := message("a@partner.test", []string{"u@example.test"}, "\nx\n")
	if e.Runs(trustedOnly, "antispam") || !e.Runs(trustedOnly, "antivirus") {
		t.Error("trusted mail: antispam must be skipped, antivirus must run")
	}
	mixed := message("a@x.test", []string{"u@lab.example.test", "v@example.test"}, "\nx\n")
	if !e.Runs(mixed, "antivirus") {
		t.Error("antivirus must run when one recipient's group wants it")
	}
	if e.Runs(message("a@x.test", []string{"u@lab.example.test"}, "\nx\n"), "antivirus") {
		t.Error("antivirus ran for a group that turned it off")
	}
	if e.Runs(message("a@x.test", []string{"closed@example.test"}, "\nx\n"), "antivirus") {
		t.Error("a stage ran for a blacklisted copy, whose status nothing can change")
	}
	// An error anywhere defers the whole message.
	d := e.Decide(message("a@x.test", []string{"u@example.test"}, "\nx\n", pipeline.Verdict{Stage: "antivirus", Status: "error"}), nil)
	if d.Action != pipeline.ActionTempFail || d.Reply.Code != 451 {
		t.Errorf("stage error: %+v", d)
	}
}

const multipartMsg = `Received: from x
X-Gatewatch-ID: 1K0W00000000PARN
Subject: =?UTF-8?Q?caf=C3=A9?=
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="outer"

preamble
--outer
Content-Type: text/plain; charset=iso-8859-1
Content-Transfer-Encoding: quoted-printable

caf=E9 body
--outer
Content-Type: multipart/alternative; boundary=inner

--inner
Content-Type: application/x-msdownload; name="evil.exe"
Content-Transfer-Encoding: base64

TVqQAAMAAAAEAAAA
--inner
Content-Type: text/html

<p>hi</p>
--inner--
--outer
Content-Type: application/pdf
Content-Disposition: attachment; filename="ok.pdf"

%PDF-1.4
--outer--
`

func render(t *testing.T, m *pipeline.Message, tr pipeline.Treatment, id string) string {
	t.Helper()
	var b bytes.Buffer
	if err := Render(&b, m, tr, id); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestRenderMarksAndHeaders(t *testing.T) {
	m := message("a@x.test", []string{"u@example.test"}, multipartMsg)
	out := render(t, m, pipeline.Treatment{MarkSubject: "[!! SPAM]", Headers: []pipeline.HeaderField{{Name: "X-Spam-Flag", Value: "YES"}}}, "1K0W00000000CHLD")
	mr, err := mail.CreateReader(strings.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	subject, _ := mr.Header.Subject()
	if subject != "[!! SPAM] café" || mr.Header.Get("X-Spam-Flag") != "YES" ||
		mr.Header.Get("X-Gatewatch-ID") != "1K0W00000000CHLD" || mr.Header.Get("X-Gatewatch-Parent-ID") != "1K0W00000000PARN" {
		t.Errorf("header: subject %q, %v", subject, mr.Header.Map())
	}
	// The body is the original's, byte for byte.
	orig := strings.ReplaceAll(multipartMsg, "\n", "\r\n")
	if !strings.HasSuffix(out, orig[strings.Index(orig, "\r\n\r\n"):]) {
		t.Error("body changed")
	}
	// Same ID: no parent field; a non-ASCII mark is encoded.
	out = render(t, m, pipeline.Treatment{MarkSubject: "[Spam présumé]"}, m.ID)
	mr, _ = mail.CreateReader(strings.NewReader(out))
	subject, _ = mr.Header.Subject()
	if subject != "[Spam présumé] café" || mr.Header.Has("X-Gatewatch-Parent-ID") {
		t.Errorf("subject %q, parent %q", subject, mr.Header.Get("X-Gatewatch-Parent-ID"))
	}
}

func TestRenderRemovesFlaggedParts(t *testing.T) {
	m := message("a@x.test", []string{"u@example.test"}, multipartMsg,
		pipeline.Verdict{Stage: "contentfilter", Status: "banned", Parts: []string{"2.1"}},
		pipeline.Verdict{Stage: "antivirus", Status: "clean"})
	out := render(t, m, pipeline.Treatment{RemoveParts: true}, m.ID)
	if strings.Contains(out, "TVqQAAMAAAAEAAAA") {
		t.Fatal("the flagged part is still there")
	}
	for _, keep := range []string{"caf=E9 body", "<p>hi</p>", "%PDF-1.4", `filename="ok.pdf"`, `The attachment "evil.exe" was removed`} {
		if !strings.Contains(out, keep) {
			t.Errorf("%q missing:\n%s", keep, out)
		}
	}
	// The result is still a well-formed MIME tree with the same shape.
	mr, err := mail.CreateReader(strings.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for {
		p, err := mr.NextPart()
		if err != nil {
			break
		}
		n++
		_ = p
	}
	if n != 4 {
		t.Errorf("%d leaf parts after removal, want 4 (text, notice, html, pdf)", n)
	}
	// A flagged single-part message becomes the notice.
	single := message("a@x.test", []string{"u@example.test"}, "Subject: x\nContent-Type: application/octet-stream; name=\"a.bin\"\n\nBINARY\n",
		pipeline.Verdict{Stage: "contentfilter", Status: "banned", Parts: []string{"1"}})
	out = render(t, single, pipeline.Treatment{RemoveParts: true}, single.ID)
	if strings.Contains(out, "BINARY") || !strings.Contains(out, `The attachment "a.bin" was removed`) || !strings.Contains(out, "Content-Type: text/plain") {
		t.Errorf("single part:\n%s", out)
	}
}

func FuzzRender(f *testing.F) {
	f.Add(multipartMsg, "2.1")
	f.Add("Subject: x\n\nbody\n", "1")
	f.Fuzz(func(t *testing.T, raw, part string) {
		m := message("a@x.test", []string{"u@example.test"}, raw, pipeline.Verdict{Stage: "contentfilter", Status: "banned", Parts: []string{part}})
		var b bytes.Buffer
		_ = Render(&b, m, pipeline.Treatment{RemoveParts: true, MarkSubject: "[x]"}, "1K0W00000000CHLD")
	})
}

func TestAtRecipient(t *testing.T) {
	cfg := Config{Default: defaults()}
	cfg.Lists.SendersBlack = []string{"*@blocked.test"}
	cfg.Lists.ClientsBlack = []string{"192.0.2.0/24"}
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if tr, refuse := e.AtRecipient("198.51.100.1", "a@blocked.test", "u@example.test"); !refuse || tr.Action != pipeline.ActionReject || tr.Reply.Code != 554 {
		t.Errorf("blacklisted sender: %+v %v", tr, refuse)
	}
	if _, refuse := e.AtRecipient("192.0.2.9", "a@fine.test", "u@example.test"); !refuse {
		t.Error("blacklisted client not refused")
	}
	if _, refuse := e.AtRecipient("198.51.100.1", "a@fine.test", "u@example.test"); refuse {
		t.Error("a listed nowhere sender refused")
	}
}
