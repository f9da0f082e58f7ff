package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatewatch/gatewatch/pipeline/delivery"
	"github.com/gatewatch/gatewatch/pipeline/spool"
	"github.com/gatewatch/gatewatch/pipeline/store"
	"github.com/gatewatch/gatewatch/telemetry/prom"
)

// adminServer is the admin HTTP listener: metrics, health, statistics and
// queue operations.
type adminServer struct {
	gw      *gateway
	handler http.Handler
	ready   atomic.Bool

	mu  sync.Mutex
	srv *http.Server
	ln  net.Listener
}

func newAdminServer(gw *gateway) *adminServer {
	a := &adminServer{gw: gw}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", prom.Handler(gw.bus.Stats()))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("GET /readyz", a.readyz)
	mux.HandleFunc("GET /stats", a.stats)
	mux.HandleFunc("GET /queue", a.queueList)
	mux.HandleFunc("GET /queue/{id}", a.queueShow)
	mux.HandleFunc("POST /queue/{op}", a.queueOp)
	mux.HandleFunc("POST /quarantine/{op}", a.quarantineOp)
	mux.HandleFunc("POST /antivirus/update", a.antivirusUpdate)
	mux.HandleFunc("POST /integration/events", a.integrationEvents)
	a.handler = mux
	return a
}

func (a *adminServer) setReady(v bool) { a.ready.Store(v) }

// listen starts serving on addr ("" disables the listener).
func (a *adminServer) listen(addr string) error {
	if addr == "" {
		return nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("admin.listen: %w", err)
	}
	srv := &http.Server{Handler: a.handler, ReadHeaderTimeout: 10 * time.Second}
	a.mu.Lock()
	a.srv, a.ln = srv, ln
	a.mu.Unlock()
	go func() { _ = srv.Serve(ln) }()
	return nil
}

// move re-listens on a new address after a reload.
func (a *adminServer) move(addr string) error {
	a.mu.Lock()
	old := a.srv
	a.srv, a.ln = nil, nil
	a.mu.Unlock()
	if err := a.listen(addr); err != nil {
		return err
	}
	if old != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = old.Shutdown(ctx)
	}
	return nil
}

func (a *adminServer) close() {
	a.mu.Lock()
	srv := a.srv
	a.mu.Unlock()
	if srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}
}

func (a *adminServer) readyz(w http.ResponseWriter, _ *http.Request) {
	if !a.ready.Load() {
		http.Error(w, "not ready", http.StatusServiceUnavailable)
		return
	}
	fmt.Fprintln(w, "ready")
}

func (a *adminServer) stats(w http.ResponseWriter, _ *http.Request) {
	st := a.gw.bus.Stats()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_ = st.Snapshot().WriteText(w, st.Started())
}

func (a *adminServer) queueList(w http.ResponseWriter, _ *http.Request) {
	items, err := listQueue(a.gw.spool.Dir())
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, opResult{Error: err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, items)
}

func (a *adminServer) queueShow(w http.ResponseWriter, r *http.Request) {
	item, err := showQueued(a.gw.spool.Dir(), r.PathValue("id"))
	if err != nil {
		writeJSON(w, statusFor(err), opResult{Error: err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, item)
}

// opResult is the answer to a queue operation.
type opResult struct {
	OK    bool   `json:"ok"`
	Count int    `json:"count,omitempty"`
	Error string `json:"error,omitempty"`
}

func (a *adminServer) queueOp(w http.ResponseWriter, r *http.Request) {
	if !fromLoopback(r) {
		writeJSON(w, http.StatusForbidden, opResult{Error: "queue operations are only accepted from loopback"})
		return
	}
	id := r.URL.Query().Get("id")
	d := a.gw.delivery
	var err error
	n := 1
	switch op := r.PathValue("op"); op {
	case "hold":
		err = d.Hold(id)
	case "release":
		err = d.Release(id)
	case "delete":
		err = d.Delete(id)
	case "flush":
		if id != "" && !spool.ValidID(id) {
			err = fmt.Errorf("invalid queue ID %q", id)
			break
		}
		n, err = d.Flush(id)
	default:
		writeJSON(w, http.StatusNotFound, opResult{Error: fmt.Sprintf("unknown queue operation %q", op)})
		return
	}
	if err != nil {
		writeJSON(w, statusFor(err), opResult{Error: err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, opResult{OK: true, Count: n})
}

func (a *adminServer) quarantineOp(w http.ResponseWriter, r *http.Request) {
	if !fromLoopback(r) {
		writeJSON(w, http.StatusForbidden, quarantineResult{Error: "quarantine operations are only accepted from loopback"})
		return
	}
	id, op := r.URL.Query().Get("id"), r.PathValue("op")
	if op != "release" && op != "delete" {
		writeJSON(w, http.StatusNotFound, quarantineResult{Error: fmt.Sprintf("unknown quarantine operation %q", op)})
		return
	}
	var to []string
	if v := r.URL.Query().Get("to"); v != "" {
		to = strings.Split(v, ",")
	}
	if err := store.CheckID(id); err != nil {
		writeJSON(w, http.StatusBadRequest, quarantineResult{Error: err.Error()})
		return
	}
	if err := checkAddresses(to); err != nil {
		writeJSON(w, http.StatusBadRequest, quarantineResult{Error: "to: " + err.Error()})
		return
	}
	var queued, warning string
	var err error
	st := a.gw.policy.store
	if op == "delete" {
		_, err = st.Delete(id, "admin API")
	} else {
		inject, learn := learningRelease(injectInto(a.gw.spool))
		var e store.Entry
		e, queued, err = st.Release(id, to, inject, "admin API")
		if err == nil {
			if lerr := a.gw.spam.learnReleased(e, learn()); lerr != nil {
				warning = "released, but the classifier did not learn it: " + lerr.Error()
			}
		}
	}
	switch {
	case errors.Is(err, store.ErrNotFound):
		writeJSON(w, http.StatusNotFound, quarantineResult{Error: err.Error()})
	case err != nil:
		writeJSON(w, http.StatusInternalServerError, quarantineResult{Error: err.Error()})
	default:
		writeJSON(w, http.StatusOK, quarantineResult{OK: true, Queued: queued, Warning: warning})
	}
}

func statusFor(err error) int {
	switch {
	case errors.Is(err, spool.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, delivery.ErrBusy):
		return http.StatusConflict
	}
	return http.StatusBadRequest
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// fromLoopback says whether the request came over loopback: operations
// that change the gateway take no authentication, so only local users.
func fromLoopback(r *http.Request) bool {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	return err == nil && ap.Addr().IsLoopback()
}
