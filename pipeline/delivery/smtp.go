package delivery

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/gatewatch/gatewatch/pipeline"
	"github.com/gatewatch/gatewatch/telemetry"
	"github.com/gatewatch/gatewatch/telemetry/stats"
)

// outConn is an open SMTP connection to a next hop.
type outConn struct {
	c      *smtpClient
	remote string
	route  string
	key    string // its name in the statistics' association registry
	used   int
}

func (oc *outConn) close(st *stats.Stats) {
	if oc == nil {
		return
	}
	oc.c.close()
	st.OutgoingConnections.Add(-1)
	st.RouteConns.With(oc.route).Add(-1)
	st.Associations.Close(oc.key)
}

// deliverSMTP runs one transaction for j, reusing the worker's connection.
func (p *pool) deliverSMTP(oc **outConn, j *job) []rcptResult {
	if isDown, lastErr := p.down(); isDown {
		p.d.opts.Stats.OutgoingConnectionsFailedByCache.Inc()
		res := allResults(j, deferred, pipeline.Reply{Code: 451, Enhanced: [3]int{4, 4, 1},
			Text: "Next hop recently unreachable: " + lastErr}, "", "")
		p.report(j, res, 0)
		return res
	}
	start := time.Now()
	for try := 0; ; try++ {
		if *oc == nil {
			c, err := p.connect()
			if err != nil {
				p.markDown(err)
				res := allResults(j, deferred, pipeline.Reply{Code: 451, Enhanced: [3]int{4, 4, 1}, Text: err.Error()}, "", "")
				p.report(j, res, time.Since(start))
				return res
			}
			p.markUp()
			*oc = c
		}
		reused := (*oc).used > 0
		res, broken, unanswered := p.transaction(*oc, j)
		if broken {
			p.d.opts.Stats.OutgoingConnectionErrors.Inc()
			(*oc).close(p.d.opts.Stats)
			*oc = nil
			// A kept connection the next hop has since dropped fails at
			// once: that is no verdict on the message, so try afresh.
			if reused && unanswered && try == 0 {
				continue
			}
		} else {
			(*oc).used++
		}
		p.report(j, res, time.Since(start))
		return res
	}
}

// transaction sends one message to some recipients. broken says the
// connection is unusable afterwards; unanswered that it broke before the
// next hop answered anything of this transaction.
func (p *pool) transaction(oc *outConn, j *job) (res []rcptResult, broken, unanswered bool) {
	e := j.msg.entry
	env := e.Meta.Envelope
	content, err := e.OpenContent()
	if err != nil {
		return allResults(j, deferred, localError("Cannot read the spooled message: %v", err), "", ""), false, false
	}
	defer content.Close()
	c := oc.c
	size := content.Size()

	if max := c.maxSize(); max > 0 && size > max {
		return allResults(j, failed, pipeline.Reply{Code: 552, Enhanced: [3]int{5, 3, 4},
			Text: fmt.Sprintf("Message of %d bytes exceeds the next hop's size limit of %d bytes", size, max)},
			oc.remote, telemetry.ReasonMessageSize), false, false
	}
	if e.Meta.EightBit && !c.has("8BITMIME") {
		return allResults(j, failed, pipeline.Reply{Code: 554, Enhanced: [3]int{5, 6, 3},
			Text: "Message has 8-bit content and the next hop does not offer 8BITMIME"},
			oc.remote, telemetry.ReasonNo8BitMIME), false, false
	}
	if env.SMTPUTF8 && !c.has("SMTPUTF8") {
		return allResults(j, failed, pipeline.Reply{Code: 553, Enhanced: [3]int{5, 6, 7},
			Text: "Message needs SMTPUTF8 and the next hop does not offer it"},
			oc.remote, telemetry.ReasonRejected), false, false
	}
	rcpts := make([]pipeline.Recipient, len(j.rcpts))
	for i, idx := range j.rcpts {
		rcpts[i] = env.Recipients[idx]
	}
	t, err := c.send(env, rcpts, content, size, e.Meta.EightBit)
	onward := c.has("DSN")
	res = make([]rcptResult, len(j.rcpts))
	for i, idx := range j.rcpts {
		r := rcptResult{idx: idx, remote: oc.remote, route: j.route.name, onward: onward}
		switch {
		case t.mail.Code != 0 && t.mail.Code/100 != 2:
			r.outcome, r.reply, r.reason = outcomeOf(t.mail)
		case t.rcpts[i].Code != 0 && t.rcpts[i].Code/100 != 2:
			r.outcome, r.reply, r.reason = outcomeOf(t.rcpts[i])
		case t.data.Code != 0:
			r.outcome, r.reply, r.reason = outcomeOf(t.data)
		default:
			r.outcome = deferred
			r.reply = pipeline.Reply{Code: 451, Enhanced: [3]int{4, 4, 2}, Text: "Connection to next hop broke"}
			if err != nil {
				r.reply.Text += ": " + err.Error()
			}
		}
		res[i] = r
	}
	if err != nil || t.mail.Code == 421 {
		return res, true, !t.answered
	}
	return res, false, false
}

