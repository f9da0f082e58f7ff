package agentx

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/posteo/go-agentx/pdu"
)

// This file is one connection to the master: framing, serialised writes,
// and matching the master's Responses to our requests by packetID.

// errClosed is the reason of a connection we closed ourselves.
var errClosed = errors.New("agentx: connection closed")

// dialAddress splits an address in net-snmp's notation ("unix:/path",
// "tcp:host:port", or a bare "/path") into a network and an address.
func dialAddress(a string) (network, address string, err error) {
	switch {
	case strings.HasPrefix(a, "unix:"):
		network, address = "unix", strings.TrimPrefix(a, "unix:")
	case strings.HasPrefix(a, "tcp:"):
		network, address = "tcp", strings.TrimPrefix(a, "tcp:")
	case strings.HasPrefix(a, "/"):
		network, address = "unix", a
	default:
		return "", "", fmt.Errorf("agentx: address %q: want unix:/path or tcp:host:port", a)
	}
	if address == "" {
		return "", "", fmt.Errorf("agentx: address %q has no path or host", a)
	}
	return network, address, nil
}

// conn is one transport connection and the AgentX session on it.
type conn struct {
	nc      net.Conn
	timeout time.Duration

	wmu sync.Mutex // one PDU at a time on the wire: responses, Ping, Notify

	sessionID atomic.Uint32 // given by the master in the Open response
	packetID  atomic.Uint32 // our last request's packetID

	pmu     sync.Mutex
	pending map[uint32]chan *packet

	done    chan struct{} // closed when the reader has stopped
	errOnce sync.Once
	err     error // why the connection ended; read after done
}

func newConn(nc net.Conn, timeout time.Duration) *conn {
	return &conn{nc: nc, timeout: timeout, pending: map[uint32]chan *packet{}, done: make(chan struct{})}
}

// fail ends the connection; the first reason given is kept.
func (c *conn) fail(err error) {
	c.errOnce.Do(func() {
		c.err = err
		_ = c.nc.Close()
	})
}

// readLoop reads PDUs until the connection fails and hands each to handle,
// on this goroutine: handlers only look up a sorted slice, and answering
// in order is what the master expects anyway. A payload length beyond
// maxPayload or a short read means the framing is lost, so the connection
// is dropped; everything else is the handler's to judge.
func (c *conn) readLoop(handle func(header, []byte)) {
	defer close(c.done)
	br := bufio.NewReader(c.nc)
	hb := make([]byte, headerSize)
	for {
		if _, err := io.ReadFull(br, hb); err != nil {
			c.fail(fmt.Errorf("agentx: reading from the master: %w", err))
			return
		}
		h, _ := parseHeader(hb) // cannot fail on 20 bytes
		if h.payloadLen > maxPayload {
			c.fail(fmt.Errorf("agentx: master sent a %d-byte payload (type %d); stream out of sync", h.payloadLen, h.typ))
			return
		}
		payload := make([]byte, h.payloadLen)
		if _, err := io.ReadFull(br, payload); err != nil {
			c.fail(fmt.Errorf("agentx: reading a %d-byte payload: %w", h.payloadLen, err))
			return
		}
		handle(h, payload)
	}
}

// write sends one encoded PDU. A write that fails or stalls past the
// timeout ends the connection: the stream would be out of sync otherwise.
func (c *conn) write(b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.nc.SetWriteDeadline(time.Now().Add(c.timeout))
	if _, err := c.nc.Write(b); err != nil {
		err = fmt.Errorf("agentx: writing to the master: %w", err)
		c.fail(err)
		return err
	}
	return nil
}

// send encodes and writes a PDU.
func (c *conn) send(h pdu.Header, p pdu.Packet) error {
	b, err := marshal(h, p)
	if err != nil {
		return err
	}
	return c.write(b)
}

// deliver hands a Response to the request waiting for it and reports
// whether one was.
func (c *conn) deliver(p *packet) bool {
	c.pmu.Lock()
	ch := c.pending[p.packetID]
	delete(c.pending, p.packetID)
	c.pmu.Unlock()
	if ch == nil {
		return false
	}
	ch <- p // buffered, and removed from pending: never blocks
	return true
}

// request sends p in our session and waits for the master's Response,
// until the timeout, ctx, or the end of the connection. A Response with an
// error is returned as an error.
func (c *conn) request(ctx context.Context, p pdu.Packet) (*packet, error) {
	id := c.packetID.Add(1)
	ch := make(chan *packet, 1)
	c.pmu.Lock()
	c.pending[id] = ch
	c.pmu.Unlock()
	defer func() {
		c.pmu.Lock()
		delete(c.pending, id)
		c.pmu.Unlock()
	}()
	if err := c.send(pdu.Header{SessionID: c.sessionID.Load(), PacketID: id}, p); err != nil {
		return nil, err
	}
	timer := time.NewTimer(c.timeout)
	defer timer.Stop()
	select {
	case r := <-ch:
		if r.resError != pdu.ErrorNone {
			return r, fmt.Errorf("agentx: master answered %v to %v (index %d)", r.resError, p.Type(), r.resIndex)
		}
		return r, nil
	case <-timer.C:
		return nil, fmt.Errorf("agentx: no response to %v within %v", p.Type(), c.timeout)
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-c.done:
		return nil, c.err
	}
}
