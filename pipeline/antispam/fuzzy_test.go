package antispam

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const campaign = `Dear %s, you have been selected to receive an exclusive offer on genuine
designer watches at a fraction of the retail price. Our warehouse clearance ends
on Friday and stocks are limited, so act now to secure your order. Every watch
ships with a certificate of authenticity and free worldwide delivery within %d days.
Visit %s today and enter your personal code at checkout to unlock the discount.`

// TestNearDuplicatesOfKnownSpam: a copy of a known campaign with another
// name, number and link is caught; unrelated text is not.
func TestNearDuplicatesOfKnownSpam(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	sample := plain("x@spam.test", "watches", strings.NewReplacer("%s", "Customer", "%d", "3").Replace(campaign))
	if err := os.WriteFile(filepath.Join(dir, "watches.eml"), []byte(sample), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := e.cfg
	cfg.FuzzySamples = dir
	if err := e.stage.Reload(cfg, e.deps); err != nil {
		t.Fatal(err)
	}
	variant := strings.Replace(strings.Replace(strings.Replace(campaign, "%s", "Mr Smith", 1), "%d", "5", 1), "%s", "http://cheap-watches.test/x?id=4242", 1)
	v := e.scan(t, received(t, "127.0.0.4", "x", "a@pass.spf.test", plain("a@pass.spf.test", "re: watches", variant)))
	if !hasTest(v, "FUZZY_SPAM") {
		t.Errorf("a variant of the sample was not caught: %s", v.Detail)
	}
	other := "Hi team, the quarterly review moves to Thursday at ten. Please bring the figures for the northern region and the draft of the hiring plan, and tell me if the room is too small for everyone."
	v = e.scan(t, received(t, "127.0.0.4", "x", "a@pass.spf.test", plain("a@pass.spf.test", "meeting", other)))
	if hasTest(v, "FUZZY_SPAM") {
		t.Errorf("unrelated text matched: %s", v.Detail)
	}
	if e.st.AntispamCheckTime.With(groupFuzzy).Load().Count != 2 {
		t.Error("the fuzzy check was not timed per message")
	}
	cfg.FuzzySamples = filepath.Join(dir, "missing")
	if err := e.stage.Reload(cfg, e.deps); err == nil || !strings.Contains(err.Error(), "antispam.fuzzy_samples") {
		t.Errorf("missing samples: %v", err)
	}
}
