package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatewatch/gatewatch/pipeline/antispam/bayes"
)

// trainDirs writes n spam and n ham messages into two directories.
func trainDirs(t *testing.T, n int) (spamDir, hamDir string) {
	t.Helper()
	root := t.TempDir()
	spamDir, hamDir = filepath.Join(root, "spam"), filepath.Join(root, "ham")
	for i := 0; i < n; i++ {
		for dir, body := range map[string]string{
			spamDir: "Subject: cheap pills %d\r\nFrom: offers@bulk.example\r\n\r\nbuy cheap pills now, casino bonus %d\r\n",
			hamDir:  "Subject: meeting notes %d\r\nFrom: colleague@corp.example\r\n\r\nthe agenda for the review meeting %d\r\n",
		} {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			msg := fmt.Sprintf(body, i, i)
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%d.eml", i)), []byte(msg), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	return spamDir, hamDir
}

func TestTrainLearnsAndForgets(t *testing.T) {
	spamDir, hamDir := trainDirs(t, 3)
	model := filepath.Join(t.TempDir(), "model.bayes")
	code, out, errOut := runCLI("train", "--model", model, "--spam", spamDir, "--ham", hamDir)
	if code != exitOK || !strings.HasPrefix(out, "learned 3 spam, 3 ham; model now has 3 spam, 3 ham, ") {
		t.Fatalf("first training: %d %q %q", code, out, errOut)
	}
	m, err := bayes.Load(model)
	if err != nil {
		t.Fatal(err)
	}
	if s, h := m.Counts(); s != 3 || h != 3 {
		t.Errorf("model file holds %d spam, %d ham", s, h)
	}
	if p, _ := m.Classify(bayes.Tokenize([]byte("Subject: cheap pills\r\n\r\ncasino bonus\r\n")), 0); p < 0.5 {
		t.Errorf("trained model scores spam %.3f", p)
	}

	// Incremental: a second run adds to the file; flags repeat.
	code, out, errOut = runCLI("train", "-model", model, "--spam", spamDir, "--spam", spamDir)
	if code != exitOK || !strings.HasPrefix(out, "learned 6 spam, 0 ham; model now has 9 spam, 3 ham, ") {
		t.Fatalf("second training: %d %q %q", code, out, errOut)
	}
	code, out, errOut = runCLI("train", "--forget", "--model", model, "--spam", spamDir, "--spam", spamDir)
	if code != exitOK || !strings.HasPrefix(out, "forgot 6 spam, 0 ham; model now has 3 spam, 3 ham, ") {
		t.Fatalf("forget: %d %q %q", code, out, errOut)
	}
}

func TestTrainModelFromConfig(t *testing.T) {
	spamDir, _ := trainDirs(t, 1)
	model := filepath.Join(t.TempDir(), "model.bayes")
	cfg := writeFile(t, "antispam:\n  model: "+model+"\n")
	code, out, errOut := runCLI("train", "-config", cfg, "--spam", spamDir)
	if code != exitOK || !strings.Contains(out, "model now has 1 spam, 0 ham") {
		t.Fatalf("%d %q %q", code, out, errOut)
	}
	if _, err := os.Stat(model); err != nil {
		t.Errorf("model not written where the configuration says: %v", err)
	}
}

func TestTrainBadInput(t *testing.T) {
	spamDir, hamDir := trainDirs(t, 1)
	dir := t.TempDir()
	model := filepath.Join(dir, "model.bayes")
	missing := filepath.Join(dir, "no-such-dir")
	empty := filepath.Join(dir, "empty")
	if err := os.Mkdir(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	corrupt := filepath.Join(dir, "corrupt.bayes")
	if err := os.WriteFile(corrupt, []byte("GWBAYES\nnot really"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no model", []string{"--spam", spamDir}, exitUsage, "--model"},
		{"nothing to learn", []string{"--model", model}, exitUsage, "--spam or --ham"},
		{"stray argument", []string{"--model", model, "--spam", spamDir, "extra"}, exitUsage, `"extra"`},
		{"unknown flag", []string{"--model", model, "--sapm", spamDir}, exitUsage, "sapm"},
		{"missing dir", []string{"--model", model, "--spam", spamDir, "--ham", missing}, exitFailure, missing},
		{"no messages", []string{"--model", model, "--ham", empty}, exitFailure, "no messages found in " + empty},
		{"corrupt model", []string{"--model", corrupt, "--ham", hamDir}, exitFailure, corrupt},
		{"bad config", []string{"-config", filepath.Join(dir, "nope.yaml"), "--model", model, "--ham", hamDir}, exitConfig, "nope.yaml"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out, errOut := runCLI(append([]string{"train"}, c.args...)...)
			if code != c.code || !strings.Contains(errOut, c.want) {
				t.Errorf("exit %d (want %d), stderr %q should contain %q; stdout %q", code, c.code, errOut, c.want, out)
			}
		})
	}
	if _, err := os.Stat(model); !os.IsNotExist(err) {
		t.Errorf("a failed training wrote the model: %v", err)
	}
}
