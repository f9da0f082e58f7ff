package cgp

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParseQueueFileSamples(t *testing.T) {
	tests := []struct {
		file    string
		want    Envelope
		subject string
	}{
		{
			file: "smtp.msg",
			want: Envelope{
				From:       "ann@example.org",
				Recipients: []string{"nif@example.net", "naf@example.com"},
				ClientIP:   "203.0.113.7",
			},
			subject: "Subject: quarterly report",
		},
		{
			file: "authenticated.msg",
			want: Envelope{
				From:       `"john..doe>x"@example.org`,
				Recipients: []string{"Partner@Example.COM"},
				ClientIP:   "2001:db8::25",
			},
			subject: "Subject: webmail submission",
		},
		{
			file: "dsn.msg",
			want: Envelope{
				From:       "",
				Recipients: []string{"postmaster@example.com"},
			},
			subject: "Subject: Undeliverable mail",
		},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			env, raw, err := ParseQueueFile(data)
			if err != nil {
				t.Fatalf("ParseQueueFile: %v", err)
			}
			if !reflect.DeepEqual(env, tc.want) {
				t.Errorf("envelope = %+v, want %+v", env, tc.want)
			}
			if !bytes.HasPrefix(raw, []byte("Received: ")) && !bytes.HasPrefix(raw, []byte("From: ")) {
				t.Errorf("message starts with %.30q, want its first header", raw)
			}
			if !bytes.Contains(raw, []byte(tc.subject+"\n")) {
				t.Errorf("message lacks %q", tc.subject)
			}
			if !bytes.HasSuffix(data, raw) {
				t.Error("message is not the tail of the file")
			}
		})
	}
}

func TestParseQueueFileCRLF(t *testing.T) {
	data := []byte("P <a@example.org>\r\nR <b@example.net>\r\nS SMTP [::ffff:192.0.2.1]\r\n\r\nSubject: x\r\n\r\nbody\r\n")
	env, raw, err := ParseQueueFile(data)
	if err != nil {
		t.Fatal(err)
	}
	want := Envelope{From: "a@example.org", Recipients: []string{"b@example.net"}, ClientIP: "192.0.2.1"}
	if !reflect.DeepEqual(env, want) {
		t.Errorf("envelope = %+v, want %+v", env, want)
	}
	if string(raw) != "Subject: x\r\n\r\nbody\r\n" {
		t.Errorf("message = %q", raw)
	}
}

func TestParseQueueFileEdges(t *testing.T) {
	ok := []struct {
		name string
		data string
		want Envelope
		raw  string
	}{
		{"empty envelope", "\nSubject: x\n", Envelope{}, "Subject: x\n"},
		{"empty message", "P <a@b>\nR <c@d>\n\n", Envelope{From: "a@b", Recipients: []string{"c@d"}}, ""},
		{"unknown letters skipped", "X whatever\nO T\nZ\nR <c@d>\n\nbody", Envelope{Recipients: []string{"c@d"}}, "body"},
		{"spaces inside brackets", "P < a@b >\nR <c@d> trailing\n\n", Envelope{From: "a@b", Recipients: []string{"c@d"}}, ""},
		{"authenticated source", "S <u@example.org> SMTP [198.51.100.4]\n\n", Envelope{ClientIP: "198.51.100.4"}, ""},
		{"IPv6 literal tag", "S SMTP [IPv6:2001:db8::1]\n\n", Envelope{ClientIP: "2001:db8::1"}, ""},
		{"first source wins", "S SMTP [192.0.2.1]\nS SMTP [192.0.2.2]\n\n", Envelope{ClientIP: "192.0.2.1"}, ""},
		{"internal source has no IP", "S RULE [0.0.0.0]\n\n", Envelope{}, ""},
		{"unparsable IP ignored", "S SMTP [mx.example.org]\n\n", Envelope{}, ""},
		{"source without brackets", "S PIPE\n\n", Envelope{}, ""},
		{"escaped quote in local part", `P <"a\">"@b>` + "\n\n", Envelope{From: `"a\">"@b`}, ""},
		{"blank line only after envelope", "R <c@d>\n\n\nbody", Envelope{Recipients: []string{"c@d"}}, "\nbody"},
	}
	for _, tc := range ok {
		t.Run(tc.name, func(t *testing.T) {
			env, raw, err := ParseQueueFile([]byte(tc.data))
			if err != nil {
				t.Fatalf("ParseQueueFile: %v", err)
			}
			if !reflect.DeepEqual(env, tc.want) {
				t.Errorf("envelope = %+v, want %+v", env, tc.want)
			}
			if string(raw) != tc.raw {
				t.Errorf("message = %q, want %q", raw, tc.raw)
			}
		})
	}

	bad := []struct {
		name, data, errPart string
	}{
		{"no blank line", "P <a@b>\nR <c@d>\n", "no empty line"},
		{"nothing", "", "no empty line"},
		{"bare RFC 5322 message", "From: a@b\nSubject: x\n\nbody\n", "not an envelope line"},
		{"header-like letter line", "X:y\n\n", "not an envelope line"},
		{"digit line", "1 FILE x\n\n", "not an envelope line"},
		{"P without address", "P I 17-09-2001\n\n", "no <address>"},
		{"R without address", "R W nobody\n\n", "no <address>"},
		{"empty recipient", "R <>\n\n", "empty address"},
		{"unterminated", "R <c@d\n\n", "unterminated"},
		{"second return path", "P <a@b>\nP <e@f>\n\n", "second return-path"},
		{"CR inside address", "R <c\r@d>\n\n", "control character"},
		{"NUL inside address", "P <a\x00@b>\n\n", "control character"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			env, raw, err := ParseQueueFile([]byte(tc.data))
			if err == nil {
				t.Fatalf("ParseQueueFile = %+v, %q, nil; want an error", env, raw)
			}
			if !strings.Contains(err.Error(), tc.errPart) {
				t.Errorf("error %q does not mention %q", err, tc.errPart)
			}
			if !strings.HasPrefix(err.Error(), "cgp: queue file") {
				t.Errorf("error %q lacks its context", err)
			}
		})
	}
}
