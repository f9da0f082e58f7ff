package evalspam

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatewatch/gatewatch/pipeline/antispam/bayes"
)

// repoRoot is the directory holding go.mod, found upwards from the test's
// working directory.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test directory")
		}
		dir = parent
	}
}

// buildGatewatch builds the command as users get it, so that the
// evaluation trains through the real `gatewatch train`.
func buildGatewatch(t *testing.T, root string) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("building gatewatch needs the go command on PATH: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "gatewatch")
	run(t, root, 10*time.Minute, goBin, "build", "-o", bin, "./cmd/gatewatch")
	return bin
}

// trainGatewatch runs `gatewatch train` on the training directories and
// checks that it learned every message.
func trainGatewatch(t *testing.T, bin, model, spamDir, hamDir string, nSpam, nHam int) (string, time.Duration) {
	t.Helper()
	start := time.Now()
	out := run(t, filepath.Dir(model), 10*time.Minute, bin, "train", "--model", model, "--spam", spamDir, "--ham", hamDir)
	elapsed := time.Since(start)
	if want := fmt.Sprintf("learned %d spam, %d ham;", nSpam, nHam); !strings.Contains(out, want) {
		t.Fatalf("gatewatch train printed %q, want it to start with %q", out, want)
	}
	return strings.TrimSpace(out), elapsed
}

// classifyGatewatch scores the held-out messages with the model the
// command wrote, at the threshold the anti-spam stage uses, in one
// goroutine (the stage scores each message in the goroutine that
// received it). probable counts the messages at or above
// DefaultProbableThreshold.
func classifyGatewatch(t *testing.T, model string, held []sample) (res result, probable result) {
	t.Helper()
	m, err := bayes.Load(model)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	scores := make([]float64, len(held))
	for i, s := range held {
		scores[i], _ = m.Classify(bayes.Tokenize(s.msg), 0)
	}
	res.elapsed = time.Since(start)
	for i, s := range held {
		res.add(s, scores[i] >= bayes.DefaultSpamThreshold)
		probable.add(s, scores[i] >= bayes.DefaultProbableThreshold)
	}
	probable.elapsed = res.elapsed
	return res, probable
}
