package pipeline_test

import (
	"bufio"
	"bytes"
	"reflect"
	"strings"
	"testing"

	"github.com/emersion/go-message/textproto"

	"github.com/gatewatch/gatewatch/pipeline"
)

// bytesContent is a message's content in memory.
type bytesContent struct{ *bytes.Reader }

func (c bytesContent) Size() int64 { return c.Reader.Size() }

func describe(t testing.TB, raw string) *pipeline.Message {
	t.Helper()
	raw = strings.ReplaceAll(raw, "\n", "\r\n")
	hdr, _ := textproto.ReadHeader(bufio.NewReader(strings.NewReader(raw)))
	m := &pipeline.Message{Header: hdr, Content: bytesContent{bytes.NewReader([]byte(raw))}}
	m.Describe()
	return m
}

func TestDescribe(t *testing.T) {
	for _, tc := range []struct {
		name, raw, subject, msgID string
		files                     []string
	}{
		{name: "plain", raw: "Subject: Hello there\nMessage-ID: <a1@example.org>\n\nbody\n",
			subject: "Hello there", msgID: "<a1@example.org>"},
		{name: "encoded words in two charsets",
			raw:     "Subject: =?UTF-8?B?w5xiZXIgfCBwaXBl?= =?ISO-8859-1?Q?_caf=E9?=\n\nx\n",
			subject: "Über | pipe café"},
		{name: "unknown charset keeps the raw text", raw: "Subject: =?x-nonesuch?Q?abc?=\n\nx\n",
			subject: "=?x-nonesuch?Q?abc?="},
		{name: "nested multipart with RFC 2231 and RFC 2047 names",
			raw: "Subject: files\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=outer\n\n" +
				"--outer\nContent-Type: text/plain\n\nhello\n" +
				"--outer\nContent-Type: multipart/alternative; boundary=inner\n\n" +
				"--inner\nContent-Type: application/pdf; name=\"in|voice=1.pdf\"\n\n%PDF\n" +
				"--inner--\n" +
				"--outer\nContent-Type: application/octet-stream\nContent-Disposition: attachment; filename*=UTF-8''r%C3%A9sum%C3%A9.zip\n\nPK\n" +
				"--outer\nContent-Type: application/octet-stream\nContent-Disposition: attachment; filename=\"=?UTF-8?Q?=E6=97=A5=E6=9C=AC.txt?=\"\n\nx\n" +
				"--outer--\n",
			subject: "files", files: []string{"in|voice=1.pdf", "résumé.zip", "日本.txt"}},
		{name: "broken multipart keeps what was read",
			raw:   "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Disposition: attachment; filename=a.exe\n\nMZ\n",
			files: []string{"a.exe"}},
		{name: "no header at all", raw: "\nbody only\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := describe(t, tc.raw)
			if m.Subject != tc.subject || m.MessageID != tc.msgID || !reflect.DeepEqual(m.Attachments, tc.files) {
				t.Errorf("got subject %q id %q files %q, want %q %q %q", m.Subject, m.MessageID, m.Attachments, tc.subject, tc.msgID, tc.files)
			}
		})
	}
}

func TestDescribeBounds(t *testing.T) {
	var b strings.Builder
	b.WriteString("Subject: " + strings.Repeat("é", 3000) + "\nContent-Type: multipart/mixed; boundary=b\n\n")
	for i := 0; i < 100; i++ {
		b.WriteString("--b\nContent-Disposition: attachment; filename=f.bin\n\nx\n")
	}
	b.WriteString("--b--\n")
	m := describe(t, b.String())
	if len(m.Subject) > 4000 || !strings.HasPrefix(m.Subject, "éé") || strings.ToValidUTF8(m.Subject, "?") != m.Subject {
		t.Errorf("subject not clipped at a character boundary under 4000 bytes: %d bytes", len(m.Subject))
	}
	if len(m.Attachments) != 64 {
		t.Errorf("%d attachment names kept, want the bound of 64", len(m.Attachments))
	}
}

func TestVerdictSummary(t *testing.T) {
	got := pipeline.VerdictSummary([]pipeline.Verdict{
		{Stage: "antivirus", Status: "virus", Detail: "Eicar-Test-Signature"},
		{Stage: "antispam", Status: "spam", Score: 7.5},
		{Stage: "contentfilter", Status: "clean"},
	})
	if want := "antivirus=virus: Eicar-Test-Signature, antispam=spam(7.5), contentfilter=clean"; got != want {
		t.Errorf("VerdictSummary = %q, want %q", got, want)
	}
}

func FuzzDescribe(f *testing.F) {
	f.Add("Subject: =?UTF-8?B?w5w=?=\nContent-Type: multipart/mixed; boundary=b\n\n--b\nContent-Disposition: attachment; filename=a\n\nx\n--b--\n")
	f.Add("Content-Type: text/plain; name*0=a; name*1=b\n\nx")
	f.Fuzz(func(t *testing.T, raw string) {
		m := describe(t, raw)
		if len(m.Subject) > 4000 || len(m.MessageID) > 4000 || len(m.Attachments) > 64 {
			t.Fatalf("bounds broken: %d %d %d", len(m.Subject), len(m.MessageID), len(m.Attachments))
		}
	})
}
