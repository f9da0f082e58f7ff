package peers

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Paths of SpamAssassin's programs (packages spamassassin, spamd, spamc).
const (
	SpamAssassinBin = "/usr/bin/spamassassin"
	SALearnBin      = "/usr/bin/sa-learn"
	SpamdBin        = "/usr/sbin/spamd"
	SpamcBin        = "/usr/bin/spamc"
)

// spamdUser is the account Debian's spamd runs as; spamd refuses to scan as
// root.
const spamdUser = "debian-spamd"

// SpamdOptions configures StartSpamd.
type SpamdOptions struct {
	// DNS is the resolver ("127.0.0.1:PORT") SpamAssassin is pointed at,
	// normally a StartUnbound that refuses everything. Network tests are
	// off (-L) anyway; this keeps a stray lookup off the system resolver.
	DNS string
	// Bayes turns SpamAssassin's own Bayes classifier on, trained by
	// sa-learn on the message directories below before spamd starts.
	Bayes               bool
	LearnSpam, LearnHam []string
	// Children is the number of spamd scanning processes (default 2).
	Children int
}

// Spamd is a running spamd on 127.0.0.1 with a private site configuration.
type Spamd struct {
	Addr    string // "127.0.0.1:PORT"
	Dir     string
	Version string // "4.0.1"
	// LearnedSpam and LearnedHam are the message counts of the Bayes
	// database, as sa-learn reports them (0 without Bayes).
	LearnedSpam, LearnedHam int
	port                    int
	proc                    *process
}

// StartSpamd configures SpamAssassin in a private directory (Debian's rules
// and .pre files, plus local settings), trains its Bayes database when
// asked, starts spamd and returns once it answers a PING.
func StartSpamd(t testing.TB, opts SpamdOptions) *Spamd {
	t.Helper()
	requirePackages(t, map[string]string{SpamAssassinBin: "spamassassin", SALearnBin: "spamassassin",
		SpamdBin: "spamd", SpamcBin: "spamc"})
	uid, gid := userIDs(t, spamdUser, "spamd")
	if opts.Children == 0 {
		opts.Children = 2
	}
	s := &Spamd{Dir: peerDir(t, "spamd"), port: FreePort(t)}
	s.Addr = loopback(s.port)
	etc, home, bayes := filepath.Join(s.Dir, "etc"), filepath.Join(s.Dir, "home"), filepath.Join(s.Dir, "bayes")
	for _, d := range []string{etc, home, bayes} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatalf("peers: %v", err)
		}
	}
	copySiteConfig(t, etc)
	useBayes := 0
	if opts.Bayes {
		useBayes = 1
	}
	var local strings.Builder
	fmt.Fprintf(&local, "\n# gatewatch test settings\ndns_available no\nuse_bayes %d\nbayes_auto_learn 0\n", useBayes)
	fmt.Fprintf(&local, "bayes_path %s\nbayes_file_mode 0770\nbayes_auto_expire 0\nlock_method flock\n", filepath.Join(bayes, "bayes"))
	if opts.DNS != "" {
		fmt.Fprintf(&local, "dns_server %s\n", opts.DNS)
	}
	appendFile(t, filepath.Join(etc, "local.cf"), local.String())
	if out, err := runTool(t, 2*time.Minute, nil, SpamAssassinBin, "--siteconfigpath="+etc, "-L", "--lint"); err != nil {
		t.Fatalf("peers: spamassassin --lint: %v\n%s", err, out)
	}
	s.Version = spamAssassinVersion(t)
	if opts.Bayes {
		s.learn(t, etc, home, opts.LearnSpam, opts.LearnHam)
	}
	// spamd scans as debian-spamd, which must be able to lock and read
	// the database sa-learn (as root) just wrote.
	for _, d := range []string{home, bayes} {
		if err := chownTree(d, uid, gid); err != nil {
			t.Fatalf("peers: %v", err)
		}
	}
	s.proc = startProcess(t, s.Dir, "spamd", []string{SpamdBin, "-L", "-x", "-u", spamdUser,
		"--siteconfigpath=" + etc, "--helper-home-dir=" + home, "--listen=" + s.Addr, "--allowed-ips=127.0.0.1",
		"--max-children=" + strconv.Itoa(opts.Children), "--min-children=" + strconv.Itoa(opts.Children),
		"--pidfile=" + filepath.Join(s.Dir, "spamd.pid"), "-s", "stderr"})
	// spamd takes a second or two to compile its rules; it answers PING
	// only once its children are ready.
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if _, err := runTool(t, 10*time.Second, nil, SpamcBin, "-d", "127.0.0.1", "-p", strconv.Itoa(s.port), "-K"); err == nil {
			return s
		}
		select {
		case <-s.proc.exited():
			t.Fatalf("peers: spamd exited: %s", s.proc.describe())
		case <-time.After(pollInterval):
		}
		if time.Now().After(deadline) {
			t.Fatalf("peers: spamd not answering after 2m: %s", s.proc.describe())
		}
	}
}

