package bayes

import (
	"strings"
	"testing"
)

// FuzzTokenize checks that no input makes Tokenize panic or break its
// contract: distinct tokens, each prefixed by its source, within the bounds.
func FuzzTokenize(f *testing.F) {
	f.Add([]byte("Subject: hi\r\nFrom: \"A\" <a@b.example>\r\n\r\nhello world http://x.example/\r\n"))
	f.Add([]byte("Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/html; charset=koi8-r\r\n" +
		"Content-Transfer-Encoding: quoted-printable\r\n\r\n<a href=3D\"http://y.example\">=F0=D2=C9</a>\r\n--b--\r\n"))
	f.Add([]byte("Content-Type: text/plain; charset=utf-16\r\nContent-Transfer-Encoding: base64\r\n\r\n//5oAGkA\r\n"))
	f.Add([]byte("Content-Type: multipart/alternative; boundary=\"\"\r\n\r\n--\r\n\r\n"))
	f.Add([]byte("Received: from a.b (c.d [1.2.3.4]) by e\r\nMessage-ID: <@>\r\nTo: ,,,<>\r\n\r\n"))
	f.Add([]byte("From x\n>From y\n\n\xff\xfe免费 www.\xff.com"))
	f.Fuzz(func(t *testing.T, msg []byte) {
		tokens := Tokenize(msg)
		if len(tokens) > maxTokens {
			t.Fatalf("%d tokens, limit %d", len(tokens), maxTokens)
		}
		seen := make(map[string]bool, len(tokens))
		for _, tok := range tokens {
			if seen[tok] {
				t.Fatalf("token %q twice", tok)
			}
			seen[tok] = true
			if len(tok) > maxTokenBytes {
				t.Fatalf("token of %d bytes: %q", len(tok), tok)
			}
			if i := strings.IndexByte(tok, ':'); i <= 0 {
				t.Fatalf("token %q has no source prefix", tok)
			}
		}
	})
}
