package antispam

import (
	"sort"
	"strconv"
	"strings"
	"sync"
)

// CheckInfo describes a built-in check: its name in the headers, events
// and statistics, what it adds to a message's score unless the
// configuration says otherwise (negative: evidence of a legitimate
// sender), and what it looks for.
type CheckInfo struct {
	Name  string
	Score float64
	Doc   string
}

// Checks lists the built-in checks; each DNS list adds DNSBL_<NAME> (ip
// lists) or URIBL_<NAME> (domain lists) with the list's scores.
func Checks() []CheckInfo {
	return []CheckInfo{
		{"MISSING_FROM", 2.0, "No From field."},
		{"MALFORMED_FROM", 1.5, "A From field that is not an address list (RFC 5322)."},
		{"MISSING_DATE", 1.0, "No Date field."},
		{"MALFORMED_DATE", 1.0, "A Date field that does not parse."},
		{"DATE_IN_FUTURE", 1.5, "Dated more than a day ahead."},
		{"DATE_IN_PAST", 0.5, "Dated more than a week ago."},
		{"MISSING_MESSAGE_ID", 1.0, "No Message-ID field."},
		{"DUPLICATE_HEADER", 2.0, "From, Date, Message-ID, Subject, To or Sender more than once."},
		{"FROM_ENVELOPE_MISMATCH", 0.3, "From and MAIL FROM in different organisational domains."},
		{"SPOOFED_PROTECTED", 6.0, "A protected domain in From or MAIL FROM, from outside relay_networks, not vouched for by SPF or an aligned DKIM signature."},
		{"UNICODE_SPOOF", 6.0, "A From domain that looks like a protected one (Cyrillic or Greek look-alikes, digits for letters, rn for m, accents)."},
		{"MANY_RECIPIENTS", 1.0, "More envelope recipients than antispam.max_recipients."},
		{"HTML_ONLY", 0.5, "HTML without a text alternative."},
		{"HIDDEN_TEXT", 1.5, "HTML text styled invisible (display:none, visibility:hidden, zero font size or opacity)."},
		{"ENCODING_TRICK", 1.0, "A Subject of plain ASCII sent as encoded words, or a word mixing Latin with Cyrillic or Greek letters."},
		{"LINK_MISMATCH", 1.5, "A link whose visible text names another host than it leads to."},
		{"AUTO_GENERATED", 0, "Machine-made mail (Auto-Submitted, delivery reports, list or bulk mail): status formal unless the score says spam."},
		{"RDNS_NONE", 1.0, "The client's address has no PTR record."},
		{"RDNS_MISMATCH", 0.5, "The client's PTR name does not resolve back to its address."},
		{"SPF_PASS", -0.5, "SPF (RFC 7208) passes for MAIL FROM (or HELO for the null sender)."},
		{"SPF_FAIL", 3.0, "SPF fails."},
		{"SPF_SOFTFAIL", 1.0, "SPF soft-fails."},
		{"SPF_PERMERROR", 0.5, "The SPF record is broken."},
		{"DKIM_VALID", -0.5, "A valid DKIM signature (RFC 6376)."},
		{"DKIM_INVALID", 1.5, "Only invalid DKIM signatures."},
		{"DMARC_REJECT", 5.0, "DMARC (RFC 7489) fails and the From domain asks for rejection."},
		{"DMARC_QUARANTINE", 3.0, "DMARC fails and the From domain asks for quarantine."},
		{"DMARC_NONE", 0.5, "DMARC fails, the From domain only monitors."},
		{"FUZZY_SPAM", 5.0, "The text is a near-duplicate of a known spam sample (antispam.fuzzy_samples)."},
		{"BAYES_SPAM", 5.0, "The classifier is sure the message is spam."},
		{"BAYES_PROBABLE", 3.0, "The classifier finds the message probably spam."},
		{"BAYES_HAM", -2.0, "The classifier is sure the message is not spam."},
	}
}

// CheckNames lists the built-in checks' names.
func CheckNames() []string {
	out := make([]string, 0, 32)
	for _, c := range Checks() {
		out = append(out, c.Name)
	}
	sort.Strings(out)
	return out
}

// Groups of checks timed and counted (errors) as one, by the name they
// have in the statistics' check label; a DNS list is its own group under
// its check's name (DNSBL_ZEN). Hits are counted by check name.
const (
	groupFormal     = "FORMAL"
	groupRDNS       = "RDNS"
	groupSPF        = "SPF"
	groupDKIM       = "DKIM"
	groupDMARC      = "DMARC"
	groupClassifier = "BAYES"
	groupFuzzy      = "FUZZY"
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
