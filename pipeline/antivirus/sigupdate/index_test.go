package sigupdate

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
	"testing"
)

func TestParseIndex(t *testing.T) {
	sum := strings.Repeat("ab", 32)
	got, err := ParseIndex(strings.NewReader("# a comment\n\nmain.hdb\r\n  daily.hsb " + strings.ToUpper(sum) + "  \n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Name != "main.hdb" || got[0].SHA256 != nil ||
		got[1].Name != "daily.hsb" || fmt.Sprintf("%x", got[1].SHA256) != sum {
		t.Errorf("got %+v", got)
	}
}

func TestParseIndexErrors(t *testing.T) {
	sum := strings.Repeat("0f", 32)
	for _, tc := range []struct{ index, want string }{
		{"ok.hdb\n../x.hdb\n", "index line 2: "},
		{"a/b.hdb\n", "index line 1: "},
		{"/etc/x.hdb\n", "index line 1: "},
		{"..hdb\n", "index line 1: "},
		{".hidden.hdb\n", "index line 1: "},
		{"# c\nx.ndb\n", "index line 2: "},
		{"x.hdb.gz\n", "index line 1: "},
		{"x.HDB\n", "index line 1: "},
		{strings.Repeat("a", 129) + ".hdb\n", "index line 1: "},
		{"x.hdb " + sum[:63] + "\n", "index line 1: "},
		{"x.hdb " + sum[:62] + "zz\n", "index line 1: "},
		{"x.hdb " + sum[:62] + "\n", "index line 1: "}, // a SHA-1 is not a SHA-256
		{"x.hdb " + sum + " extra\n", "index line 1: "},
		{"x.hdb\n\ny.hsb\nx.hdb\n", "index line 4: x.hdb is already listed on line 1"},
		{"", "no signature files"},
		{"# only\n\n   \n", "no signature files"},
		{"x.hdb\n\xff.hdb\n", "index line 2: not UTF-8"},
		{"x.hdb\n" + strings.Repeat("#", 70000) + "\n", "index line 2: longer than"},
	} {
		_, err := ParseIndex(strings.NewReader(tc.index))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseIndex(%.40q): %v, want an error with %q", tc.index, err, tc.want)
		}
	}
}

func TestParseIndexTooMany(t *testing.T) {
	var b bytes.Buffer
	for i := range maxIndexEntries {
		fmt.Fprintf(&b, "f%d.hdb\n", i)
	}
	if got, err := ParseIndex(bytes.NewReader(b.Bytes())); err != nil || len(got) != maxIndexEntries {
		t.Fatalf("%d entries: %d, %v", maxIndexEntries, len(got), err)
	}
	b.WriteString("# comment\nlast.hdb\n")
	want := fmt.Sprintf("index line %d: more than %d entries", maxIndexEntries+2, maxIndexEntries)
	if _, err := ParseIndex(&b); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("%d entries: %v, want %q", maxIndexEntries+1, err, want)
	}
}

// specName is the name rule as the format states it, kept apart from the
// package's own pattern so that a mistake there shows here.
var specName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}\.(hdb|hsb)$`)

func FuzzParseIndex(f *testing.F) {
	for _, s := range []string{
		"main.hdb\n",
		"# c\n\nmain.hdb " + strings.Repeat("ab", 32) + "\ndaily.hsb\n",
		"../x.hdb\n",
		"a/b.hdb\n",
		"x.hdb\nx.hdb\n",
		"x.hdb zz\n",
		"A-b_c.d.hsb\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		entries, err := ParseIndex(bytes.NewReader(data))
		if err != nil {
			if entries != nil {
				t.Errorf("entries %v with error %v", entries, err)
			}
			return
		}
		if len(entries) == 0 || len(entries) > maxIndexEntries {
			t.Errorf("accepted %d entries", len(entries))
		}
		seen := map[string]bool{}
		for _, e := range entries {
			if !specName.MatchString(e.Name) || strings.ContainsAny(e.Name, "/\\\x00") || strings.HasPrefix(e.Name, ".") {
				t.Errorf("accepted name %q", e.Name)
			}
			if seen[e.Name] {
				t.Errorf("accepted %q twice", e.Name)
			}
			seen[e.Name] = true
			if e.SHA256 != nil && len(e.SHA256) != 32 {
				t.Errorf("%s: digest of %d bytes", e.Name, len(e.SHA256))
			}
		}
	})
}
