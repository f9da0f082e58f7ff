package urls

import (
	"slices"
	"testing"
)

func TestUndot(t *testing.T) {
	for _, tc := range []struct {
		raw  string
		want []spelling
	}{
		{"evil.com", []spelling{{"evil.com", false}}},
		{"evil[.]com", []spelling{{"evil.com", true}}},
		{"evil(.)com", []spelling{{"evil.com", true}}},
		{"evil{.}com", []spelling{{"evil.com", true}}},
		{"evil [dot] com", []spelling{{"evil.com", true}}},
		{"evil(DOT)com", []spelling{{"evil.com", true}}},
		{"evil{dot}com", []spelling{{"evil.com", true}}},
		{"evil . com", []spelling{{"evil", false}, {"evil.com", true}}},
		{"www . evil . com . Then", []spelling{{"www", false}, {"www.evil.com", true}}},
		{"example.com . Then", []spelling{{"example.com", false}}},
		// " . It" after a link must not take the link's host away.
		{"example.com . It", []spelling{{"example.com", false}, {"example.com.It", true}}},
		{"sub[.]evil.test . Then", []spelling{{"sub.evil.test", true}}},
	} {
		if got := undot(tc.raw); !slices.Equal(got, tc.want) {
			t.Errorf("undot(%q) = %+v, want %+v", tc.raw, got, tc.want)
		}
	}
}