// copySiteConfig copies Debian's SpamAssassin site configuration (.pre
// plugin lists and .cf settings; the rules themselves stay in
// /usr/share/spamassassin) so the test can add to it without touching /etc.
func copySiteConfig(t testing.TB, etc string) {
	t.Helper()
	var files []string
	for _, pat := range []string{"/etc/spamassassin/*.pre", "/etc/spamassassin/*.cf"} {
		m, _ := filepath.Glob(pat)
		files = append(files, m...)
	}
	if len(files) == 0 {
		unavailable(t, "no /etc/spamassassin/*.pre or *.cf; install Debian package spamassassin")
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatalf("peers: %v", err)
		}
		writeFile(t, filepath.Join(etc, filepath.Base(f)), string(b))
	}
}

func appendFile(t testing.TB, path, content string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatalf("peers: %v", err)
	}
	if _, err := f.WriteString(content); err != nil {
		f.Close()
		t.Fatalf("peers: %v", err)
	}
	if err := f.Close(); err != nil {
		t.Fatalf("peers: %v", err)
	}
}

// learn trains the Bayes database with sa-learn, one run per class and
// directory, and reads back how many messages it holds.
func (s *Spamd) learn(t testing.TB, etc, home string, spam, ham []string) {
	t.Helper()
	run := func(args ...string) string {
		cmd := exec.Command(SALearnBin, append([]string{"--siteconfigpath=" + etc, "-L"}, args...)...)
		cmd.Env = append(os.Environ(), "HOME="+home)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("peers: sa-learn %q: %v\n%s", args, err, out)
		}
		return string(out)
	}
	for _, d := range spam {
		run("--spam", d)
	}
	for _, d := range ham {
		run("--ham", d)
	}
	magic := run("--dump", "magic")
	s.LearnedSpam = magicCount(magic, "nspam")
	s.LearnedHam = magicCount(magic, "nham")
}

// magicCount reads a count from "sa-learn --dump magic" output, whose lines
// look like "0.000          0       1396          0  non-token data: nspam".
func magicCount(dump, name string) int {
	re := regexp.MustCompile(`(?m)^\S+\s+\S+\s+(\d+)\s+\S+\s+non-token data: ` + name + `$`)
	m := re.FindStringSubmatch(dump)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

func spamAssassinVersion(t testing.TB) string {
	t.Helper()
	out, err := runTool(t, time.Minute, nil, SpamAssassinBin, "--version")
	if err != nil {
		return "?"
	}
	if m := regexp.MustCompile(`version (\S+)`).FindStringSubmatch(out); m != nil {
		return m[1]
	}
	return "?"
}

// Check runs "spamc -c" on msg and reports SpamAssassin's verdict and its
// "score/threshold" line. Without spamc's safe fallback (-x) an error
// talking to spamd is an error here, not a silent "not spam".
func (s *Spamd) Check(t testing.TB, msg []byte) (spam bool, score string, err error) {
	out, err := runTool(t, 5*time.Minute, msg, SpamcBin, "-d", "127.0.0.1", "-p", strconv.Itoa(s.port),
		"-c", "-x", "-t", "120", "-s", "16000000")
	score = strings.TrimSpace(out)
	var exitErr *exec.ExitError
	switch {
	case err == nil:
		return false, score, nil
	case errors.As(err, &exitErr) && exitErr.ExitCode() == 1:
		return true, score, nil
	default:
		return false, score, fmt.Errorf("spamc: %w (%s)", err, score)
	}
}

// requirePackages is Require with the Debian package named for each
// program, for programs peers.go does not know.
func requirePackages(t testing.TB, bins map[string]string) {
	t.Helper()
	for bin, pkg := range bins {
		if _, err := exec.LookPath(bin); err != nil {
			unavailable(t, "%s is not usable (%v); install Debian package %s", bin, err, pkg)
		}
	}
}

// userIDs returns the numeric ids of a system user that a package creates.
func userIDs(t testing.TB, name, pkg string) (uid, gid int) {
	t.Helper()
	u, err := user.Lookup(name)
	if err != nil {
		unavailable(t, "user %s: %v; install Debian package %s", name, err, pkg)
	}
	uid, errU := strconv.Atoi(u.Uid)
	gid, errG := strconv.Atoi(u.Gid)
	if errU != nil || errG != nil {
		t.Fatalf("peers: user %s has non-numeric ids %q/%q", name, u.Uid, u.Gid)
	}
	return uid, gid
}

// chownTree hands a directory tree to uid:gid.
func chownTree(root string, uid, gid int) error {
	return filepath.Walk(root, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	})
}

// Stop stops spamd (cleanup does too), so that a following measurement
// has the machine to itself.
func (s *Spamd) Stop(t testing.TB) { s.proc.stop(t) }
