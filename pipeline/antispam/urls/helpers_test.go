package urls_test

import (
	"slices"
	"testing"

	"github.com/gatewatch/gatewatch/pipeline/antispam/urls"
)

// found lists hosts as "name via", the form the tables state them in.
func found(hosts []urls.Host) []string {
	out := make([]string, 0, len(hosts))
	for _, h := range hosts {
		out = append(out, h.Name+" "+h.Via)
	}
	return out
}

func expectHosts(t *testing.T, input string, got []urls.Host, want []string) {
	t.Helper()
	if g := found(got); !slices.Equal(g, want) {
		t.Errorf("%q:\n got %q\nwant %q", input, g, want)
	}
}
