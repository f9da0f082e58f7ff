package urls

import (
	"slices"
	"testing"
)

// naiveLinks runs the pattern over the whole text, which is what the
// windows must reproduce while reading less of it.
func naiveLinks(s string) []link {
	var out []link
	for s != "" {
		m := textLinkRe.FindStringSubmatchIndex(s)
		if m == nil {
			break
		}
		out = append(out, linkAt(s, m))
		s = s[m[1]:]
	}
	return out
}

var windowSeeds = []string{
	"see http://example.com/x. thanks",
	"evil [.] com and www (dot) evil (dot) com",
	"visit evil . com . Then leave",
	"a . b . c [.] d(.)e {dot} f",
	"x.y [.] z and hxxp://a [.] b/c",
	"http://user:pw@host.test:80/p?q=http%3A%2F%2Fx.test",
	"line one.two\nthree . four\r\nfive[.]six",
	"http://evil。test/ ev．il.test",
	"foo) bar.baz (qux) [dot] com",
	"http:\\\\evil.test\\x a.b.c.d.e",
	"e.g. i.e. 1.5 ... .. . [d [. (d",
}

func TestWindowsMatchWholeText(t *testing.T) {
	for _, s := range windowSeeds {
		if got, want := slices.Collect(links(s)), naiveLinks(s); !slices.Equal(got, want) {
			t.Errorf("%q:\n got %+v\nwant %+v", s, got, want)
		}
	}
}

func FuzzWindows(f *testing.F) {
	for _, s := range windowSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := slices.Collect(links(s)), naiveLinks(s); !slices.Equal(got, want) {
			t.Errorf("%q:\n got %+v\nwant %+v", s, got, want)
		}
	})
}
