package traps

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func goodV3() Target {
	return Target{Target: "127.0.0.1:162", Version: "3", User: "gwtrap",
		Auth: "SHA", AuthPass: "authpass12345", Priv: "AES", PrivPass: "privpass12345"}
}

func TestTargetValidateNamesTheField(t *testing.T) {
	v2c := Target{Target: "127.0.0.1:162", Version: "2c", Community: "public"}
	for _, ok := range []Target{v2c, goodV3()} {
		if err := ok.Validate(); err != nil {
			t.Errorf("%+v: %v", ok, err)
		}
	}
	// Every accepted protocol name, in any case.
	for _, auth := range []string{"MD5", "SHA", "sha224", "SHA256", "SHA384", "SHA512"} {
		for _, priv := range []string{"DES", "aes", "AES192", "AES256"} {
			tg := goodV3()
			tg.Auth, tg.Priv = auth, priv
			if err := tg.Validate(); err != nil {
				t.Errorf("%s/%s: %v", auth, priv, err)
			}
		}
	}
	cases := []struct {
		field string
		edit  func(*Target)
	}{
		{"target", func(t *Target) { t.Target = "127.0.0.1" }},
		{"target", func(t *Target) { t.Target = "127.0.0.1:0" }},
		{"target", func(t *Target) { t.Target = ":162" }},
		{"target", func(t *Target) { t.Target = "host:snmp-trap" }},
		{"version", func(t *Target) { t.Version = "1" }},
		{"version", func(t *Target) { t.Version = "" }},
		{"community", func(t *Target) { t.Version, t.Community = "2c", "" }},
		{"user", func(t *Target) { t.User = "" }},
		{"auth", func(t *Target) { t.Auth = "" }}, // authNoPriv/noAuth are refused
		{"auth", func(t *Target) { t.Auth = "SHA1" }},
		{"auth_pass", func(t *Target) { t.AuthPass = "short12" }},
		{"priv", func(t *Target) { t.Priv = "" }},
		{"priv", func(t *Target) { t.Priv = "3DES" }},
		{"priv_pass", func(t *Target) { t.PrivPass = "" }},
	}
	for _, c := range cases {
		tg := goodV3()
		c.edit(&tg)
		err := tg.Validate()
		if err == nil || !strings.HasPrefix(err.Error(), c.field+": ") {
			t.Errorf("%+v: error %v, want one starting %q", tg, err, c.field+": ")
		}
	}
}

func TestNewRejectsBadOptionsWithoutCountingABoot(t *testing.T) {
	boots := filepath.Join(t.TempDir(), "boots")
	bad := goodV3()
	bad.PrivPass = "x"
	_, err := New(Options{Stats: newStats(), BootsFile: boots,
		Targets: []Target{goodV3(), bad}, EngineID: []byte{1, 2, 3}, Burst: -1})
	if err == nil {
		t.Fatal("New accepted bad options")
	}
	for _, want := range []string{"traps[1] (127.0.0.1:162): priv_pass:", "EngineID:", "Options.Burst"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "traps[0]") {
		t.Errorf("error %q blames the good target", err)
	}
	if _, err := os.Stat(boots); !os.IsNotExist(err) {
		t.Errorf("a refused configuration counted a boot (stat: %v)", err)
	}
	if _, err := New(Options{}); err == nil || !strings.Contains(err.Error(), "Options.Stats") {
		t.Errorf("New without Stats: %v", err)
	}
}
