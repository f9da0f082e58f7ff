package urls_test

import (
	"strings"
	"testing"

	"github.com/gatewatch/gatewatch/pipeline/antispam/urls"
)

func FuzzExtract(f *testing.F) {
	for _, s := range []string{
		"see http://example.com/x. thanks",
		"https://user:pw@www.Example.com:8443/p?q=http%3A%2F%2Fevil.test",
		"http://bücher.example/ http://3232235777/ http://0xC0A80001/ http://[::1]/",
		"hxxp://evil[.]test/ www(dot)evil(dot)com evil . com . Then",
		"https://www.google.com/url?q=http://evil.test/&sa=D example.com/x",
		`<a href="&#x68;ttp://evil.test/">www.paypal.com</a><img src="//cdn.test/x">`,
		"<p>http://ev<b></b>il.test/</p><a href=\"ht\ntp://x.test\">y.com",
		"http://%31%32%37.0.0.1/ http://evil。test/ http://a_b.c.test/",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		lim := urls.Limits{MaxHosts: 50}
		check(t, "FromText", urls.FromText(s, lim), lim)
		hosts, mismatches := urls.FromHTML(s, lim)
		check(t, "FromHTML", hosts, lim)
		if len(mismatches) > lim.MaxHosts {
			t.Errorf("%d mismatches", len(mismatches))
		}
		for _, m := range mismatches {
			if m.Shown == "" || m.Target == "" {
				t.Errorf("empty mismatch %+v", m)
			}
		}
	})
}

func check(t *testing.T, fn string, hosts []urls.Host, lim urls.Limits) {
	t.Helper()
	if len(hosts) > lim.MaxHosts {
		t.Errorf("%s: %d hosts", fn, len(hosts))
	}
	seen := map[string]bool{}
	for _, h := range hosts {
		switch {
		case h.Name == "":
			t.Errorf("%s: empty name %+v", fn, h)
		case h.Name != strings.ToLower(h.Name):
			t.Errorf("%s: not lower-case %+v", fn, h)
		case strings.ContainsFunc(h.Name, func(r rune) bool { return r <= ' ' || r >= 0x7f }):
			t.Errorf("%s: space, control or non-ASCII in %+v", fn, h)
		case len(h.Name) > 253:
			t.Errorf("%s: too long %+v", fn, h)
		case h.Domain != "" && h.Name != h.Domain && !strings.HasSuffix(h.Name, "."+h.Domain):
			t.Errorf("%s: domain not a suffix of the name %+v", fn, h)
		case h.IP.IsValid() && (h.Name != h.IP.String() || h.Domain != ""):
			t.Errorf("%s: IP host %+v", fn, h)
		case !h.IP.IsValid() && !strings.Contains(h.Name, "."):
			t.Errorf("%s: no dot in %+v", fn, h)
		case seen[h.Name]:
			t.Errorf("%s: duplicate %+v", fn, h)
		}
		seen[h.Name] = true
		switch h.Via {
		case "text", "href", "src", "redirect", "deobfuscated":
		default:
			t.Errorf("%s: via %q", fn, h.Via)
		}
	}
}
