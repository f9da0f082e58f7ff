package traps

import (
	"sync/atomic"

	"github.com/gatewatch/gatewatch/telemetry/stats"
)

// deliverer sends notifications to one receiver. Only its worker's
// goroutine calls deliver and close, one call at a time, so a deliverer
// needs no locking for its own state (gosnmp is not goroutine-safe). abort
// may be called from any goroutine, once: it makes a deliver in progress
// (an inform waiting for its acknowledgement) give up soon.
type deliverer interface {
	deliver(n *notification) error
	abort()
	close()
}

// worker feeds one deliverer from a bounded queue, so that a slow or dead
// receiver delays only its own notifications: when its queue is full, new
// ones are dropped and counted, and the others still go out.
type worker struct {
	d       deliverer
	queue   chan *notification
	sent    *stats.Counter
	fails   *stats.Counter
	aborted atomic.Bool
	done    chan struct{}
}

func startWorker(d deliverer, size int, sent, fails *stats.Counter) *worker {
	w := &worker{d: d, queue: make(chan *notification, size), sent: sent, fails: fails, done: make(chan struct{})}
	go w.run()
	return w
}

// offer queues n without ever blocking.
func (w *worker) offer(n *notification) {
	select {
	case w.queue <- n:
	default:
		w.fails.Inc()
	}
}

func (w *worker) run() {
	defer close(w.done)
	defer w.d.close()
	for n := range w.queue {
		if w.aborted.Load() {
			w.fails.Inc() // shutting down: what is left is not delivered
			continue
		}
		if err := w.d.deliver(n); err != nil {
			w.fails.Inc()
		} else {
			w.sent.Inc()
		}
	}
}

// finish lets the worker drain its queue and end. No offer may follow.
func (w *worker) finish() { close(w.queue) }

// abort gives up on what is still queued and on a delivery in progress.
func (w *worker) abort() {
	if w.aborted.CompareAndSwap(false, true) {
		w.d.abort()
	}
}
