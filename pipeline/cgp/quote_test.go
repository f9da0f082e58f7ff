package cgp

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestQuote(t *testing.T) {
	for in, want := range map[string]string{
		"":           `""`,
		"plain":      `"plain"`,
		`a"b`:        `"a\"b"`,
		`a\b`:        `"a\\b"`,
		"a\nb":       `"a\eb"`,
		"a\tb":       `"a\tb"`,
		"a\rb\x00c":  `"a b c"`,
		"é日本":        `"é日本"`,
		"bad\xffutf": "\"bad\uFFFDutf\"",
	} {
		if got := quote(in); got != want {
			t.Errorf("quote(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestTextArg(t *testing.T) {
	for in, want := range map[string]string{
		"spam":           "spam",
		"Spam42":         "Spam42",
		"two words":      `"two words"`,
		"a.b":            `"a.b"`,
		"":               `""`,
		"x\r\n\r\ny":     `"x y"`,
		"  lead trail  ": `"lead trail"`,
		"tab\there":      `"tab here"`,
		"nl\u2028sep":    `"nl sep"`,
		`q"uote\back`:    `"q\"uote\\back"`,
	} {
		if got := textArg(in, 100); got != want {
			t.Errorf("textArg(%q) = %q, want %q", in, got, want)
		}
	}
	got := textArg(strings.Repeat("é", 100), 20)
	if len(got) > 20 || !strings.HasSuffix(got, `..."`) || !utf8.ValidString(got) {
		t.Errorf("cut text %q", got)
	}
}

func TestUnquoteRoundTrip(t *testing.T) {
	for _, s := range []string{"", "x", `a"b\c`, "line\nbreak", "tab\t", "日本"} {
		q := quote(s)
		got, rest, err := unquote(q + " tail")
		if err != nil || got != s || rest != " tail" {
			t.Errorf("unquote(quote(%q)) = %q, %q, %v", s, got, rest, err)
		}
	}
}
