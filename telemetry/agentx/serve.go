package agentx

import (
	"errors"
	"fmt"

	"github.com/posteo/go-agentx/pdu"
)

// handle answers one PDU from the master. It runs on the reader goroutine
// and must never panic: the recover is a last line of defence that turns a
// bug into a reconnect instead of a crashed gateway.
func (s *Subagent) handle(c *conn, h header, payload []byte) {
	defer func() {
		if r := recover(); r != nil {
			c.fail(fmt.Errorf("agentx: internal error handling a %v PDU: %v", h.typ, r))
		}
	}()
	if isRequest(h.typ) {
		s.countRequest()
	}
	p, err := decodePayload(h, payload)
	switch {
	case errors.Is(err, errUnknownType):
		s.ignored.Add(1)
		return
	case err != nil:
		// The header was readable, so the stream is still in step: answer
		// a request we could not parse, drop anything else.
		if expectsResponse(h.typ) {
			s.parseErrors.Add(1)
			s.respond(c, h, &responsePacket{err: pdu.ErrorParse})
		} else {
			s.ignored.Add(1)
		}
		return
	}

	switch h.typ {
	case pdu.TypeResponse:
		if !c.deliver(p) {
			s.ignored.Add(1) // late (timed out) or never ours
		}
	case pdu.TypeClose:
		c.fail(fmt.Errorf("agentx: the master closed the session (%v)", p.reason))
	case pdu.TypeGet, pdu.TypeGetNext, pdu.TypeGetBulk, pdu.TypeTestSet:
		s.respond(c, h, answer(p, s.views.get))
	case pdu.TypeCommitSet, pdu.TypeUndoSet:
		// Unreachable after our TestSet refusal, but a master may send
		// them anyway; they have nothing to commit or undo.
		s.respond(c, h, &responsePacket{})
	case pdu.TypeCleanupSet:
		// No response, by definition (RFC 2741 §7.2.4.4).
	default:
		s.ignored.Add(1) // PDUs only a master receives: Open, Register, Notify, Ping, ...
	}
}

// answer builds the Response to a Get, GetNext, GetBulk or TestSet, from
// the table view returns (called only when values are needed).
func answer(p *packet, view func() table) *responsePacket {
	if p.hasContext {
		// We register in the default context only, so snmpd never sends
		// another; a master that does is asking about data we lack.
		return &responsePacket{err: pdu.ErrorUnsupportedContext}
	}
	switch p.typ {
	case pdu.TypeGet:
		return &responsePacket{vbs: answerGet(view(), p.ranges)}
	case pdu.TypeGetNext:
		return &responsePacket{vbs: answerGetNext(view(), p.ranges)}
	case pdu.TypeGetBulk:
		return &responsePacket{vbs: answerGetBulk(view(), p.nonRepeaters, p.maxRepetitions, p.ranges)}
	}
	// TestSet: everything we serve is read-only. notWritable (SNMP error
	// 17) names the first varbind, which snmpd passes on to the manager.
	if len(p.varbinds) == 0 {
		return &responsePacket{}
	}
	return &responsePacket{err: errNotWritable, index: 1}
}

// errNotWritable is SNMP's notWritable, which AgentX passes through.
const errNotWritable pdu.Error = 17

// respond sends r as the answer to the request h. A value that cannot be
// encoded turns the answer into processingError rather than silence, which
// would leave the master waiting for its timeout.
func (s *Subagent) respond(c *conn, h header, r *responsePacket) {
	hd := pdu.Header{SessionID: h.sessionID, TransactionID: h.transactionID, PacketID: h.packetID}
	b, err := marshal(hd, r)
	if err != nil {
		if b, err = marshal(hd, &responsePacket{err: pdu.ErrorProcessing}); err != nil {
			return
		}
	}
	_ = c.write(b) // a failed write ends the connection; Run reconnects
}

// isRequest reports whether t is a request the master sends a subagent.
func isRequest(t pdu.Type) bool {
	switch t {
	case pdu.TypeGet, pdu.TypeGetNext, pdu.TypeGetBulk, pdu.TypeTestSet,
		pdu.TypeCommitSet, pdu.TypeUndoSet, pdu.TypeCleanupSet:
		return true
	}
	return false
}

// expectsResponse reports whether the master waits for an answer to t.
func expectsResponse(t pdu.Type) bool {
	return isRequest(t) && t != pdu.TypeCleanupSet
}
