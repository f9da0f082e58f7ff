package bayes

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
)

// Vocabularies of a clearly separable synthetic corpus, plus words both
// classes use.
const (
	spamVocab   = "viagra casino winner lottery bargain discount cheap pills mortgage refinance prize unsubscribe"
	hamVocab    = "meeting agenda patch kernel compiler review budget quarterly minutes release deadline lunch"
	commonVocab = "the and you for with this that have from your will about"
)

// synthetic builds a message from words of one class and common words.
func synthetic(r *rand.Rand, spam bool) []byte {
	vocab := strings.Fields(hamVocab)
	from := "colleague@corp.example"
	if spam {
		vocab = strings.Fields(spamVocab)
		from = "offers@bulk.example"
	}
	commonWords := strings.Fields(commonVocab)
	var body strings.Builder
	for i := 0; i < 30; i++ {
		body.WriteString(vocab[r.IntN(len(vocab))] + " ")
		body.WriteString(commonWords[r.IntN(len(commonWords))] + " ")
	}
	return fmt.Appendf(nil, "From: %s\r\nSubject: %s\r\n\r\n%s\r\n", from, vocab[r.IntN(len(vocab))], body.String())
}

// trained returns a model trained on n messages of each class.
func trained(t *testing.T, n int) *Model {
	t.Helper()
	r := rand.New(rand.NewPCG(1, 2))
	m := NewModel()
	for i := 0; i < n; i++ {
		m.Learn(Tokenize(synthetic(r, true)), true)
		m.Learn(Tokenize(synthetic(r, false)), false)
	}
	return m
}

func TestClassifySeparable(t *testing.T) {
	m := trained(t, 40)
	if s, h := m.Counts(); s != 40 || h != 40 {
		t.Fatalf("Counts() = %d, %d; want 40, 40", s, h)
	}
	r := rand.New(rand.NewPCG(3, 4)) // messages not seen in training
	for i := 0; i < 20; i++ {
		if p, clues := m.Classify(Tokenize(synthetic(r, true)), 5); p < DefaultSpamThreshold {
			t.Errorf("spam scored %.3f (< %.2f), clues %v", p, DefaultSpamThreshold, clues)
		}
		if p, clues := m.Classify(Tokenize(synthetic(r, false)), 5); p > 0.1 {
			t.Errorf("ham scored %.3f (> 0.1), clues %v", p, clues)
		}
	}
}

func TestClassifyClues(t *testing.T) {
	m := trained(t, 40)
	r := rand.New(rand.NewPCG(5, 6))
	tokens := Tokenize(synthetic(r, true))
	_, all := m.Classify(tokens, 1000)
	if len(all) == 0 || len(all) > maxDiscriminators {
		t.Fatalf("%d clues, want 1..%d", len(all), maxDiscriminators)
	}
	for i, c := range all {
		if math.Abs(c.Prob-0.5) < minStrength || c.Prob <= 0 || c.Prob >= 1 {
			t.Errorf("clue %d %v: probability outside the used range", i, c)
		}
		if i > 0 && math.Abs(c.Prob-0.5) > math.Abs(all[i-1].Prob-0.5) {
			t.Errorf("clue %d %v is stronger than clue %d %v", i, c, i-1, all[i-1])
		}
	}
	if _, three := m.Classify(tokens, 3); len(three) != 3 || three[0] != all[0] {
		t.Errorf("Classify(n=3) clues %v, want the first 3 of %v", three, all[:3])
	}
	if _, none := m.Classify(tokens, 0); none != nil {
		t.Errorf("Classify(n=0) clues %v, want none", none)
	}
}

func TestClassifyWithoutEvidence(t *testing.T) {
	if p, clues := NewModel().Classify([]string{"body:anything"}, 5); p != 0.5 || len(clues) != 0 {
		t.Errorf("empty model: %v %v, want 0.5 and no clues", p, clues)
	}
	if p, _ := trained(t, 10).Classify([]string{"body:never-seen"}, 5); p != 0.5 {
		t.Errorf("unknown tokens: %v, want 0.5", p)
	}
	// A model that has only seen spam still gives scores in range.
	m := NewModel()
	m.Learn([]string{"body:x"}, true)
	if p, _ := m.Classify([]string{"body:x"}, 1); p <= 0.5 || p > 1 {
		t.Errorf("spam-only model: %v, want above 0.5", p)
	}
}

func TestForgetUndoesLearn(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	base := trained(t, 20)
	m := trained(t, 20)
	extraSpam, extraHam := Tokenize(synthetic(r, true)), Tokenize(synthetic(r, false))
	m.Learn(extraSpam, true)
	m.Learn(extraHam, false)
	if s, h := m.Counts(); s != 21 || h != 21 {
		t.Fatalf("after Learn: %d, %d", s, h)
	}
	m.Forget(extraSpam, true)
	m.Forget(extraHam, false)
	if s, h := m.Counts(); s != 20 || h != 20 {
		t.Errorf("after Forget: Counts() = %d, %d; want 20, 20", s, h)
	}
	if m.Tokens() != base.Tokens() {
		t.Errorf("after Forget: %d tokens, want %d", m.Tokens(), base.Tokens())
	}
	for tok, c := range base.tokens {
		if m.tokens[tok] != c {
			t.Errorf("token %q: %+v, want %+v", tok, m.tokens[tok], c)
		}
	}
	probe := Tokenize(synthetic(r, true))
	if got, want := score(m, probe), score(base, probe); got != want {
		t.Errorf("score after Forget %v, want %v", got, want)
	}
	// Forgetting more than was learned stops at zero.
	empty := NewModel()
	empty.Forget([]string{"body:x"}, true)
	if s, h := empty.Counts(); s != 0 || h != 0 || empty.Tokens() != 0 {
		t.Errorf("Forget on an empty model: %d, %d, %d tokens", s, h, empty.Tokens())
	}
}

func score(m *Model, tokens []string) float64 {
	p, _ := m.Classify(tokens, 0)
	return p
}

// Classify runs in the scanning goroutines while a correction is learned;
// -race checks the locking, the assertions that the scores stay sane.
func TestModelConcurrentUse(t *testing.T) {
	m := trained(t, 10)
	probe := Tokenize(synthetic(rand.New(rand.NewPCG(9, 10)), true))
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				if p, _ := m.Classify(probe, 3); p < 0 || p > 1 || math.IsNaN(p) {
					errs <- fmt.Sprintf("score %v", p)
					return
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		r := rand.New(rand.NewPCG(11, 12))
		for i := 0; i < 200; i++ {
			toks := Tokenize(synthetic(r, i%2 == 0))
			m.Learn(toks, i%2 == 0)
			m.Forget(toks, i%2 == 0)
		}
	}()
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	if s, h := m.Counts(); s != 10 || h != 10 {
		t.Errorf("Counts() = %d, %d after balanced Learn/Forget; want 10, 10", s, h)
	}
}

func TestChi2Q(t *testing.T) {
	// Reference values of the chi-square survival function.
	cases := []struct {
		x2   float64
		df   int
		want float64
	}{
		{0, 2, 1},
		{2, 2, math.Exp(-1)},
		{4, 4, 3 * math.Exp(-2)},
		{9.4877, 4, 0.05},
		{1000, 10, 0},
	}
	for _, c := range cases {
		if got := chi2Q(c.x2, c.df); math.Abs(got-c.want) > 1e-4 {
			t.Errorf("chi2Q(%v, %d) = %v, want %v", c.x2, c.df, got, c.want)
		}
	}
}
