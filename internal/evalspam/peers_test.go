package evalspam

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/gatewatch/gatewatch/internal/peers"
)

// parallel runs check on every held-out message with n goroutines and
// records the verdicts and the wall-clock time. A message whose check
// fails is retried once, then counted as an error (and not as caught).
func parallel(held []sample, n int, check func(msg []byte) (bool, error)) (result, error) {
	var res result
	verdicts := make([]bool, len(held))
	errs := make([]error, len(held))
	next := make(chan int)
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < n; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				verdicts[i], errs[i] = check(held[i].msg)
				if errs[i] != nil {
					verdicts[i], errs[i] = check(held[i].msg)
				}
			}
		}()
	}
	for i := range held {
		next <- i
	}
	close(next)
	wg.Wait()
	res.elapsed = time.Since(start)
	var first error
	for i, s := range held {
		if errs[i] != nil {
			res.errors++
			if first == nil {
				first = errs[i]
			}
		}
		res.add(s, verdicts[i])
	}
	return res, first
}

// runSpamAssassin trains SpamAssassin's Bayes on the training directories
// and has spamd classify the held-out messages through spamc, two at a
// time with two children (as peers.md measured it).
func runSpamAssassin(t *testing.T, dns, spamDir, hamDir string, held []sample) (result, *peers.Spamd) {
	t.Helper()
	start := time.Now()
	sa := peers.StartSpamd(t, peers.SpamdOptions{DNS: dns, Bayes: true,
		LearnSpam: []string{spamDir}, LearnHam: []string{hamDir}, Children: 2})
	t.Logf("SpamAssassin %s: sa-learn and start-up took %v; Bayes holds %d spam, %d ham",
		sa.Version, time.Since(start).Round(time.Second), sa.LearnedSpam, sa.LearnedHam)
	res, err := parallel(held, 2, func(msg []byte) (bool, error) {
		spam, _, err := sa.Check(t, msg)
		return spam, err
	})
	if err != nil {
		t.Errorf("spamc failed on %d messages, first: %v", res.errors, err)
	}
	sa.Stop(t)
	return res, sa
}

// runRspamd has rspamd classify the held-out messages through its HTTP
// interface, four at a time with two workers (as rspamc -n 4 does).
func runRspamd(t *testing.T, dns, dbDir string, held []sample) (result, *peers.Rspamd) {
	t.Helper()
	start := time.Now()
	rs := peers.StartRspamd(t, peers.RspamdOptions{DNS: dns, DBDir: dbDir, Workers: 2})
	t.Logf("rspamd %s: start-up took %v", rs.Version, time.Since(start).Round(time.Second))
	res, err := parallel(held, 4, func(msg []byte) (bool, error) {
		r, err := rs.Check(context.Background(), msg)
		return r.Spam(), err
	})
	if err != nil {
		t.Errorf("rspamd failed on %d messages, first: %v", res.errors, err)
	}
	rs.Stop(t)
	return res, rs
}
