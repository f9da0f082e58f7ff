package urls_test

import (
	"slices"
	"testing"

	"github.com/gatewatch/gatewatch/pipeline/antispam/urls"
)

func TestFromHTML(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     []string
	}{
		{"href", `<a href="http://evil.test/login">Log in</a>`, []string{"evil.test href"}},
		{"area and form", `<map><area href="http://area.test/"></map><form action="https://post.test/x"></form>`,
			[]string{"area.test href", "post.test href"}},
		{"img src", `<p><img src="http://img.test/a.png" alt="x"></p>`, []string{"img.test src"}},
		{"background", `<td background="http://bg.test/b.gif">x</td>`, []string{"bg.test src"}},
		{"entity in href", `<a href="&#x68;ttp://evil.test/">x</a>`, []string{"evil.test href"}},
		{"named entities", `<a href="http://r.test/?a=1&amp;u=http%3A%2F%2Fevil.test">x</a>`, []string{"r.test href", "evil.test redirect"}},
		{"entity in text", `<p>&#x68;ttp://text.test/ and www&#46;two.test</p>`, []string{"text.test text", "www.two.test text"}},
		{"protocol relative", `<img src="//cdn.test/x.png">`, []string{"cdn.test src"}},
		{"href with line breaks", "<a href=\" ht\ntp://evil.test/\">x</a>", []string{"evil.test href"}},
		{"relative and mailto", `<a href="/local/page.html">a</a><a href="page.html">b</a><a href="mailto:bob@evil.test">c</a>`, nil},
		{"inline tags join", `<p>http://ev<b></b>il.test/ and http://split<!-- x -->.test/</p>`, []string{"evil.test text", "split.test text"}},
		{"block tags separate", `<p>see foo</p><p>bar.com/x</p><div>baz</div>.com/y`, []string{"bar.com text"}},
		{"script and style text", `<style>body{background:url(http://css.test/i.png)}</style>`, []string{"css.test text"}},
		{"defanged text", `<p>hxxp://evil[.]test/</p>`, []string{"evil.test deobfuscated"}},
		// The text is scanned after the tags, so a host in both keeps "href".
		{"href first", `<p>http://same.test/</p><a href="http://same.test/">x</a>`, []string{"same.test href"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hosts, _ := urls.FromHTML(tc.in, urls.Limits{})
			expectHosts(t, tc.in, hosts, tc.want)
		})
	}
}

func TestFromHTMLMismatch(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     []urls.Mismatch
	}{
		{"shown domain differs", `<a href="http://evil.test/login">www.paypal.com</a>`,
			[]urls.Mismatch{{Shown: "www.paypal.com", Target: "evil.test"}}},
		{"shown url differs", `<a href="http://198.51.100.7/">https://bank.example.com/login</a>`,
			[]urls.Mismatch{{Shown: "bank.example.com", Target: "198.51.100.7"}}},
		{"text across inline tags", `<a href="http://evil.test/"><b>paypal</b>.com</a>`,
			[]urls.Mismatch{{Shown: "paypal.com", Target: "evil.test"}}},
		{"same registrable domain", `<a href="https://www.paypal.com/x">paypal.com</a>`, nil},
		{"no host in text", `<a href="http://evil.test/">Click here</a>`, nil},
		{"file name in text", `<a href="http://evil.test/">report.pdf</a>`, nil},
		{"tracker to the shown site", `<a href="http://click.tracker.test/?u=https%3A%2F%2Fshop.example.com%2F">shop.example.com</a>`, nil},
		{"relative href", `<a href="/x">paypal.com</a>`, nil},
		{"reported once", `<a href="http://evil.test/">paypal.com</a> <a href="http://evil.test/">paypal.com</a>`,
			[]urls.Mismatch{{Shown: "paypal.com", Target: "evil.test"}}},
		{"unclosed anchors", `<a href="http://one.test/">paypal.com<a href="http://two.test/">two.test`,
			[]urls.Mismatch{{Shown: "paypal.com", Target: "one.test"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, got := urls.FromHTML(tc.in, urls.Limits{})
			if !slices.Equal(got, tc.want) {
				t.Errorf("%q: got %+v, want %+v", tc.in, got, tc.want)
			}
		})
	}
}
