package notify

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestParseOutput(t *testing.T) {
	fields, body, err := parseOutput([]byte("Subject: a\n  folded\r\nX-Y:  z \n\nbody\nmore\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(fields) != 2 || fields[0].Name != "Subject" || fields[0].Value != "a folded" || fields[1].Name != "X-Y" || fields[1].Value != "z" {
		t.Errorf("fields %+v", fields)
	}
	if string(body) != "body\nmore\n" {
		t.Errorf("body %q", body)
	}
	for _, bad := range []string{
		"Subject: no blank line\n",
		"Subject: no blank line",
		"\nbody without header\n",
		"Subject x\n\n",                 // no colon
		" Subject: x\n\n",               // starts with a continuation
		"Subject: bare\rCR\n\n",         // CR inside a value
		"Bad Name: x\n\n",               // space in a name
		"Subject: x\nX-Nul: a\x00b\n\n", // control character
		"Subject: x\n: nameless\n\n",
		": x\n\n",
	} {
		if fields, _, err := parseOutput([]byte(bad)); err == nil {
			t.Errorf("%q accepted: %+v", bad, fields)
		}
	}
}

func FuzzParseOutput(f *testing.F) {
	for _, s := range []string{
		"Subject: x\n\nbody\n",
		"Subject: a\r\n b\r\nX: y\r\n\r\nbody",
		"Subject: x\r\rBcc: y\n\n",
		"Subject: \xff\xfe\n\n\n",
		"\n\n",
		"",
		"S:\n\t\n\n",
		":\n\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, out []byte) {
		fields, body, err := parseOutput(out)
		if err != nil {
			return
		}
		if len(fields) == 0 {
			t.Fatal("accepted output without fields")
		}
		for _, fl := range fields {
			if fl.Name == "" || strings.ContainsAny(fl.Name, "\r\n: \t") || strings.ContainsAny(fl.Value, "\r\n") {
				t.Fatalf("field %q: %q", fl.Name, fl.Value)
			}
		}
		if !bytes.HasSuffix(out, body) {
			t.Fatal("body is not the end of the output")
		}
		// What was accepted composes into one header field per field.
		var b bytes.Buffer
		for _, fl := range fields {
			writeField(&b, fl.Name, fl.Value)
		}
		b.WriteString("\r\n")
		again, _, err := parseOutput(b.Bytes())
		if err != nil || len(again) != len(fields) {
			t.Fatalf("rewritten %q: %d fields, %v; want %d", b.Bytes(), len(again), err, len(fields))
		}
	})
}

func TestWriteFieldFolds(t *testing.T) {
	var b bytes.Buffer
	long := strings.Repeat("word ", 60) + strings.Repeat("x", 3000)
	writeField(&b, "Subject", long)
	for i, line := range strings.Split(strings.TrimSuffix(b.String(), "\r\n"), "\r\n") {
		if len(line) > hardLine {
			t.Errorf("line %d has %d bytes", i, len(line))
		}
		if i > 0 && !strings.HasPrefix(line, " ") {
			t.Errorf("line %d does not continue the field: %q", i, line)
		}
		if strings.TrimSpace(line) == "" {
			t.Errorf("line %d is blank", i)
		}
	}
	if strings.Count(b.String(), "\r\n") < 8 {
		t.Errorf("not folded:\n%s", b.String())
	}
	fields, _, err := parseOutput(append(b.Bytes(), "\r\n"...))
	if err != nil || len(fields) != 1 || !strings.HasPrefix(fields[0].Value, strings.Repeat("word ", 60)) {
		t.Fatalf("folded field reads back as %+v, %v", fields, err)
	}
}

func TestNormalizeBody(t *testing.T) {
	got := string(normalizeBody([]byte("a\nb\r\nc\rd")))
	if got != "a\r\nb\r\nc\r\nd\r\n" {
		t.Errorf("got %q", got)
	}
	long := strings.Repeat("é", 1000) // 2000 bytes
	got = string(normalizeBody([]byte(long)))
	for _, line := range strings.Split(strings.TrimSuffix(got, "\r\n"), "\r\n") {
		if len(line) > hardLine || !strings.HasPrefix(line, "é") {
			t.Errorf("line of %d bytes, or split inside a character", len(line))
		}
	}
	if strings.ReplaceAll(got, "\r\n", "") != long {
		t.Error("content changed")
	}
}

func TestComposeSubjectFolding(t *testing.T) {
	s := &setup{from: "postmaster@mx.example.net", tmpls: templates{}}
	tp, err := load("x.tmpl", "sender", []byte("Subject: {{.Subject}}\n\nb\n"))
	if err != nil {
		t.Fatal(err)
	}
	s.tmpls["sender"] = tp
	d := samples()[0]
	d.Subject = strings.Repeat("Überraschung ", 300)
	r := compose(s, "sender", "0000000000000000009", "P", d, []string{"a@example.com"}, time.Now())
	head, _, _ := strings.Cut(string(r.content), "\r\n\r\n")
	for _, line := range strings.Split(head, "\r\n") {
		if len(line) > softLine+2 && !strings.Contains(line, "=?") {
			t.Errorf("line of %d bytes: %q", len(line), line)
		}
		if len(line) > hardLine {
			t.Errorf("line of %d bytes", len(line))
		}
	}
	if !strings.HasPrefix(r.subject, "Überraschung") {
		t.Errorf("subject %q", r.subject)
	}
}
