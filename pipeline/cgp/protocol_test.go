package cgp

import (
	"strings"
	"testing"
)

func TestParseRequest(t *testing.T) {
	ok := []struct {
		line string
		want Request
	}{
		{"1 INTF 3", Request{"1", "INTF", "3"}},
		{"1 FILE CGPKAV/test.msg", Request{"1", "FILE", "CGPKAV/test.msg"}},
		{"22 file Queue/1.msg\r\n", Request{"22", "FILE", "Queue/1.msg"}},
		{"  7\tQUIT  ", Request{"7", "QUIT", ""}},
		{`8 FILE "Queue/a b.msg" HEADERS`, Request{"8", "FILE", `"Queue/a b.msg" HEADERS`}},
	}
	for _, tc := range ok {
		got, err := ParseRequest(tc.line)
		if err != nil || got != tc.want {
			t.Errorf("ParseRequest(%q) = %+v, %v; want %+v", tc.line, got, err, tc.want)
		}
	}

	bad := []struct {
		line, seq, errPart string
	}{
		{"", "", "empty"},
		{"   ", "", "empty"},
		{"garbage", "", "sequence number"},
		{"-1 FILE x", "", "sequence number"},
		{strings.Repeat("9", 40) + " FILE x", "", "sequence number"},
		{"12", "12", "no command"},
		{"12 F1LE x", "12", "malformed command"},
		{"12 FILE a\x00b", "12", "control character"},
		{"12 FILE a\rb", "12", "control character"},
	}
	for _, tc := range bad {
		got, err := ParseRequest(tc.line)
		if err == nil {
			t.Errorf("ParseRequest(%q) = %+v, nil; want an error", tc.line, got)
			continue
		}
		if got.Seq != tc.seq {
			t.Errorf("ParseRequest(%q).Seq = %q, want %q", tc.line, got.Seq, tc.seq)
		}
		if !strings.Contains(err.Error(), tc.errPart) {
			t.Errorf("ParseRequest(%q) error %q does not mention %q", tc.line, err, tc.errPart)
		}
	}
}

func TestFileArg(t *testing.T) {
	for arg, want := range map[string]string{
		"Queue/1.msg":                  "Queue/1.msg",
		"Queue/1.msg HEADERS":          "Queue/1.msg",
		`"Queue/a b.msg"`:              "Queue/a b.msg",
		`"Queue/q\"\\.msg" extra`:      `Queue/q"\.msg`,
		`"C:\\CommuniGate\\1.msg"`:     `C:\CommuniGate\1.msg`,
		`"Queue/\049.msg"`:             "Queue/1.msg",
		"/var/CommuniGate/Queue/1.msg": "/var/CommuniGate/Queue/1.msg",
	} {
		got, err := fileArg(arg)
		if err != nil || got != want {
			t.Errorf("fileArg(%q) = %q, %v; want %q", arg, got, err, want)
		}
	}
	for _, arg := range []string{"", `"unterminated`, `"a\eb"`, `"bad\q"`, `""`, `"\999"`} {
		if got, err := fileArg(arg); err == nil {
			t.Errorf("fileArg(%q) = %q, nil; want an error", arg, got)
		}
	}
}

func TestSeqPrefix(t *testing.T) {
	for line, want := range map[string]string{
		"14 FILE aaaa":                "14",
		"garbage":                     "",
		"1234":                        "", // may run on past the prefix
		strings.Repeat("1", 40) + " ": "",
		" 9\tFILE":                    "9",
	} {
		if got := seqPrefix(line); got != want {
			t.Errorf("seqPrefix(%q) = %q, want %q", line, got, want)
		}
	}
}

