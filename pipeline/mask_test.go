package pipeline_test

import (
	"strings"
	"testing"

	"github.com/gatewatch/gatewatch/pipeline"
)

func TestMask(t *testing.T) {
	for _, tc := range []struct {
		pattern, addr string
		want          bool
	}{
		{"*", "anyone@anywhere.test", true},
		{"*", "", true},
		{"*@example.test", "Alice@Example.TEST", true},
		{"*@example.test", "alice@sub.example.test", false},
		{"user@*.example.test", "user@a.b.example.test", true},
		{"user@*.example.test", "user@example.test", false},
		{"example.test", "bob@example.test", true},
		{"example.test", "bob@example.test.", true},
		{"example.test", "bob@notexample.test", false},
		{"*.example.test", "bob@mx.example.test", true},
		{"*.example.test", "bob@example.test", false},
		{"a?c@x.test", "abc@x.test", true},
		{"a?c@x.test", "ac@x.test", false},
		{"*/*@x.test", "dept/alice@x.test", true},
		{"*a*b*@x.test", "xxaxxbxx@x.test", true},
		{"*a*b*@x.test", "xxbxxaxx@x.test", false},
		{"example.test", "", false},
		{"*", "*0000000", true},
		{"?@ü.test", "é@ü.test", true},
		{"??@ü.test", "é@ü.test", false},
	} {
		m, err := pipeline.CompileMask(tc.pattern)
		if err != nil {
			t.Fatalf("%q: %v", tc.pattern, err)
		}
		if got := m.Match(tc.addr); got != tc.want {
			t.Errorf("%q matches %q: %v, want %v", tc.pattern, tc.addr, got, tc.want)
		}
	}
	for _, bad := range []string{"", "a b@x", "a@b@c", "x\n@y"} {
		if _, err := pipeline.CompileMask(bad); err == nil {
			t.Errorf("pattern %q accepted", bad)
		}
	}
}

func FuzzMask(f *testing.F) {
	f.Add("*a*b?@x.test", "zzaqbq@x.test")
	f.Add("*", "*0000000")
	f.Add("?@ü.test", "é@ü.test")
	f.Fuzz(func(t *testing.T, pattern, addr string) {
		m, err := pipeline.CompileMask(pattern)
		if err != nil {
			return
		}
		_ = m.Match(addr) // must terminate without panicking
		if pattern == "*" && !m.Match(addr) {
			t.Fatal("* did not match")
		}
		// A pattern with an @ matches the address it was written from.
		if strings.Count(addr, "@") == 1 && !strings.ContainsAny(addr, "*?") {
			if lit, err := pipeline.CompileMask(addr); err == nil && !lit.Match(addr) {
				t.Fatalf("%q does not match itself", addr)
			}
		}
	})
}