// outcomeOf maps a reply to an outcome by its class.
func outcomeOf(r pipeline.Reply) (outcome, pipeline.Reply, telemetry.Reason) {
	switch r.Code / 100 {
	case 2:
		return delivered, r, ""
	case 5:
		return failed, r, telemetry.ReasonRejected
	}
	return deferred, r, ""
}

// connect opens a connection to the route's next hop, says EHLO and
// upgrades to TLS when the next hop offers STARTTLS. A failed upgrade falls
// back to a fresh plaintext connection, and the next hop is not asked for
// TLS again for an hour.
func (p *pool) connect() (*outConn, error) {
	cfg := p.d.cfg.Load()
	st := p.d.opts.Stats
	ctx, cancel := context.WithTimeout(context.Background(), cfg.Timeouts.Connect)
	defer cancel()
	addrs, err := p.d.resolver.addrs(ctx, p.route.target.addr)
	if err != nil {
		return nil, err
	}
	var lastErr error
	for _, a := range addrs {
		wantTLS := time.Now().UnixMilli() >= p.noTLSUntil.Load()
		oc, err := p.dial(a, wantTLS, cfg.Timeouts)
		if err != nil && wantTLS && errors.Is(err, errTLSFailed) {
			p.noTLSUntil.Store(time.Now().Add(time.Hour).UnixMilli())
			oc, err = p.dial(a, false, cfg.Timeouts)
		}
		if err == nil {
			st.OutgoingConnectionsTotal.Inc()
			st.OutgoingConnectionsMax.Observe(st.OutgoingConnections.Add(1))
			st.RouteConns.With(p.route.name).Add(1)
			st.RouteConnsAll.With(p.route.name).Inc()
			oc.route = p.route.name
			oc.key = fmt.Sprintf("out:%p", oc)
			st.Associations.Open(oc.key, p.route.name, oc.remote, false)
			return oc, nil
		}
		lastErr = err
	}
	return nil, lastErr
}

func (p *pool) dial(addr string, wantTLS bool, t Timeouts) (*outConn, error) {
	// No TCP keep-alive: command timeouts end dead transactions and the idle
	// timeout closes kept connections.
	raw, err := (&net.Dialer{Timeout: t.Connect, KeepAlive: -1}).Dial("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", addr, err)
	}
	host, _, _ := net.SplitHostPort(p.route.target.addr)
	c, err := newSMTPClient(raw, p.d.opts.Hostname, host, wantTLS, t)
	if err != nil {
		raw.Close()
		return nil, fmt.Errorf("%s: %w", addr, err)
	}
	return &outConn{c: c, remote: addr}, nil
}

func localError(format string, args ...any) pipeline.Reply {
	return pipeline.Reply{Code: 451, Enhanced: [3]int{4, 3, 0}, Text: fmt.Sprintf(format, args...)}
}
