package peers

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"
)

// Paths of rspamd's programs (package rspamd).
const (
	RspamdBin  = "/usr/bin/rspamd"
	RspamcBin  = "/usr/bin/rspamc"
	rspamdUser = "_rspamd"
)

// rspamdStartTimeout covers a cold start: rspamd compiles its hyperscan
// databases into DBDIR first (15-20 s on two cores, more on a busy machine).
const rspamdStartTimeout = 5 * time.Minute

// RspamdOptions configures StartRspamd.
type RspamdOptions struct {
	// DNS is the resolver ("127.0.0.1:PORT") rspamd uses, normally a
	// StartUnbound that refuses everything, so that it never reaches the
	// system resolver or the internet.
	DNS string
	// DBDir keeps rspamd's compiled hyperscan databases between runs (a
	// warm start takes a second instead of twenty); empty uses a fresh
	// directory.
	DBDir string
	// Workers is the number of normal (scanning) workers (default 2).
	Workers int
}

// Rspamd is a running rspamd using Debian's configuration with private
// ports and directories. It has no Redis, so its Bayes classifier, rate
// limits and other Redis-backed modules are off.
type Rspamd struct {
	Addr       string // normal worker, "127.0.0.1:PORT"
	Controller string
	Dir        string
	Version    string // "3.4"
	proc       *process
	client     *http.Client
}

// StartRspamd writes override files next to Debian's rspamd.conf (ports,
// workers, console logging, DNS, no fuzzy servers on the internet), starts
// rspamd in the foreground and returns once its worker answers /ping.
func StartRspamd(t testing.TB, opts RspamdOptions) *Rspamd {
	t.Helper()
	requirePackages(t, map[string]string{RspamdBin: "rspamd", RspamcBin: "rspamd"})
	uid, gid := userIDs(t, rspamdUser, "rspamd")
	if opts.Workers == 0 {
		opts.Workers = 2
	}
	r := &Rspamd{Dir: peerDir(t, "rspamd"), Addr: FreeAddr(t), Controller: FreeAddr(t), client: &http.Client{Timeout: 5 * time.Minute}}
	local, run, logDir := filepath.Join(r.Dir, "local"), filepath.Join(r.Dir, "run"), filepath.Join(r.Dir, "log")
	db := opts.DBDir
	if db == "" {
		db = filepath.Join(r.Dir, "db")
	}
	for _, d := range []string{filepath.Join(local, "local.d"), filepath.Join(local, "override.d"), run, logDir, db} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatalf("peers: %v", err)
		}
	}
	over := filepath.Join(local, "override.d")
	writeFile(t, filepath.Join(over, "worker-normal.inc"), fmt.Sprintf("bind_socket = %q;\ncount = %d;\n", r.Addr, opts.Workers))
	writeFile(t, filepath.Join(over, "worker-controller.inc"), fmt.Sprintf("bind_socket = %q;\npassword = \"test\";\n", r.Controller))
	writeFile(t, filepath.Join(over, "worker-proxy.inc"), fmt.Sprintf("bind_socket = %q;\nenabled = false;\n", FreeAddr(t)))
	writeFile(t, filepath.Join(over, "logging.inc"), "type = \"console\";\nlevel = \"notice\";\n")
	if opts.DNS != "" {
		writeFile(t, filepath.Join(local, "local.d", "options.inc"),
			fmt.Sprintf("dns {\n  nameserver = [%q];\n  timeout = 1s;\n  retransmits = 1;\n}\n", opts.DNS))
	}
	// The fuzzy check would resolve rspamd.com's servers through the
	// system resolver at start-up, outside the DNS given above.
	writeFile(t, filepath.Join(local, "local.d", "fuzzy_check.conf"), "enabled = false;\n")
	for _, d := range []string{run, logDir, db} {
		if err := chownTree(d, uid, gid); err != nil {
			t.Fatalf("peers: %v", err)
		}
	}
	r.Version = rspamdVersion(t)
	r.proc = startProcess(t, r.Dir, "rspamd", []string{RspamdBin, "-f", "-u", rspamdUser, "-g", rspamdUser,
		"-c", "/etc/rspamd/rspamd.conf", "--var=LOCAL_CONFDIR=" + local, "--var=RUNDIR=" + run,
		"--var=DBDIR=" + db, "--var=LOGDIR=" + logDir})
	deadline := time.Now().Add(rspamdStartTimeout)
	ping := &http.Client{Timeout: 2 * time.Second}
	for {
		if resp, err := ping.Get("http://" + r.Addr + "/ping"); err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && bytes.HasPrefix(bytes.TrimSpace(body), []byte("pong")) {
				return r
			}
		}
		select {
		case <-r.proc.exited():
			t.Fatalf("peers: rspamd exited: %s", r.proc.describe())
		case <-time.After(pollInterval):
		}
		if time.Now().After(deadline) {
			t.Fatalf("peers: rspamd not answering /ping after %v: %s", rspamdStartTimeout, r.proc.describe())
		}
	}
}

func rspamdVersion(t testing.TB) string {
	t.Helper()
	out, err := runTool(t, time.Minute, nil, RspamdBin, "--version")
	if err != nil {
		return "?"
	}
	if m := regexp.MustCompile(`version (\S+)`).FindStringSubmatch(out); m != nil {
		return m[1]
	}
	return "?"
}

// RspamdResult is the part of rspamd's /checkv2 answer a test looks at.
type RspamdResult struct {
	Action        string  `json:"action"`
	Score         float64 `json:"score"`
	RequiredScore float64 `json:"required_score"`
}

// Spam reports whether rspamd would act on the message as spam: reject it,
// add its spam header or rewrite its subject (what rspamc prints as
// "Spam: true"). Greylisting and soft rejects are delays, not verdicts.
func (r RspamdResult) Spam() bool {
	switch r.Action {
	case "reject", "add header", "rewrite subject":
		return true
	}
	return false
}

// Check sends msg to the worker's /checkv2 as an MTA would and returns the
// verdict. It may be called from several goroutines.
func (r *Rspamd) Check(ctx context.Context, msg []byte) (RspamdResult, error) {
	var res RspamdResult
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+r.Addr+"/checkv2", bytes.NewReader(msg))
	if err != nil {
		return res, err
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return res, fmt.Errorf("rspamd checkv2: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return res, fmt.Errorf("rspamd checkv2: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return res, fmt.Errorf("rspamd checkv2: %s: %s", resp.Status, body)
	}
	if err := json.Unmarshal(body, &res); err != nil {
		return res, fmt.Errorf("rspamd checkv2: %w: %s", err, body)
	}
	return res, nil
}

// Stop stops rspamd's main process, which stops its workers (cleanup does
// too).
func (r *Rspamd) Stop(t testing.TB) { r.proc.stop(t) }
