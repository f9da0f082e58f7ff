package bayes

import (
	"encoding/base64"
	"slices"
	"strings"
	"testing"
	"time"
)

// crlf turns a readable test message into wire form.
func crlf(s string) []byte {
	return []byte(strings.ReplaceAll(s, "\n", "\r\n"))
}

func wantTokens(t *testing.T, got []string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !slices.Contains(got, w) {
			t.Errorf("token %q missing from %q", w, got)
		}
	}
}

func refuseTokens(t *testing.T, got []string, refused ...string) {
	t.Helper()
	for _, r := range refused {
		if slices.Contains(got, r) {
			t.Errorf("token %q should not be there: %q", r, got)
		}
	}
}

func TestTokenizeMultipartBase64HTML(t *testing.T) {
	html := `<html><head><style>.hiddenstyle { color: red }</style></head><body>
<p>Unbeatable BARGAIN prices</p><a href="http://deals.example.com/buy?id=1">click</a>
<img src="https://img.example.net/a.png"><script>var hiddenscript = 1;</script>
<p>V<b></b>IAGRA</p><a href="mailto:sales@shop.example.org?subject=x">mail</a>
</body></html>`
	encoded := base64.StdEncoding.EncodeToString([]byte(html))
	var wrapped strings.Builder
	for len(encoded) > 76 {
		wrapped.WriteString(encoded[:76] + "\n")
		encoded = encoded[76:]
	}
	wrapped.WriteString(encoded + "\n")
	msg := crlf(`From: "Best Deals" <offers@deals.example.com>
To: someone@example.org
Subject: =?utf-8?q?Gro=C3=9Fe_Preise!!!?=
Message-ID: <abc@mailer.example.com>
X-Mailer: MassMail Pro 5.0
Received: from relay.sender.example.net (relay.sender.example.net [192.0.2.7])
	by mx.example.org (Postfix) with ESMTP id 1234
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="XYZ"

--XYZ
Content-Type: text/plain; charset=iso-8859-1
Content-Transfer-Encoding: quoted-printable

Caf=E9 prices, see www.plain.example.com/offer
--XYZ
Content-Type: text/html; charset=utf-8
Content-Transfer-Encoding: base64

` + wrapped.String() + `--XYZ--
`)
	got := Tokenize(msg)
	wantTokens(t, got,
		"body:unbeatable", "body:bargain", "body:prices", "body:viagra", "body:café",
		"url:deals.example.com", "url:dom:example.com", "url:img.example.net", "url:dom:example.net",
		"url:www.plain.example.com", "email:dom:shop.example.org",
		"subject:Große", "subject:Preise", "subject:!!!",
		"from:name:best", "from:name:deals", "from:dom:deals.example.com", "to:noname", "to:dom:example.org",
		"msgid:dom:mailer.example.com", "x-mailer:massmail", "received:example.net",
		"hdr:received:1", "hdr:in-reply-to:0",
		"ct:multipart/alternative", "part:text/html", "part:cte:base64", "part:charset:iso-8859-1")
	refuseTokens(t, got, "body:hiddenscript", "body:hiddenstyle", "body:var", "body:color")
}

func TestTokenizeDistinctAndBounded(t *testing.T) {
	msg := crlf("Subject: hello hello\n\nspam spam spam eggs eggs\n")
	got := Tokenize(msg)
	seen := map[string]bool{}
	for _, tok := range got {
		if seen[tok] {
			t.Errorf("token %q returned twice", tok)
		}
		seen[tok] = true
	}
	wantTokens(t, got, "subject:hello", "body:spam", "body:eggs")
}

// A sender controls the size and shape of a message; none of it may make
// Tokenize slow or its result large.
func TestTokenizeHugeMessages(t *testing.T) {
	words := func(n int) string {
		var b strings.Builder
		for i := 0; b.Len() < n; i++ {
			b.WriteString("w")
			b.WriteString(strings.Repeat(string(rune('a'+i%26)), 1+i%7))
			b.WriteString(base26(i))
			b.WriteByte(' ')
		}
		return b.String()
	}
	const size = 20 << 20
	cases := map[string][]byte{
		"distinct words":         []byte("Subject: big\r\n\r\n" + words(size)),
		"late text after filler": []byte("Subject: big\r\n\r\n" + strings.Repeat("filler ", size/7) + "lateword\r\n"),
		"huge attachment then text": []byte("Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n" +
			"Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
			strings.Repeat("QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB\r\n", size/74) +
			"--b\r\nContent-Type: text/plain\r\n\r\ntrailing words here\r\n--b--\r\n"),
		"header only":  []byte(strings.Repeat("X-Junk: "+strings.Repeat("j", 900)+"\r\n", size/910)),
		"deep nesting": nested(size),
	}
	for name, msg := range cases {
		t.Run(name, func(t *testing.T) {
			start := time.Now()
			got := Tokenize(msg)
			elapsed := time.Since(start)
			if len(got) > maxTokens {
				t.Errorf("%d tokens, limit %d", len(got), maxTokens)
			}
			// Generous, to hold under -race on a loaded machine; an
			// unbounded tokenizer takes minutes on these inputs.
			if elapsed > 15*time.Second {
				t.Errorf("took %v", elapsed)
			}
			t.Logf("%d tokens in %v", len(got), elapsed)
		})
	}
	if got := Tokenize(cases["distinct words"]); len(got) != maxTokens {
		t.Errorf("distinct words: %d tokens, want the limit %d", len(got), maxTokens)
	}
	refuseTokens(t, Tokenize(cases["late text after filler"]), "body:lateword")
	wantTokens(t, Tokenize(cases["huge attachment then text"]), "body:trailing", "part:application/octet-stream")
}

