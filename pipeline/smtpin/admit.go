package smtpin

import (
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/gatewatch/gatewatch/telemetry"
)

// admit decides whether a new connection is served, and hands it to the
// generation in force. Refusals happen here, before go-smtp greets: the
// client gets one reply line and the connection is closed.
func (r *Receiver) admit(raw net.Conn) {
	g := r.gen.Load()
	ap, _ := netip.ParseAddrPort(raw.RemoteAddr().String())
	ip := ap.Addr().Unmap()
	c := &clientConn{Conn: raw, sessionID: r.ids.New(), ip: ip, port: int(ap.Port()), opened: time.Now(), gen: g}
	c.relay = g.relay.contains(ip)
	c.trusted = c.relay || g.trust.contains(ip)

	if g.block.contains(ip) {
		r.refuseConn(c, telemetry.ReasonBlockedClient, fmt.Sprintf("554 5.7.1 %s Access denied for %s", g.cfg.Hostname, ip))
		return
	}
	if n := r.total.Add(1); n > int64(g.cfg.Limits.MaxConnections) {
		r.total.Add(-1)
		r.refuseConn(c, telemetry.ReasonConnectionLimit, fmt.Sprintf("421 4.7.0 %s Too many connections, try again later", g.cfg.Hostname))
		return
	}
	r.ipMu.Lock()
	n := r.perIP[ip] + 1
	if n > g.cfg.Limits.MaxConnectionsPerIP && !c.trusted {
		r.ipMu.Unlock()
		r.total.Add(-1)
		r.refuseConn(c, telemetry.ReasonConnectionPerIPLimit, fmt.Sprintf("421 4.7.0 %s Too many connections from %s, try again later", g.cfg.Hostname, ip))
		return
	}
	r.perIP[ip] = n
	r.ipMu.Unlock()

	c.out.onRefusal = r.libraryRefused
	c.onClose = r.release
	r.emit.Emit(telemetry.Event{Type: telemetry.SessionOpened, SessionID: c.sessionID, ClientIP: ip.String(), ClientPort: c.port})
	for !g.ln.offer(c) {
		// The generation was retired between Load and offer: use the new one.
		g = r.gen.Load()
		c.gen = g
	}
}

// refuseConn answers a connection it will not serve and closes it.
func (r *Receiver) refuseConn(c *clientConn, reason telemetry.Reason, reply string) {
	r.emit.Emit(telemetry.Event{Type: telemetry.SessionRefused, SessionID: c.sessionID, ClientIP: c.ip.String(),
		ClientPort: c.port, Reason: reason, Code: replyCode(reply), Text: reply})
	// The reply is written from its own goroutine so that a client that
	// does not read cannot stall the accept loop.
	go func() {
		_ = c.Conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
		_, _ = c.Conn.Write([]byte(reply + "\r\n"))
		_ = c.Conn.Close()
	}()
}

// release gives back a connection's slots when it closes.
func (r *Receiver) release(c *clientConn) {
	r.total.Add(-1)
	r.ipMu.Lock()
	if r.perIP[c.ip] <= 1 {
		delete(r.perIP, c.ip)
	} else {
		r.perIP[c.ip]--
	}
	r.ipMu.Unlock()
	r.emit.Emit(telemetry.Event{Type: telemetry.SessionClosed, SessionID: c.sessionID, ClientIP: c.ip.String(),
		ClientPort: c.port, Count: int64(c.messages.Load()), Duration: time.Since(c.opened), Err: c.endedBy()})
}

// libraryRefused counts a refusal go-smtp made on its own.
func (r *Receiver) libraryRefused(c *clientConn, reason telemetry.Reason, reply string) {
	typ := telemetry.MessageRefused
	r.emit.Emit(telemetry.Event{Type: typ, SessionID: c.sessionID, ClientIP: c.ip.String(), ClientPort: c.port,
		Reason: reason, Code: replyCode(reply), Text: reply})
}

func replyCode(reply string) int {
	if len(reply) < 3 {
		return 0
	}
	n := 0
	for _, ch := range reply[:3] {
		if ch < '0' || ch > '9' {
			return 0
		}
		n = n*10 + int(ch-'0')
	}
	return n
}
