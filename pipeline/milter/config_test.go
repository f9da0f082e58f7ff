package milter

import (
	"strings"
	"testing"
	"time"
)

func TestListenAddr(t *testing.T) {
	for in, want := range map[string]string{
		"inet:127.0.0.1:8891": "tcp 127.0.0.1:8891",
		"127.0.0.1:8891":      "tcp 127.0.0.1:8891",
		"unix:/run/gw.sock":   "unix /run/gw.sock",
		"[::1]:8891":          "tcp [::1]:8891",
	} {
		n, a, err := listenAddr(in)
		if err != nil || n+" "+a != want {
			t.Errorf("listenAddr(%q) = %s %s, %v; want %s", in, n, a, err, want)
		}
	}
	for _, bad := range []string{"unix:", "inet:", "localhost", "inet:host"} {
		if _, _, err := listenAddr(bad); err == nil {
			t.Errorf("listenAddr(%q) accepted", bad)
		}
	}
	err := Config{Listen: "nowhere", Timeout: time.Second, MaxMessage: 1}.Validate()
	if err == nil || !strings.HasPrefix(err.Error(), "milter.listen:") {
		t.Errorf("bad listen: %v", err)
	}
	if err := (Config{Listen: "127.0.0.1:1"}).Validate(); err == nil || !strings.Contains(err.Error(), "milter.timeout") {
		t.Errorf("zero timeout: %v", err)
	}
	if err := (Config{}).Validate(); err != nil {
		t.Errorf("off: %v", err)
	}
}

func TestBare(t *testing.T) {
	for in, want := range map[string]string{"<a@b.test>": "a@b.test", "<a@b.test> SIZE=10": "a@b.test", "a@b.test": "a@b.test", "<>": "", " <x@y> ": "x@y"} {
		if got := bare(in); got != want {
			t.Errorf("bare(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzListenAddr: every accepted address names a network and an address
// that is not empty; nothing panics.
func FuzzListenAddr(f *testing.F) {
	for _, s := range []string{"inet:127.0.0.1:8891", "unix:/x", "x:1", "inet:", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, a, err := listenAddr(s)
		if err == nil && (a == "" || (n != "tcp" && n != "unix")) {
			t.Fatalf("listenAddr(%q) = %q %q", s, n, a)
		}
		_ = bare(s)
	})
}
