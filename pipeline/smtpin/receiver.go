package smtpin

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatewatch/gatewatch/pipeline"
	"github.com/gatewatch/gatewatch/pipeline/spool"
	"github.com/gatewatch/gatewatch/telemetry"
)

// Receiver accepts SMTP connections and turns accepted messages into
// spooled ones.
type Receiver struct {
	spool   *spool.Spool
	scanner *pipeline.Scanner
	emit    telemetry.Emitter
	ids     *spool.IDs

	aftercare Aftercare

	gen atomic.Pointer[generation]

	mu        sync.Mutex // guards listeners and retired
	listeners map[string]net.Listener
	retired   []*generation
	accepting sync.WaitGroup

	ipMu  sync.Mutex
	perIP map[netip.Addr]int
	total atomic.Int64

	copyBufs sync.Pool // *[]byte for copying message content: io.Copy would allocate one per message
}

// New prepares a receiver for cfg; Start opens its listeners.
func New(cfg Config, sp *spool.Spool, scanner *pipeline.Scanner, emit telemetry.Emitter) (*Receiver, error) {
	r := &Receiver{spool: sp, scanner: scanner, emit: emit, ids: spool.NewIDs(),
		listeners: map[string]net.Listener{}, perIP: map[netip.Addr]int{}}
	r.copyBufs.New = func() any { b := make([]byte, 32<<10); return &b }
	g, err := compile(cfg, backend{r})
	if err != nil {
		return nil, err
	}
	r.gen.Store(g)
	return r, nil
}

// Start opens every configured listener and starts serving.
func (r *Receiver) Start() error {
	g := r.gen.Load()
	opened, err := r.openListeners(g.cfg.Listen)
	if err != nil {
		return err
	}
	g.start()
	r.mu.Lock()
	defer r.mu.Unlock()
	for addr, l := range opened {
		r.listeners[addr] = l
		r.serve(l)
	}
	return nil
}

// openListeners binds the addresses not bound yet. On any failure it closes
// what it opened, so a failed reload leaves nothing behind.
func (r *Receiver) openListeners(addrs []string) (map[string]net.Listener, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	opened := map[string]net.Listener{}
	for _, a := range addrs {
		if _, ok := r.listeners[a]; ok {
			continue
		}
		// No TCP keep-alive: the per-phase timeouts already end dead
		// sessions, and the option costs system calls on every accept.
		l, err := (&net.ListenConfig{KeepAlive: -1}).Listen(context.Background(), "tcp", a)
		if err != nil {
			for _, o := range opened {
				o.Close()
			}
			return nil, fmt.Errorf("smtp.listen: %w", err)
		}
		opened[a] = l
	}
	return opened, nil
}

// Addrs returns the bound listener addresses.
func (r *Receiver) Addrs() []net.Addr {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]net.Addr, 0, len(r.listeners))
	for _, l := range r.listeners {
		out = append(out, l.Addr())
	}
	return out
}

// Reload puts cfg in force for new connections. Sessions already open
// finish under the configuration they started with. Listeners that cfg no
// longer names are closed; new ones are opened first, so a bind failure
// leaves the old configuration fully in force.
func (r *Receiver) Reload(cfg Config) error {
	g, err := compile(cfg, backend{r})
	if err != nil {
		return err
	}
	opened, err := r.openListeners(cfg.Listen)
	if err != nil {
		return err
	}
	g.start()
	old := r.gen.Swap(g)
	r.mu.Lock()
	for addr, l := range opened {
		r.listeners[addr] = l
		r.serve(l)
	}
	for addr, l := range r.listeners {
		if !slices.Contains(cfg.Listen, addr) {
			l.Close()
			delete(r.listeners, addr)
		}
	}
	r.retired = append(r.retired, old)
	r.mu.Unlock()
	go r.retire(old)
	return nil
}

// retire waits for a generation's sessions to end, then lets it go.
func (r *Receiver) retire(g *generation) {
	_ = g.server.Shutdown(context.Background())
	r.mu.Lock()
	defer r.mu.Unlock()
	r.retired = slices.DeleteFunc(r.retired, func(o *generation) bool { return o == g })
}

// Shutdown stops accepting, lets open sessions finish until ctx ends, then
// closes what is left.
func (r *Receiver) Shutdown(ctx context.Context) error {
	r.mu.Lock()
	for addr, l := range r.listeners {
		l.Close()
		delete(r.listeners, addr)
	}
	gens := append([]*generation{r.gen.Load()}, r.retired...)
	r.mu.Unlock()
	r.accepting.Wait()
	var errs []error
	for _, g := range gens {
		if err := g.server.Shutdown(ctx); err != nil && !errors.Is(err, context.Canceled) && err.Error() != "smtp: server already closed" {
			errs = append(errs, err)
		}
		if ctx.Err() != nil {
			g.server.Close()
		}
	}
	return errors.Join(errs...)
}

// serve runs the accept loop of one listener. Called with r.mu held.
func (r *Receiver) serve(l net.Listener) {
	r.accepting.Add(1)
	go func() {
		defer r.accepting.Done()
		var backoff time.Duration
		for {
			c, err := l.Accept()
			if err != nil {
				if errors.Is(err, net.ErrClosed) {
					return
				}
				// Out of file descriptors and the like: wait, don't spin.
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				time.Sleep(backoff)
				continue
			}
			backoff = 0
			r.admit(c)
		}
	}()
}
