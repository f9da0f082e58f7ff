package antispam

import (
	"fmt"
	"hash/fnv"
	"regexp"
	"strings"
	"unicode"

	"github.com/gatewatch/gatewatch/pipeline/antispam/bayes"
)

// Near-duplicate matching: each message's text is reduced to a MinHash
// signature of its word shingles, and compared with the signatures of
// known spam samples. Bulk spam varies names, numbers and links between
// copies; the signature of the rest stays close, so a campaign seen once
// is caught again — the local counterpart of the replaced product's cloud
// lookup.
const (
	sigSize      = 64
	shingleWords = 4
	maxSamples   = 20000
	minShingles  = 8 // texts shorter than this say too little to compare
)

type signature [sigSize]uint64

type fuzzySample struct {
	name string
	sig  signature
}

var (
	htmlTag = regexp.MustCompile(`(?s)<[^>]*>`)
	digits  = regexp.MustCompile(`[0-9]+`)
)

// signatureOf is the MinHash signature of text; ok is false when the text
// is too short to say anything.
func signatureOf(text string) (signature, bool) {
	text = htmlTag.ReplaceAllString(text, " ")
	text = digits.ReplaceAllString(strings.ToLower(text), "0")
	words := strings.FieldsFunc(text, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	var sig signature
	for i := range sig {
		sig[i] = ^uint64(0)
	}
	n := 0
	for i := 0; i+shingleWords <= len(words); i++ {
		h := fnv.New64a()
		for _, w := range words[i : i+shingleWords] {
			h.Write([]byte(w))
			h.Write([]byte{0})
		}
		base := h.Sum64()
		for j := range sig {
			if v := mix(base ^ uint64(j)*0x9e3779b97f4a7c15); v < sig[j] {
				sig[j] = v
			}
		}
		n++
	}
	return sig, n >= minShingles
}

// mix is splitmix64's finaliser: one good hash makes sigSize independent ones.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}

// similarity estimates the Jaccard similarity of the two shingle sets.
func similarity(a, b *signature) float64 {
	same := 0
	for i := range a {
		if a[i] == b[i] {
			same++
		}
	}
	return float64(same) / sigSize
}

// loadSamples reads known spam from path (mbox, maildir or a directory of
// messages) and signs each message's text.
func loadSamples(path string) ([]fuzzySample, error) {
	if path == "" {
		return nil, nil
	}
	var out []fuzzySample
	err := bayes.ReadMessages(path, func(name string, msg []byte) error {
		if len(out) >= maxSamples {
			return nil
		}
		if sig, ok := signatureOf(messageText(msg)); ok {
			out = append(out, fuzzySample{name: name, sig: sig})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read spam samples: %w", err)
	}
	return out, nil
}

// messageText is the decoded text of a raw message, as the checks read it.
func messageText(raw []byte) string {
	m := rawMessage(raw)
	bf := readBody(m)
	return bf.text + "\n" + bf.html
}

// fuzzyCheck compares the message's text with the samples.
func (s *Stage) fuzzyCheck(c *compiled, body bodyFacts, f *findings) {
	sig, ok := signatureOf(body.text + "\n" + body.html)
	if !ok {
		return
	}
	best, bestName := 0.0, ""
	for i := range c.samples {
		if sim := similarity(&sig, &c.samples[i].sig); sim > best {
			best, bestName = sim, c.samples[i].name
		}
	}
	if best >= c.cfg.FuzzyThreshold {
		f.add("FUZZY_SPAM", c.score("FUZZY_SPAM"), fmt.Sprintf("%.0f%% like %s", best*100, bestName))
	}
}
