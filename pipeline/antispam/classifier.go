package antispam

import (
	"fmt"
	"io"

	"github.com/gatewatch/gatewatch/pipeline"
	"github.com/gatewatch/gatewatch/pipeline/antispam/bayes"
)

// maxClassified bounds the bytes of a message the classifier reads.
const maxClassified = 4 << 20

// classifier is the statistical model in force, nil when off.
type classifier = *bayes.Model

func loadClassifier(path string) (classifier, error) {
	if path == "" {
		return nil, nil
	}
	m, err := bayes.Load(path)
	if err != nil {
		return nil, fmt.Errorf("load %s (train one with gatewatch train): %w", path, err)
	}
	return m, nil
}

// classify scores the message's tokens with the model.
func (s *Stage) classify(c *compiled, m *pipeline.Message, f *findings) {
	raw, err := io.ReadAll(io.LimitReader(m.Reader(), maxClassified))
	if err != nil {
		f.failed(groupClassifier)
		return
	}
	p, clues := c.model.Classify(bayes.Tokenize(raw), 3)
	detail := fmt.Sprintf("p=%.3f", p)
	if len(clues) > 0 {
		detail += " " + clues[0].Token
	}
	switch {
	case p >= bayes.DefaultSpamThreshold:
		f.add("BAYES_SPAM", c.score("BAYES_SPAM"), detail)
	case p >= bayes.DefaultProbableThreshold:
		f.add("BAYES_PROBABLE", c.score("BAYES_PROBABLE"), detail)
	case p <= 0.05:
		f.add("BAYES_HAM", c.score("BAYES_HAM"), detail)
	}
}

// Learning reports whether the stage has a classifier to teach.
func (s *Stage) Learning() bool { return s.cur.Load().model != nil }

// Learn teaches the classifier one message as spam or not, and saves the
// model, so a correction (a released false positive, reported spam)
// counts from the next message on and survives a restart.
func (s *Stage) Learn(raw []byte, spam bool) error {
	c := s.cur.Load()
	if c.model == nil {
		return fmt.Errorf("antispam: no classifier model configured (antispam.model)")
	}
	c.model.Learn(bayes.Tokenize(raw), spam)
	if err := c.model.Save(c.cfg.Model); err != nil {
		return fmt.Errorf("antispam: save the model: %w", err)
	}
	return nil
}
