package peers

import (
	"testing"
	"time"
)

// PromtoolCheckMetrics lints a Prometheus text exposition with the real
// "promtool check metrics", the same linter operators run against the
// gateway's /metrics, and returns what it printed. Empty output means clean;
// lint findings (exit status 3) and parse errors (exit status 1) come back
// as text for the caller to assert on. Only a promtool that cannot run at
// all fails the test here.
func PromtoolCheckMetrics(t testing.TB, exposition []byte) string {
	t.Helper()
	Require(t, PromtoolBin)
	out, err := runTool(t, 30*time.Second, exposition, PromtoolBin, "check", "metrics")
	if err != nil && !isExit(err) {
		t.Fatalf("peers: promtool check metrics: %v\n%s", err, out)
	}
	return out
}

// Swaks runs swaks with args (typically --server, --from, --to, --body) and
// returns its transcript. A non-nil error is usually an *exec.ExitError,
// i.e. the server refused the mail, which some tests expect; the transcript
// says at which step. The run is cut off after 60 s so that a server that
// stops answering fails the test instead of hanging it.
func Swaks(t testing.TB, args ...string) (output string, err error) {
	t.Helper()
	Require(t, SwaksBin)
	return runTool(t, 60*time.Second, nil, SwaksBin, args...)
}
