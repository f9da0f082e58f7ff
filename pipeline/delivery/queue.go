package delivery

import "sync"

// fifo is an unbounded queue with a wake-up channel: producers never block,
// and any number of consumers can wait on ready().
type fifo[T any] struct {
	mu    sync.Mutex
	items []T
	head  int
	wake  chan struct{}
}

func newFIFO[T any]() *fifo[T] {
	return &fifo[T]{wake: make(chan struct{}, 1)}
}

func (q *fifo[T]) push(v T) {
	q.mu.Lock()
	q.items = append(q.items, v)
	q.mu.Unlock()
	q.signal()
}

func (q *fifo[T]) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// pop takes the oldest item, if any. When more remain it passes the
// wake-up on, so another waiting consumer starts too.
func (q *fifo[T]) pop() (T, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	var zero T
	if q.head == len(q.items) {
		return zero, false
	}
	v := q.items[q.head]
	q.items[q.head] = zero
	q.head++
	if q.head == len(q.items) {
		q.items, q.head = q.items[:0], 0
	} else {
		q.signal()
	}
	return v, true
}

func (q *fifo[T]) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items) - q.head
}

// ready is the wake-up channel to wait on when pop found nothing.
func (q *fifo[T]) ready() <-chan struct{} { return q.wake }