func base26(i int) string {
	var b []byte
	for {
		b = append(b, byte('a'+i%26))
		i /= 26
		if i == 0 {
			return string(b)
		}
	}
}

// nested is a multipart message nested as deep as size allows.
func nested(size int) []byte {
	var b strings.Builder
	b.WriteString("Content-Type: multipart/mixed; boundary=b0\r\n\r\n")
	for i := 1; b.Len() < size/2; i++ {
		b.WriteString("--b" + base26(i-1) + "\r\nContent-Type: multipart/mixed; boundary=b" + base26(i) + "\r\n\r\n")
	}
	return []byte(b.String())
}

func TestTokenizeMalformed(t *testing.T) {
	cases := map[string]string{
		"no body":             "Subject: only a header\r\nFrom: x@y.example\r\n",
		"no header":           "\r\njust a body with words\r\n",
		"mbox line and junk":  "From someone Tue Aug  6 11:51:02 2002\nnot a header line\nSubject: still read\n\nbody words\n",
		"bad content type":    "Content-Type: text/html; charset\r\n\r\n<p>para words</p>",
		"bad encoding":        "Content-Type: text/plain\r\nContent-Transfer-Encoding: x-rot13\r\n\r\nsome words\r\n",
		"unknown charset":     "Content-Type: text/plain; charset=x-unheard-of\r\n\r\nsome words\r\n",
		"unterminated multi":  "Content-Type: multipart/mixed; boundary=q\r\n\r\n--q\r\nContent-Type: text/plain\r\n\r\nopen part",
		"bad address":         "From: <<<@@@>>> \"unclosed\r\nTo: ,,,\r\n\r\nx\r\n",
		"invalid utf-8":       "Subject: \xff\xfe\xfd\r\n\r\n\xc3\x28 \xa0\xa1 words\r\n",
		"empty":               "",
		"url with bad host":   "\r\nhttp://%77%77%77.example.com/ http://[::1]:80/ http://192.0.2.1/x\r\n",
		"encoded-word broken": "Subject: =?utf-8?b?!!!?=\r\n\r\n",
	}
	for name, msg := range cases {
		t.Run(name, func(t *testing.T) {
			got := Tokenize([]byte(msg))
			if name != "empty" && len(got) == 0 {
				t.Errorf("no tokens from %q", msg)
			}
		})
	}
	wantTokens(t, Tokenize([]byte(cases["mbox line and junk"])), "subject:still", "body:body", "body:words")
	wantTokens(t, Tokenize([]byte(cases["bad content type"])), "body:para")
	wantTokens(t, Tokenize([]byte(cases["unknown charset"])), "ct:unknown-charset", "body:some")
	wantTokens(t, Tokenize([]byte(cases["url with bad host"])), "url:odd", "url:ip")
	wantTokens(t, Tokenize([]byte(cases["unterminated multi"])), "body:open", "body:part")
}

func TestTokenizeCJK(t *testing.T) {
	msg := crlf("Content-Type: text/plain; charset=utf-8\n\n免费赠送\n")
	wantTokens(t, Tokenize(msg), "body:免费", "body:费赠", "body:赠送")
}

func TestTokenizeLinks(t *testing.T) {
	msg := crlf("\nsee http://user@Shop.Example.COM:8080/cgi-bin/Remove.php?id=7 and http://[2001:db8::1]/x\n")
	got := Tokenize(msg)
	wantTokens(t, got, "url:shop.example.com", "url:dom:example.com", "url:path:cgi-bin", "url:path:remove",
		"url:path:php", "url:path:id", "url:ip")
	refuseTokens(t, got, "url:path:7", "url:odd")
}
