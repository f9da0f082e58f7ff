package antispam

import (
	"sort"
	"strconv"
	"strings"
	"sync"
)

// The built-in checks and what they add to a message's score unless the
// configuration says otherwise. Negative scores are evidence of a
// legitimate sender.
var builtinScores = map[string]float64{
	"MISSING_DATE":           1.0,
	"MISSING_MESSAGE_ID":     1.0,
	"MISSING_FROM":           2.0,
	"DUPLICATE_HEADER":       2.0,
	"MALFORMED_FROM":         1.5,
	"MALFORMED_DATE":         1.0,
	"DATE_IN_FUTURE":         1.5,
	"DATE_IN_PAST":           0.5,
	"FROM_ENVELOPE_MISMATCH": 0.3,
	"SPOOFED_PROTECTED":      6.0,
	"UNICODE_SPOOF":          6.0,
	"MANY_RECIPIENTS":        1.0,
	"HTML_ONLY":              0.5,
	"HIDDEN_TEXT":            1.5,
	"ENCODING_TRICK":         1.0,
	"LINK_MISMATCH":          1.5,
	"AUTO_GENERATED":         0,
	"RDNS_NONE":              1.0,
	"RDNS_MISMATCH":          0.5,
	"SPF_PASS":               -0.5,
	"SPF_FAIL":               3.0,
	"SPF_SOFTFAIL":           1.0,
	"SPF_PERMERROR":          0.5,
	"DKIM_VALID":             -0.5,
	"DKIM_INVALID":           1.5,
	"DMARC_REJECT":           5.0,
	"DMARC_QUARANTINE":       3.0,
	"DMARC_NONE":             0.5,
	"BAYES_SPAM":             5.0,
	"BAYES_PROBABLE":         3.0,
	"BAYES_HAM":              -2.0,
}

// CheckNames lists the built-in checks; the DNS lists add theirs.
func CheckNames() []string {
	out := make([]string, 0, len(builtinScores))
	for n := range builtinScores {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Groups of checks timed and counted as one, by the name they are known by
// in the statistics.
const (
	groupFormal     = "formal"
	groupRDNS       = "rdns"
	groupSPF        = "spf"
	groupDKIM       = "dkim"
	groupDMARC      = "dmarc"
	groupClassifier = "classifier"
)

// hit is one check that fired.
type hit struct {
	name   string
	score  float64
	detail string
}

// findings collects what the checks of one message found; DNS checks run
// concurrently and add to it.
type findings struct {
	mu   sync.Mutex
	hits []hit
	errs []string // checks that could not decide
}

func (f *findings) add(name string, score float64, detail string) {
	f.mu.Lock()
	f.hits = append(f.hits, hit{name, score, detail})
	f.mu.Unlock()
}

func (f *findings) failed(check string) {
	f.mu.Lock()
	f.errs = append(f.errs, check)
	f.mu.Unlock()
}

func (f *findings) has(name string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, h := range f.hits {
		if h.name == name {
			return true
		}
	}
	return false
}

// total is the score, and the hits sorted by weight then name.
func (f *findings) total() (float64, []hit) {
	f.mu.Lock()
	defer f.mu.Unlock()
	hits := append([]hit(nil), f.hits...)
	sort.Slice(hits, func(i, j int) bool {
		if hits[i].score != hits[j].score {
			return hits[i].score > hits[j].score
		}
		return hits[i].name < hits[j].name
	})
	var sum float64
	for _, h := range hits {
		sum += h.score
	}
	return sum, hits
}

// testsHeader lists the hits as NAME(score), as X-Gatewatch-Spam-Tests shows them.
func testsHeader(hits []hit) string {
	parts := make([]string, 0, len(hits))
	for _, h := range hits {
		parts = append(parts, h.name+"("+strconv.FormatFloat(h.score, 'f', -1, 64)+")")
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}
