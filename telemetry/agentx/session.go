package agentx

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/posteo/go-agentx/pdu"

	"github.com/gatewatch/gatewatch/telemetry"
	"github.com/gatewatch/gatewatch/telemetry/mib"
)

// session runs one connection: dial, Open, Register every subtree, then
// serve (on the reader goroutine) and Ping until the connection or ctx
// ends. registered says whether it got as far as serving; err is why it
// ended.
func (s *Subagent) session(ctx context.Context) (registered bool, err error) {
	network, address, err := dialAddress(s.o.Address)
	if err != nil {
		return false, err
	}
	d := net.Dialer{Timeout: s.o.Timeout}
	nc, err := d.DialContext(ctx, network, address)
	if err != nil {
		return false, fmt.Errorf("agentx: %w", err)
	}
	c := newConn(nc, s.o.Timeout)
	go c.readLoop(func(h header, payload []byte) { s.handle(c, h, payload) })
	defer func() {
		c.fail(errClosed)
		<-c.done // no reader of this connection outlives the session
	}()

	r, err := c.request(ctx, openPacket(s.o.Timeout, mib.Enterprise(), s.o.Description))
	if err != nil {
		return false, fmt.Errorf("agentx: opening a session: %w", err)
	}
	c.sessionID.Store(r.sessionID)
	s.countSession()
	for _, reg := range mib.Registrations() {
		if _, err := c.request(ctx, registerPacket(reg.Subtree, reg.Priority)); err != nil {
			return false, fmt.Errorf("agentx: registering %s: %w", reg.Subtree, err)
		}
	}

	s.cur.Store(c)
	defer s.cur.Store(nil) // before the connection closes, and before Run emits Disconnected
	s.emit(telemetry.Event{Type: telemetry.ChannelConnected, Channel: Channel})

	ping := time.NewTicker(s.o.PingInterval)
	defer ping.Stop()
	for {
		select {
		case <-ctx.Done():
			// Tell the master, so it drops our registrations now rather
			// than when it notices the closed socket.
			_ = c.send(pdu.Header{SessionID: c.sessionID.Load(), PacketID: c.packetID.Add(1)},
				&pdu.Close{Reason: pdu.ReasonShutdown})
			return true, fmt.Errorf("agentx: subagent stopped: %w", context.Cause(ctx))
		case <-c.done:
			return true, c.err
		case <-ping.C:
			// A master that is alive but stuck never closes the socket;
			// only an unanswered Ping shows it.
			if _, err := c.request(ctx, pingPacket{}); err != nil && ctx.Err() == nil {
				return true, fmt.Errorf("agentx: ping: %w", err)
			}
		}
	}
}