func TestVerdictResponse(t *testing.T) {
	tests := []struct {
		name string
		v    Verdict
		want string
	}{
		{"ok", Verdict{}, "5 OK\n"},
		{"ok ignores text", Verdict{Action: ActionOK, Text: "fine"}, "5 OK\n"},
		{"discard", Verdict{Action: ActionDiscard, Text: "x", AddHeaders: []string{"X-A: 1"}}, "5 DISCARD\n"},
		{"reject atom", Verdict{Action: ActionReject, Text: "spam"}, "5 REJECTED spam\n"},
		{"reject quoted", Verdict{Action: ActionReject, Text: `say "no" \ now`}, `5 REJECTED "say \"no\" \\ now"` + "\n"},
		{"reject sanitized", Verdict{Action: ActionReject, Text: "line1\r\n5 OK\tx"}, "5 REJECTED \"line1 5 OK x\"\n"},
		{"reject default", Verdict{Action: ActionReject, Text: " \r\n"}, "5 REJECTED \"message rejected by gatewatch\"\n"},
		{"error", Verdict{Action: ActionError, Text: "engine down"}, "5 ERROR \"engine down\"\n"},
		{"error default", Verdict{Action: ActionError}, "5 ERROR \"gatewatch could not scan the message\"\n"},
		{"unknown action", Verdict{Action: Action(9)}, "* gatewatch: request 5: judge returned unknown action(9)\n5 ERROR \"invalid verdict\"\n"},
		{"one header", Verdict{AddHeaders: []string{"X-Spam: yes"}}, "5 ADDHEADER \"X-Spam: yes\" OK\n"},
		{
			"headers joined, folding kept, forged line joined",
			Verdict{AddHeaders: []string{"X-A: 1", "X-B: two\r\n\tthree", "X-C: c\nBcc: victim@example.com", "X-D: \"q\" \\"}},
			`5 ADDHEADER "X-A: 1\eX-B: two\e\tthree\eX-C: c Bcc: victim@example.com\eX-D: \"q\" \\" OK` + "\n",
		},
		{
			"malformed header dropped",
			Verdict{AddHeaders: []string{"no colon here", "X-Ok: 1", ": empty name"}},
			"* gatewatch: request 5: header not added: \"no colon here\" is not a \"Name: value\" field\n" +
				"* gatewatch: request 5: header not added: \": empty name\" is not a \"Name: value\" field\n" +
				"5 ADDHEADER \"X-Ok: 1\" OK\n",
		},
		{
			"only malformed headers",
			Verdict{AddHeaders: []string{"Bad Name: x"}},
			"* gatewatch: request 5: header not added: \"Bad Name: x\" is not a \"Name: value\" field\n5 OK\n",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := verdictResponse("5", tc.v); got != tc.want {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestResponseLineLimit(t *testing.T) {
	long := strings.Repeat("a\"b ", 3000)
	for _, v := range []Verdict{
		{Action: ActionReject, Text: long},
		{Action: ActionError, Text: long},
		{AddHeaders: []string{"X-Big: " + long}},
		{AddHeaders: []string{"X-1: " + strings.Repeat("x", 2000), "X-2: " + strings.Repeat("y", 2000), "X-3: z"}},
	} {
		resp := verdictResponse("123456", v)
		lines := strings.Split(strings.TrimSuffix(resp, "\n"), "\n")
		for _, l := range lines {
			if len(l)+1 > maxResponseLine {
				t.Errorf("line of %d bytes: %.60q", len(l), l)
			}
		}
		last := lines[len(lines)-1]
		if !strings.HasPrefix(last, "123456 ") {
			t.Errorf("answer line %.60q", last)
		}
	}
	// The fields that fit are kept, in order; the one that does not is
	// named in a comment.
	resp := verdictResponse("1", Verdict{AddHeaders: []string{"X-1: " + strings.Repeat("x", 2000), "X-2: " + strings.Repeat("y", 2100), "X-3: z"}})
	lines := strings.Split(strings.TrimSuffix(resp, "\n"), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], `* gatewatch: request 1: header not added: "X-2: yyy`) ||
		!strings.HasPrefix(lines[1], `1 ADDHEADER "X-1: xxx`) || !strings.HasSuffix(lines[1], `\eX-3: z" OK`) {
		t.Errorf("response %.200q", resp)
	}
	// A cut text still ends as a well-formed quoted string.
	resp = verdictResponse("1", Verdict{Action: ActionReject, Text: long})
	if !strings.HasSuffix(resp, `..."`+"\n") {
		t.Errorf("cut text ends %q", resp[len(resp)-20:])
	}
}
