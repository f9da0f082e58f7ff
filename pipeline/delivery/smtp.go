package delivery

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/gatewatch/gatewatch/pipeline"
	"github.com/gatewatch/gatewatch/telemetry"
	"github.com/gatewatch/gatewatch/telemetry/stats"
)

// outConn is an open SMTP connection to a next hop.
type outConn struct {
	c      *smtp.Client
	raw    net.Conn
	remote string
	tls    bool
	used   int
}

func (oc *outConn) close(st *stats.Stats) {
	if oc == nil {
		return
	}
	_ = oc.raw.SetDeadline(time.Now().Add(2 * time.Second))
	if err := oc.c.Quit(); err != nil {
		oc.c.Close()
	}
	oc.raw.Close()
	st.OutgoingConnections.Add(-1)
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
		res, broken, beforeMail := p.transaction(*oc, j)
		if broken {
			p.d.opts.Stats.OutgoingConnectionErrors.Inc()
			(*oc).close(p.d.opts.Stats)
			*oc = nil
			// A kept connection the next hop has since dropped fails at
			// once: that is no verdict on the message, so try afresh.
			if reused && beforeMail && try == 0 {
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
// connection is unusable afterwards; beforeMail that it broke before the
// next hop accepted anything.
func (p *pool) transaction(oc *outConn, j *job) (res []rcptResult, broken, beforeMail bool) {
	e := j.msg.entry
	env := e.Meta.Envelope
	content, err := e.OpenContent()
	if err != nil {
		return allResults(j, deferred, localError("Cannot read the spooled message: %v", err), "", ""), false, false
	}
	defer content.Close()
	c := oc.c
	size := content.Size()

	if max, ok := c.MaxMessageSize(); ok && max > 0 && size > int64(max) {
		return allResults(j, failed, pipeline.Reply{Code: 552, Enhanced: [3]int{5, 3, 4},
			Text: fmt.Sprintf("Message of %d bytes exceeds the next hop's size limit of %d bytes", size, max)},
			oc.remote, telemetry.ReasonMessageSize), false, false
	}
	if ok, _ := c.Extension("8BITMIME"); e.Meta.EightBit && !ok {
		if res, dead := staleGreeting(c, oc, j); dead {
			return res, true, true
		}
		return allResults(j, failed, pipeline.Reply{Code: 554, Enhanced: [3]int{5, 6, 3},
			Text: "Message has 8-bit content and the next hop does not offer 8BITMIME"},
			oc.remote, telemetry.ReasonNo8BitMIME), false, false
	}
	if ok, _ := c.Extension("SMTPUTF8"); env.SMTPUTF8 && !ok {
		if res, dead := staleGreeting(c, oc, j); dead {
			return res, true, true
		}
		return allResults(j, failed, pipeline.Reply{Code: 553, Enhanced: [3]int{5, 6, 7},
			Text: "Message needs SMTPUTF8 and the next hop does not offer it"},
			oc.remote, telemetry.ReasonRejected), false, false
	}
	dsnOnward, _ := c.Extension("DSN")

	mo := &smtp.MailOptions{Size: size, Return: smtp.DSNReturn(env.Ret), EnvelopeID: env.EnvID, UTF8: env.SMTPUTF8}
	if err := c.Mail(env.From, mo); err != nil {
		o, reply, reason, brk := classify(err)
		if !brk {
			_ = c.Reset()
		}
		return allResults(j, o, reply, oc.remote, reason), brk, true
	}
	res = make([]rcptResult, 0, len(j.rcpts))
	var accepted []int
	for n, idx := range j.rcpts {
		rc := env.Recipients[idx]
		ro := &smtp.RcptOptions{OriginalRecipientType: smtp.DSNAddressType(strings.ToUpper(rc.ORcptType)), OriginalRecipient: rc.ORcpt}
		for _, v := range rc.Notify {
			ro.Notify = append(ro.Notify, smtp.DSNNotify(v))
		}
		if rc.ORcpt != "" && rc.ORcptType == "" {
			ro.OriginalRecipientType = smtp.DSNAddressTypeRFC822
		}
		err := c.Rcpt(rc.Addr, ro)
		if err == nil {
			accepted = append(accepted, len(res))
			res = append(res, rcptResult{idx: idx, remote: oc.remote, route: j.route.name, onward: dsnOnward})
			continue
		}
		o, reply, reason, brk := classify(err)
		res = append(res, rcptResult{idx: idx, outcome: o, reply: reply, remote: oc.remote, route: j.route.name, reason: reason})
		if brk {
			for _, rest := range j.rcpts[n+1:] {
				res = append(res, rcptResult{idx: rest, outcome: deferred, reply: reply, remote: oc.remote, route: j.route.name})
			}
			setOutcome(res, accepted, deferred, reply, "")
			return res, true, len(accepted) == 0
		}
	}
	if len(accepted) == 0 {
		_ = c.Reset()
		return res, false, false
	}
	w, err := c.Data()
	if err == nil {
		if _, err = io.Copy(w, content); err == nil {
			var resp *smtp.DataResponse
			resp, err = w.CloseWithResponse()
			if err == nil {
				ok := pipeline.Reply{Code: 250, Enhanced: [3]int{2, 0, 0}, Text: resp.StatusText}
				setOutcome(res, accepted, delivered, ok, "")
				return res, false, false
			}
		} else {
			err = fmt.Errorf("send message content: %w", err)
		}
	}
	o, reply, reason, brk := classify(err)
	if !brk {
		_ = c.Reset()
	}
	setOutcome(res, accepted, o, reply, reason)
	return res, brk, false
}

// staleGreeting checks, before an extension's absence fails a message,
// that the connection is alive: after RSET go-smtp's client greets again
// on first use, and when the next hop has dropped the kept connection
// meanwhile that greeting fails and Extension reports every extension as
// absent. dead means the connection is unusable; res then defers j.
func staleGreeting(c *smtp.Client, oc *outConn, j *job) (res []rcptResult, dead bool) {
	if err := c.Noop(); err != nil {
		return allResults(j, deferred, pipeline.Reply{Code: 451, Enhanced: [3]int{4, 4, 2},
			Text: "Connection to next hop broke: " + err.Error()}, oc.remote, ""), true
	}
	return nil, false
}

func setOutcome(res []rcptResult, which []int, o outcome, reply pipeline.Reply, reason telemetry.Reason) {
	for _, i := range which {
		res[i].outcome, res[i].reply, res[i].reason = o, reply, reason
	}
}

// classify maps an error of the SMTP client to an outcome. A reply from
// the next hop decides by its class; anything else (I/O, timeout) means
// the connection is gone and the attempt is deferred.
func classify(err error) (outcome, pipeline.Reply, telemetry.Reason, bool) {
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		reply := pipeline.Reply{Code: se.Code, Enhanced: [3]int(se.EnhancedCode), Text: se.Message}
		if se.EnhancedCode == smtp.NoEnhancedCode || se.EnhancedCode == smtp.EnhancedCodeNotSet {
			reply.Enhanced = [3]int{se.Code / 100, 0, 0}
		}
		switch {
		case se.Code >= 500:
			return failed, reply, telemetry.ReasonRejected, false
		case se.Code >= 400:
			// 421 means the next hop is closing the connection.
			return deferred, reply, "", se.Code == 421
		}
	}
	return deferred, pipeline.Reply{Code: 451, Enhanced: [3]int{4, 4, 2}, Text: "Connection to next hop broke: " + err.Error()}, "", true
}

// connect opens a connection to the route's next hop, says EHLO and
// upgrades to TLS when the next hop offers STARTTLS (opportunistic: the
// certificate is not verified, and a failed upgrade falls back to a fresh
// plaintext connection, as Postfix's "may" level does).
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
			return oc, nil
		}
		lastErr = err
	}
	return nil, lastErr
}

