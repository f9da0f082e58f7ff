package urls_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/gatewatch/gatewatch/pipeline/antispam/urls"
)

func TestFromText(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     []string
	}{
		{"plain", "see http://example.com/x. thanks", []string{"example.com text"}},
		{"https port userinfo", "https://user:pw@www.example.com:8443/p?q=1", []string{"www.example.com text"}},
		{"userinfo hides host", "http://paypal.com@evil.test/login", []string{"evil.test text"}},
		{"userinfo last at", "http://a@paypal.com@evil.test/", []string{"evil.test text"}},
		{"uppercase", "HTTP://WWW.EXAMPLE.COM/INDEX", []string{"www.example.com text"}},
		{"idn", "http://bücher.example/", []string{"xn--bcher-kva.example text"}},
		{"idn uppercase", "http://BÜCHER.example/", []string{"xn--bcher-kva.example text"}},
		{"percent host", "http://ev%69l.test/", []string{"evil.test text"}},
		{"ideographic dot", "http://evil。test/ http://evil2．test/", []string{"evil.test text", "evil2.test text"}},
		{"backslashes", `http:\\evil.test\x`, []string{"evil.test text"}},
		{"underscore", "http://a_b.evil.test/", []string{"a_b.evil.test text"}},
		{"trailing punctuation", "(see http://evil.test).", []string{"evil.test text"}},
		{"ftp", "ftp://files.example.net/pub", []string{"files.example.net text"}},
		{"ip decimal", "http://3232235777/", []string{"192.168.1.1 text"}},
		{"ip hex", "http://0xC0A80001/", []string{"192.168.0.1 text"}},
		{"ip octal", "http://030052000401/", []string{"192.168.1.1 text"}},
		{"ip dotted octal hex", "http://0300.0xA8.0.1/", []string{"192.168.0.1 text"}},
		{"ip dotted port", "http://10.0.0.1:8080/x", []string{"10.0.0.1 text"}},
		{"ip short form", "http://192.168.257/", []string{"192.168.1.1 text"}},
		{"ipv6", "http://[2001:DB8::1]:80/", []string{"2001:db8::1 text"}},
		{"ipv4 mapped", "http://[::ffff:10.1.2.3]/", []string{"10.1.2.3 text"}},
		{"not an ip", "http://1.2.3.4.5/ http://256.1.1.1/ http://4294967296/ http://08.1.1.1/", nil},
		{"no dot", "http://localhost/ http://intranet:8080/", nil},
		{"hxxp", "hxxp://evil.test/x", []string{"evil.test deobfuscated"}},
		{"hXXps bracket dot", "hXXps://evil[.]test/x", []string{"evil.test deobfuscated"}},
		{"bracket colon", "http[:]//evil.test/", []string{"evil.test deobfuscated"}},
		{"bare bracket dot", "go to evil[.]com now", []string{"evil.com deobfuscated"}},
		{"bare paren dot word", "www(dot)evil(dot)com", []string{"www.evil.com deobfuscated"}},
		{"spaced bracket dot word", "evil [dot] com", []string{"evil.com deobfuscated"}},
		{"spaced dots", "visit evil . com . Then leave", []string{"evil.com deobfuscated"}},
		{"spaced dot after link", "see http://evil.com . It works", []string{"evil.com text", "evil.com.it deobfuscated"}},
		{"defanged needs real tld", "evil[.]png", nil},
		{"host too long to be one", "http://" + strings.Repeat("a[.]", 300) + "com/", nil},
		{"www bare", "visit www.example.test today", []string{"www.example.test text"}},
		{"bare with path", "example.com/x and foo.blogspot.com/y", []string{"example.com text", "foo.blogspot.com text"}},
		{"bare without path", "Have you seen example.com? mail bob@example.org", nil},
		{"file names", "image.png and image.png/x and README.md and setup.py", nil},
		{"prose dots", "the dot com boom; a polka (dot) shirt; e.g. this. It was 1.5/2", nil},
		{"redirect encoded", "http://r.test/?url=http%3A%2F%2Fevil.test%2Fx", []string{"r.test text", "evil.test redirect"}},
		{"redirect plain", "https://www.google.com/url?q=http://evil.test/&sa=D", []string{"www.google.com text", "evil.test redirect"}},
		{"redirect in path", "http://r.test/go/https://evil.test/x", []string{"r.test text", "evil.test redirect"}},
		{"redirect path encoded", "http://r.test/go/https%3A%2F%2Fevil.test%2F", []string{"r.test text", "evil.test redirect"}},
		{"redirect double encoded", "http://r.test/?u=http%253A%252F%252Fevil.test", []string{"r.test text", "evil.test redirect"}},
		{"redirect www", "http://r.test/?u=www.evil.test", []string{"r.test text", "www.evil.test redirect"}},
		{"redirect siblings", "http://r.test/?a=http://a.test/&b=http://b.test/&c=http://c.test/&d=http://d.test/",
			[]string{"r.test text", "a.test redirect", "b.test redirect", "c.test redirect", "d.test redirect"}},
		{"redirect under bare host", "r.example.com/out?u=http%3A%2F%2Fevil.test", []string{"r.example.com text", "evil.test redirect"}},
		{"dedup keeps first", "hxxp://a.test/ http://A.TEST/ http://a.test/?u=http://a.test", []string{"a.test deobfuscated"}},
		{"several", "http://one.test/ then\nwww.two.test and three.com/x", []string{"one.test text", "www.two.test text", "three.com text"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			expectHosts(t, tc.in, urls.FromText(tc.in, urls.Limits{}), tc.want)
		})
	}
}

func TestFromTextFields(t *testing.T) {
	hosts := urls.FromText("http://www.Example.co.uk/ http://3232235777/ http://co.uk/", urls.Limits{})
	if len(hosts) != 3 {
		t.Fatalf("got %+v", hosts)
	}
	if h := hosts[0]; h.Name != "www.example.co.uk" || h.Domain != "example.co.uk" || h.IP.IsValid() {
		t.Errorf("domain host: %+v", h)
	}
	if h := hosts[1]; h.Domain != "" || !h.IP.IsValid() || h.IP.String() != "192.168.1.1" {
		t.Errorf("ip host: %+v", h)
	}
	if h := hosts[2]; h.Name != "co.uk" || h.Domain != "" {
		t.Errorf("a public suffix has no registrable domain: %+v", h)
	}
}

// Each level of a redirector inside a redirector is followed, three deep and
// no further.
func TestRedirectDepth(t *testing.T) {
	u := "http://l5.test/"
	for i := 4; i >= 0; i-- {
		u = "http://l" + string(rune('0'+i)) + ".test/?u=" + url.QueryEscape(u)
	}
	expectHosts(t, u, urls.FromText(u, urls.Limits{}),
		[]string{"l0.test text", "l1.test redirect", "l2.test redirect", "l3.test redirect"})
}
