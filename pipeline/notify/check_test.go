package notify

import (
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/gatewatch/gatewatch/configs"
)

func TestCheckShipped(t *testing.T) {
	if err := Check(Config{}, configs.NotifyTemplates()); err != nil {
		t.Fatalf("shipped templates: %v", err)
	}
}

func TestCheckGoodOverride(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "admin.tmpl", "Subject: {{.Status}} {{.ID}}\r\nX-Ticket: {{.Group}}\r\n\r\n{{range .Recipients}}{{.}}\n{{end}}")
	if err := Check(Config{Templates: dir}, configs.NotifyTemplates()); err != nil {
		t.Fatalf("good override: %v", err)
	}
}

func TestCheckReportsFileAndLine(t *testing.T) {
	dir := t.TempDir()
	unknown := writeFile(t, dir, "sender.tmpl", "Subject: x\n\nHello,\n{{if .Quarantined}}held {{.Nope}}{{end}}\n")
	unterminated := writeFile(t, dir, "recipients.tmpl", "Subject: x\n\n{{if .Quarantined}}\nheld\n")
	noSubject := writeFile(t, dir, "admin.tmpl", "X-A: b\n\nbody\n")
	err := Check(Config{Templates: dir}, configs.NotifyTemplates())
	if err == nil {
		t.Fatal("Check passed broken templates")
	}
	msg := err.Error()
	for _, want := range []string{
		unknown + ":4: <.Nope>: can't evaluate field Nope",
		unterminated + ":5: unexpected EOF",
		noSubject + ": output has no Subject field",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "template: ") {
		t.Errorf("text/template's own location left in:\n%s", msg)
	}
}

func TestCheckReportsMissingValue(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, dir, "sender.tmpl", "Subject: x\n\n{{if}}x{{end}}\n")
	err := Check(Config{Templates: dir}, configs.NotifyTemplates())
	if err == nil || !strings.Contains(err.Error(), path+":3: missing value for if") {
		t.Fatalf("Check: %v", err)
	}
}

func TestCheckShippedErrorsNameShippedFile(t *testing.T) {
	shipped := fstest.MapFS{
		"sender.tmpl":     {Data: []byte("Subject: x\n\n")},
		"recipients.tmpl": {Data: []byte("Subject: x\n\n{{.Bad}}")},
		"admin.tmpl":      {Data: []byte("Subject: x\n\n")},
	}
	err := Check(Config{}, shipped)
	if err == nil || !strings.Contains(err.Error(), "shipped/recipients.tmpl:3: <.Bad>") {
		t.Fatalf("Check: %v", err)
	}
	delete(shipped, "admin.tmpl")
	if err := Check(Config{}, shipped); err == nil || !strings.Contains(err.Error(), "shipped/admin.tmpl") {
		t.Fatalf("Check with a shipped template missing: %v", err)
	}
}

func TestCheckTemplatesDirectory(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope")
	if err := Check(Config{Templates: missing}, configs.NotifyTemplates()); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing directory: %v", err)
	}
	file := writeFile(t, t.TempDir(), "f", "")
	if err := Check(Config{Templates: file}, configs.NotifyTemplates()); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("file as directory: %v", err)
	}
}

func TestCheckRunawayOutput(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, dir, "admin.tmpl", "Subject: x\n\n"+strings.Repeat("{{template \"big\" .}}", 2000)+"{{define \"big\"}}"+strings.Repeat("x", 1000)+"{{end}}")
	err := Check(Config{Templates: dir}, configs.NotifyTemplates())
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "exceeds") {
		t.Fatalf("Check: %v", err)
	}
}

func TestValidate(t *testing.T) {
	good := []Config{{}, {Admin: "admin@example.com", From: "notices@example.com", RatePerHour: 5, Templates: "/etc/x"}}
	for _, c := range good {
		if err := c.Validate(); err != nil {
			t.Errorf("%+v: %v", c, err)
		}
	}
	for _, tc := range []struct {
		cfg Config
		key string
	}{
		{Config{Admin: "Admin <admin@example.com>"}, "notify.admin:"},
		{Config{Admin: "nobody"}, "notify.admin:"},
		{Config{From: "a@b\r\nBcc: x@y"}, "notify.from:"},
		{Config{RatePerHour: -1}, "notify.rate_per_hour:"},
	} {
		if err := tc.cfg.Validate(); err == nil || !strings.Contains(err.Error(), tc.key) {
			t.Errorf("%+v: %v, want an error naming %s", tc.cfg, err, tc.key)
		}
	}
}