var errTLSFailed = errors.New("STARTTLS failed")

func (p *pool) dial(addr string, wantTLS bool, t Timeouts) (*outConn, error) {
	// No TCP keep-alive: command timeouts end dead transactions and the idle
	// timeout closes kept connections.
	raw, err := (&net.Dialer{Timeout: t.Connect, KeepAlive: -1}).Dial("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", addr, err)
	}
	c := newClient(raw, t)
	if err := c.Hello(p.d.opts.Hostname); err != nil {
		raw.Close()
		return nil, fmt.Errorf("greeting from %s: %w", addr, err)
	}
	oc := &outConn{c: c, raw: raw, remote: addr}
	if ok, _ := c.Extension("STARTTLS"); !ok || !wantTLS {
		return oc, nil
	}
	host, _, _ := net.SplitHostPort(p.route.target.addr)
	tc, err := startTLS(raw, host, t.Command)
	if err != nil {
		raw.Close()
		return nil, fmt.Errorf("%w with %s: %v", errTLSFailed, addr, err)
	}
	c = newClient(&greetedConn{Conn: tc}, t)
	if err := c.Hello(p.d.opts.Hostname); err != nil {
		tc.Close()
		return nil, fmt.Errorf("%w with %s: EHLO after STARTTLS: %v", errTLSFailed, addr, err)
	}
	return &outConn{c: c, raw: tc, remote: addr, tls: true}, nil
}

