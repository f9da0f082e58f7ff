package bayes

import (
	"math"
	"sync"
)

// Model is what the classifier has learned: for each token, in how many
// spam and how many ham messages it occurred, and how many messages of each
// class were learned.
//
// A Model is safe for concurrent use: Classify takes a read lock, so the
// scanning goroutines of the gateway score in parallel, and Learn and Forget
// lock it internally, so a correction can be learned while mail flows.
type Model struct {
	mu       sync.RWMutex
	tokens   map[string]counts
	spamMsgs uint32
	hamMsgs  uint32
}

// counts are per-token message counts. 32 bits hold four billion messages,
// far beyond any training set, and halve the memory of a large model.
type counts struct {
	spam, ham uint32
}

// NewModel returns an empty model.
func NewModel() *Model {
	return &Model{tokens: make(map[string]counts)}
}

// Learn records one message of the given class. tokens must be distinct, as
// Tokenize returns them: a token counts once per message, however often it
// occurs in it.
func (m *Model) Learn(tokens []string, spam bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if spam {
		m.spamMsgs = incr(m.spamMsgs)
	} else {
		m.hamMsgs = incr(m.hamMsgs)
	}
	for _, t := range tokens {
		c := m.tokens[t]
		if spam {
			c.spam = incr(c.spam)
		} else {
			c.ham = incr(c.ham)
		}
		m.tokens[t] = c
	}
}

// Forget undoes Learn(tokens, spam): use it with the same message and class
// to take back a message that was learned as the wrong class, then Learn it
// as the right one. Counts never go below zero, so forgetting a message that
// was never learned cannot corrupt the model, only weaken it.
func (m *Model) Forget(tokens []string, spam bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if spam {
		m.spamMsgs = decr(m.spamMsgs)
	} else {
		m.hamMsgs = decr(m.hamMsgs)
	}
	for _, t := range tokens {
		c, ok := m.tokens[t]
		if !ok {
			continue
		}
		if spam {
			c.spam = decr(c.spam)
		} else {
			c.ham = decr(c.ham)
		}
		if c == (counts{}) {
			delete(m.tokens, t)
		} else {
			m.tokens[t] = c
		}
	}
}

// Counts returns the number of spam and ham messages learned.
func (m *Model) Counts() (spamMsgs, hamMsgs int) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return int(m.spamMsgs), int(m.hamMsgs)
}

// Tokens returns the number of distinct tokens the model holds.
func (m *Model) Tokens() int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return len(m.tokens)
}

// incr and decr saturate instead of wrapping around: a wrapped counter would
// silently turn a spam token into a ham token.
func incr(n uint32) uint32 {
	if n == math.MaxUint32 {
		return n
	}
	return n + 1
}

func decr(n uint32) uint32 {
	if n == 0 {
		return 0
	}
	return n - 1
}
