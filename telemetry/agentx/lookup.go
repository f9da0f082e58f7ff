package agentx

import (
	"github.com/posteo/go-agentx/pdu"

	"github.com/gatewatch/gatewatch/telemetry/mib"
)

// This file answers the three read requests from a table of values. It is
// pure: no I/O, no locks, so it is tested directly against small tables.

// table is what requests are answered from: *mib.View, or a test's list.
type table interface {
	Get(oid mib.OID) (mib.Varbind, bool)
	Next(from mib.OID, include bool, to mib.OID) (mib.Varbind, bool)
}

// maxBulkVarbinds bounds a GetBulk response. RFC 3416 §4.2.3 lets an agent
// return fewer repetitions than asked (at least one) when a response would
// be too large; without a bound, max-repetitions 65535 times many ranges
// would build an enormous response.
const maxBulkVarbinds = 2048

// answerGet answers each SearchRange of a Get with the value at its start,
// or noSuchInstance/noSuchObject (RFC 2741 §7.2.3.1).
func answerGet(t table, ranges []searchRange) []outVarbind {
	out := make([]outVarbind, 0, len(ranges))
	for _, r := range ranges {
		if vb, ok := t.Get(r.start); ok {
			out = append(out, valueVarbind(vb))
			continue
		}
		out = append(out, exception(r.start, missingKind(t, r.start)))
	}
	return out
}

// missingKind tells noSuchInstance (the object exists, this instance does
// not) from noSuchObject. Without the MIB's object boundaries it takes a
// served OID of the same length that differs only in the last
// sub-identifier as proof that the object exists: right for scalars (.0)
// and fixed-length indexes, and at worst noSuchObject where noSuchInstance
// was due, which managers treat alike.
func missingKind(t table, oid mib.OID) pdu.VariableType {
	if len(oid) < 2 {
		return pdu.VariableTypeNoSuchObject
	}
	parent := oid[:len(oid)-1]
	from, include := parent, false
	for range 64 { // bounded: a wide table must not make a Get slow
		vb, ok := t.Next(from, include, nil)
		if !ok || !vb.OID.HasPrefix(parent) {
			break
		}
		if len(vb.OID) == len(oid) {
			return pdu.VariableTypeNoSuchInstance
		}
		from = vb.OID
	}
	return pdu.VariableTypeNoSuchObject
}

// next answers one SearchRange of a GetNext: the first value after its
// start (or at it, with include) and before its end; else endOfMibView
// named by the start (RFC 2741 §7.2.3.2).
func next(t table, r searchRange) outVarbind {
	if vb, ok := t.Next(r.start, r.include, r.end); ok {
		return valueVarbind(vb)
	}
	return exception(r.start, pdu.VariableTypeEndOfMIBView)
}

func answerGetNext(t table, ranges []searchRange) []outVarbind {
	out := make([]outVarbind, 0, len(ranges))
	for _, r := range ranges {
		out = append(out, next(t, r))
	}
	return out
}

// answerGetBulk follows RFC 2741 §7.2.3.3 and RFC 3416 §4.2.3: the first
// nonRepeaters ranges once, then the rest maxRepetitions times, each
// repetition continuing from the previous one's result within the range's
// end. It stops after a repetition that found nothing at all, and after
// maxBulkVarbinds (but always completes one repetition).
func answerGetBulk(t table, nonRepeaters, maxRepetitions uint16, ranges []searchRange) []outVarbind {
	n := min(int(nonRepeaters), len(ranges))
	out := answerGetNext(t, ranges[:n])
	cur := append([]searchRange(nil), ranges[n:]...)
	if len(cur) == 0 {
		return out
	}
	for i := 0; i < int(maxRepetitions); i++ {
		if i > 0 && len(out)+len(cur) > maxBulkVarbinds {
			break
		}
		ended := true
		for j := range cur {
			vb := next(t, cur[j])
			out = append(out, vb)
			if vb.typ != pdu.VariableTypeEndOfMIBView {
				ended = false
				cur[j].start, cur[j].include = vb.name, false
			}
		}
		if ended {
			break
		}
	}
	return out
}
