package sigupdate

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/gatewatch/gatewatch/pipeline/antivirus/builtin"
)

// reader loads dir over and over while the test installs, and lets the
// test wait until it has seen a given signature count.
type reader struct {
	mu     sync.Mutex
	cond   *sync.Cond
	last   int
	loads  int
	failed error
	stop   bool
}

func newReader() *reader {
	r := &reader{}
	r.cond = sync.NewCond(&r.mu)
	return r
}

// run calls load until stopped or until it returns an error.
func (r *reader) run(load func() (int, error)) {
	for {
		n, err := load()
		r.mu.Lock()
		r.loads++
		r.last = n
		r.failed = err
		r.cond.Broadcast()
		if r.stop || err != nil {
			r.mu.Unlock()
			return
		}
		r.mu.Unlock()
	}
}

// waitFor returns once a load gave count, or the reader failed.
func (r *reader) waitFor(count int) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for r.last != count && r.failed == nil {
		r.cond.Wait()
	}
	return r.failed
}

func (r *reader) halt() (loads int, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stop = true
	return r.loads, r.failed
}

// swapUnderReader installs a and b alternately 20 times while load runs in
// a loop; load must fail for anything but a's or b's count.
func swapUnderReader(t *testing.T, a, b set, countA, countB int, load func(dir string) (int, error)) {
	ctx := context.Background()
	srcA, srcB := writeSet(t, a, nil), writeSet(t, b, nil)
	dir := filepath.Join(t.TempDir(), "sigs")
	if _, err := Install(ctx, srcA, dir, Options{}); err != nil {
		t.Fatal(err)
	}
	r := newReader()
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.run(func() (int, error) {
			n, err := load(dir)
			if err == nil && n != countA && n != countB {
				err = fmt.Errorf("loaded %d signatures, want %d or %d", n, countA, countB)
			}
			return n, err
		})
	}()
	for i := range 20 {
		src, want := srcB, countB
		if i%2 == 1 {
			src, want = srcA, countA
		}
		if _, err := Install(ctx, src, dir, Options{}); err != nil {
			t.Fatal(err)
		}
		// Each set must have been seen, so the reader was running across
		// every swap rather than before or after all of them.
		if err := r.waitFor(want); err != nil {
			t.Fatalf("after install %d: %v", i, err)
		}
	}
	loads, err := r.halt()
	<-done
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d loads", loads)
}

// With one file per set, plain builtin.LoadDir (what the gateway calls)
// sees either set whole. It would see half-written files if a set were
// written in place, no directory at all during a two-rename swap, and an
// empty listing (zero signatures, no error) if the replaced set were
// removed while a load still had the old directory open.
func TestSwapUnderLoadDir(t *testing.T) {
	a := set{"main.hdb": hdb("A", 3)}
	b := set{"main.hdb": hdb("B", 5)}
	swapUnderReader(t, a, b, 3, 5, func(dir string) (int, error) {
		db, err := builtin.LoadDir(dir)
		if err != nil {
			return 0, err
		}
		return db.Count, nil
	})
}

// builtin.LoadDir looks dir up again for every file, so with several files
// a load that straddles a swap can combine files of both sets (or miss
// one). A reader that checks the directory's identity around the load and
// loads again when it changed, as Current does, never gets a mix.
func TestSwapUnderCheckedReader(t *testing.T) {
	a := set{"main.hdb": hdb("A", 3), "daily.hsb": hsb("A", 2)}
	b := set{"main.hdb": hdb("B", 4), "other.hdb": hdb("B2", 6), "daily.hsb": hsb("B", 1)}
	swapUnderReader(t, a, b, 5, 11, func(dir string) (int, error) {
		for {
			before, err := identity(dir)
			if err != nil {
				return 0, err
			}
			db, err := builtin.LoadDir(dir)
			if after, _ := identity(dir); after != before {
				continue
			}
			if err != nil {
				return 0, err
			}
			return db.Count, nil
		}
	})
}

func TestCurrentDuringSwaps(t *testing.T) {
	a := set{"main.hdb": hdb("A", 3), "daily.hsb": hsb("A", 2)}
	b := set{"main.hdb": hdb("B", 4), "other.hdb": hdb("B2", 6), "daily.hsb": hsb("B", 1)}
	swapUnderReader(t, a, b, 5, 11, func(dir string) (int, error) {
		res, err := Current(dir)
		if err == nil && res.Version != specVersion(a) && res.Version != specVersion(b) {
			return 0, fmt.Errorf("Current gave version %s", res.Version)
		}
		return res.Signatures, err
	})
}

func TestConcurrentInstalls(t *testing.T) {
	a := set{"main.hdb": hdb("A", 3), "a.hsb": hsb("A", 2)}
	b := set{"main.hdb": hdb("B", 4), "b.hdb": hdb("B2", 1)}
	srcA, srcB := writeSet(t, a, nil), writeSet(t, b, nil)
	for round := range 10 {
		dir := filepath.Join(t.TempDir(), "sigs")
		if round%2 == 1 {
			if _, err := Install(context.Background(), writeSet(t, set{"x.hdb": hdb("x", 1)}, nil), dir, Options{}); err != nil {
				t.Fatal(err)
			}
		}
		start := make(chan struct{})
		errs := make(chan error, 2)
		for _, src := range []string{srcA, srcB} {
			go func() {
				<-start
				_, err := Install(context.Background(), src, dir, Options{})
				errs <- err
			}()
		}
		close(start)
		for range 2 {
			if err := <-errs; err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
		}
		if got := readSet(t, dir); !sameSet(got, a) && !sameSet(got, b) {
			t.Fatalf("round %d: dir holds %v", round, names(got))
		}
		if l := staged(t, dir); len(l) != 0 {
			t.Fatalf("round %d: left behind %v", round, l)
		}
		if l := retired(t, dir); len(l) > 1 {
			t.Fatalf("round %d: kept %v, want at most the last replaced set", round, l)
		}
	}
}