func newClient(conn net.Conn, t Timeouts) *smtp.Client {
	c := smtp.NewClient(conn)
	c.CommandTimeout = t.Command
	c.SubmissionTimeout = t.Data
	return c
}

// startTLS upgrades a connection on which EHLO was answered. go-smtp's
// client only offers mandatory STARTTLS, so the command is sent here; the
// client's reader holds nothing at this point because the next hop speaks
// only when spoken to.
func startTLS(raw net.Conn, serverName string, timeout time.Duration) (*tls.Conn, error) {
	_ = raw.SetDeadline(time.Now().Add(timeout))
	defer raw.SetDeadline(time.Time{})
	if _, err := io.WriteString(raw, "STARTTLS\r\n"); err != nil {
		return nil, err
	}
	line, err := readReplyLine(raw)
	if err != nil {
		return nil, err
	}
	if !strings.HasPrefix(line, "220") {
		return nil, fmt.Errorf("STARTTLS refused: %s", line)
	}
	tc := tls.Client(raw, &tls.Config{ServerName: serverName, InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}) //nolint:gosec // opportunistic TLS: encryption without authentication, as Postfix's "may"
	if err := tc.Handshake(); err != nil {
		return nil, err
	}
	return tc, nil
}

// readReplyLine reads a (possibly multi-line) reply byte by byte, so that
// nothing after it is consumed, and returns its last line.
func readReplyLine(r io.Reader) (string, error) {
	var line []byte
	b := make([]byte, 1)
	for len(line) < 4096 {
		if _, err := io.ReadFull(r, b); err != nil {
			return "", err
		}
		if b[0] != '\n' {
			line = append(line, b[0])
			continue
		}
		l := strings.TrimRight(string(line), "\r")
		if len(l) >= 4 && l[3] == '-' {
			line = line[:0]
			continue
		}
		return l, nil
	}
	return "", errors.New("reply line too long")
}

// greetedConn feeds go-smtp's client the greeting it expects on a new
// connection; after STARTTLS there is none, the session just goes on.
type greetedConn struct {
	net.Conn
	greeted bool
	pending []byte
}

func (g *greetedConn) Read(p []byte) (int, error) {
	if !g.greeted {
		g.greeted = true
		g.pending = []byte("220 TLS session ready\r\n")
	}
	if len(g.pending) > 0 {
		n := copy(p, g.pending)
		g.pending = g.pending[n:]
		return n, nil
	}
	return g.Conn.Read(p)
}
