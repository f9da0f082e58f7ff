package evalspam

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// result is one classifier's verdicts on the held-out messages.
type result struct {
	peer  string // name and set-up
	notes string // how it was run
	// Counts over the held-out messages; hardFlagged counts the flagged
	// ham that is hard ham.
	spamCaught, spamTotal  int
	hamFlagged, hamTotal   int
	hardFlagged, hardTotal int
	errors                 int
	elapsed                time.Duration
}

// add records one verdict.
func (r *result) add(s sample, flagged bool) {
	if s.spam {
		r.spamTotal++
		if flagged {
			r.spamCaught++
		}
		return
	}
	r.hamTotal++
	if s.group == "hard-ham-1" {
		r.hardTotal++
	}
	if flagged {
		r.hamFlagged++
		if s.group == "hard-ham-1" {
			r.hardFlagged++
		}
	}
}

func (r result) recall() float64 { return percent(r.spamCaught, r.spamTotal) }
func (r result) fp() float64     { return percent(r.hamFlagged, r.hamTotal) }

func (r result) rate() float64 {
	if r.elapsed <= 0 {
		return 0
	}
	return float64(r.spamTotal+r.hamTotal) / r.elapsed.Seconds()
}

func percent(n, of int) float64 {
	if of == 0 {
		return 0
	}
	return 100 * float64(n) / float64(of)
}

// table renders the results as a Markdown table.
func table(results []result) string {
	var b strings.Builder
	b.WriteString("| peer | spam caught | ham flagged (hard ham) | recall | FP | msg/s | errors | run as |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|\n")
	for _, r := range results {
		fmt.Fprintf(&b, "| %s | %d/%d | %d/%d (%d/%d) | %.1f%% | %.2f%% | %.1f | %d | %s |\n",
			r.peer, r.spamCaught, r.spamTotal, r.hamFlagged, r.hamTotal, r.hardFlagged, r.hardTotal,
			r.recall(), r.fp(), r.rate(), r.errors, r.notes)
	}
	return b.String()
}

// writeReport writes the report under the repository's var/ directory.
func writeReport(root, report string) (string, error) {
	dir := filepath.Join(root, "var")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("write report: %w", err)
	}
	path := filepath.Join(dir, "eval-spam.txt")
	if err := os.WriteFile(path, []byte(report), 0o644); err != nil {
		return "", fmt.Errorf("write report: %w", err)
	}
	return path, nil
}
