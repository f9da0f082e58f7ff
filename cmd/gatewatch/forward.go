package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatewatch/gatewatch/telemetry"
)

// forwarded tells the events a helper process may hand to the gateway.
func forwarded(t telemetry.Type) bool {
	return t == telemetry.IntegrationSession || t == telemetry.IntegrationVerdict || t == telemetry.IntegrationError
}

const (
	forwardQueue = 10000 // events waiting for the gateway; more are dropped and counted
	forwardBatch = 200
	forwardEvery = 200 * time.Millisecond
)

// forwarder hands the integration events of a helper process (cgp-helper)
// to the running gateway's admin listener, so that they reach Prometheus,
// the MIB, CEF and the traps like the gateway's own; the helper's log
// keeps them either way. It never blocks the caller: a gateway that is
// down or slow costs events, counted, not mail.
type forwarder struct {
	local   telemetry.Emitter
	url     string
	client  *http.Client
	queue   chan telemetry.Event
	dropped atomic.Int64
	done    chan struct{}
	once    sync.Once
}

func newForwarder(local telemetry.Emitter, adminAddr string) *forwarder {
	f := &forwarder{local: local, url: "http://" + adminAddr + "/integration/events", client: &http.Client{Timeout: 5 * time.Second},
		queue: make(chan telemetry.Event, forwardQueue), done: make(chan struct{})}
	go f.run()
	return f
}

// Emit implements telemetry.Emitter.
func (f *forwarder) Emit(ev telemetry.Event) {
	if ev.Time.IsZero() {
		ev.Time = time.Now()
	}
	f.local.Emit(ev)
	if !forwarded(ev.Type) {
		return
	}
	select {
	case f.queue <- ev:
	default:
		f.dropped.Add(1)
	}
}

func (f *forwarder) run() {
	defer close(f.done)
	t := time.NewTicker(forwardEvery)
	defer t.Stop()
	var batch []telemetry.Event
	failing := false
	flush := func() {
		if len(batch) == 0 {
			return
		}
		err := f.post(batch)
		switch {
		case err != nil && !failing:
			failing = true
			f.local.Emit(telemetry.Event{Type: telemetry.IntegrationError, Mode: "cgp", Err: "events not handed to the gateway (they stay in this log): " + err.Error()})
		case err == nil:
			failing = false
		}
		if err != nil {
			f.dropped.Add(int64(len(batch)))
		}
		batch = batch[:0]
	}
	for {
		select {
		case ev, ok := <-f.queue:
			if !ok {
				flush()
				return
			}
			if batch = append(batch, ev); len(batch) >= forwardBatch {
				flush()
			}
		case <-t.C:
			flush()
		}
	}
}

func (f *forwarder) post(batch []telemetry.Event) error {
	body, err := json.Marshal(batch)
	if err != nil {
		return err
	}
	resp, err := f.client.Post(f.url, "application/json", bytes.NewReader(body))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("gateway answered %s", resp.Status)
	}
	return nil
}

// Close sends what is queued and stops.
func (f *forwarder) Close() {
	f.once.Do(func() {
		close(f.queue)
		<-f.done
		if n := f.dropped.Load(); n > 0 {
			f.local.Emit(telemetry.Event{Type: telemetry.IntegrationError, Mode: "cgp", Count: n,
				Err: fmt.Sprintf("%d events were not handed to the gateway (queue full or gateway unreachable); this log has them", n)})
		}
	})
}

// integrationEvents takes the events of a helper process into the bus.
func (a *adminServer) integrationEvents(w http.ResponseWriter, r *http.Request) {
	if !fromLoopback(r) {
		writeJSON(w, http.StatusForbidden, map[string]string{"error": "events are only accepted from loopback"})
		return
	}
	var evs []telemetry.Event
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 16<<20))
	if err := dec.Decode(&evs); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "events: " + err.Error()})
		return
	}
	for _, ev := range evs {
		if !forwarded(ev.Type) || ev.Mode != "cgp" {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": fmt.Sprintf("event type %d for mode %q is not taken from helpers", ev.Type, ev.Mode)})
			return
		}
	}
	for _, ev := range evs {
		a.gw.bus.Emit(ev)
	}
	writeJSON(w, http.StatusOK, map[string]int{"accepted": len(evs)})
}
