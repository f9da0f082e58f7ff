package urls_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/gatewatch/gatewatch/pipeline/antispam/urls"
)

const tenMB = 10 << 20

// manyHosts is n bytes or more of distinct links.
func manyHosts(n int) string {
	var b strings.Builder
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, "http://h%d.example.test/?u=http%%3A%%2F%%2Fr%d.example.test%%2F\n", i, i)
	}
	return b.String()
}

// hostAfter is filler of n bytes, prose with no links, then one link.
func hostAfter(n int, link string) string {
	const line = "The quick brown fox jumps over the lazy dog, e.g. twice. It was 1.5 times faster.\n"
	return strings.Repeat(line, n/len(line)+1) + link
}

func TestMaxHosts(t *testing.T) {
	in := manyHosts(tenMB)
	for _, lim := range []urls.Limits{{}, {MaxHosts: 7}, {MaxHosts: -1}} {
		max := lim.MaxHosts
		if max <= 0 {
			max = 200
		}
		hosts := urls.FromText(in, lim)
		if len(hosts) != max {
			t.Errorf("FromText with %+v: %d hosts, want %d", lim, len(hosts), max)
		}
		hosts, _ = urls.FromHTML("<p>"+in, lim)
		if len(hosts) != max {
			t.Errorf("FromHTML with %+v: %d hosts, want %d", lim, len(hosts), max)
		}
	}
}

func TestMaxBytes(t *testing.T) {
	in := hostAfter(tenMB, "http://late.test/")
	if hosts := urls.FromText(in, urls.Limits{}); len(hosts) != 0 {
		t.Errorf("FromText read past 1 MiB: %+v", hosts)
	}
	if hosts, _ := urls.FromHTML(in, urls.Limits{}); len(hosts) != 0 {
		t.Errorf("FromHTML read past 1 MiB: %+v", hosts)
	}
	// The same link inside the default limit is found, so the one above
	// was missed because of the limit and not because of the filler.
	early := hostAfter(1<<20-1000, "http://late.test/")
	if hosts := urls.FromText(early, urls.Limits{}); len(hosts) != 1 {
		t.Errorf("FromText missed a link inside 1 MiB: %+v", hosts)
	}
	if hosts, _ := urls.FromHTML(early, urls.Limits{}); len(hosts) != 1 {
		t.Errorf("FromHTML missed a link inside 1 MiB: %+v", hosts)
	}
}

func TestSmallMaxBytes(t *testing.T) {
	in := "http://a.test/ http://b.test/"
	lim := urls.Limits{MaxBytes: len("http://a.test/ ")}
	expectHosts(t, in, urls.FromText(in, lim), []string{"a.test text"})
	hosts, _ := urls.FromHTML(in, lim)
	expectHosts(t, in, hosts, []string{"a.test text"})
	// A cut inside a multi-byte rune must not leave half of it behind.
	in = "http://bü.example/"
	hosts = urls.FromText(in, urls.Limits{MaxBytes: strings.Index(in, "ü") + 1})
	if len(hosts) != 0 {
		t.Errorf("cut rune: %+v", hosts)
	}
}

func TestMismatchesBounded(t *testing.T) {
	var b strings.Builder
	for i := range 500 {
		fmt.Fprintf(&b, `<a href="http://t%d.evil.test/">shown%d.com</a>`, i, i)
	}
	_, mm := urls.FromHTML(b.String(), urls.Limits{MaxHosts: 10})
	if len(mm) != 10 {
		t.Errorf("%d mismatches, want 10", len(mm))
	}
}
