package agentx

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/posteo/go-agentx/pdu"

	"github.com/gatewatch/gatewatch/telemetry/mib"
)

// This file decodes what the master sends. go-agentx's UnmarshalBinary
// functions index slices without checking their length, so a truncated or
// hostile PDU would panic inside them; every read here is bounds-checked and
// honours the PDU's own byte order (RFC 2741 §6.1: NETWORK_BYTE_ORDER).

// headerSize is the fixed AgentX header (RFC 2741 §6.1).
const headerSize = pdu.HeaderSize

// maxPayload bounds one PDU. snmpd's largest PDUs are a few KiB; a length
// beyond this means the stream is garbage or hostile, and reading it would
// only let the peer make us allocate.
const maxPayload = 1 << 20

// maxSubids is the most sub-identifiers an OID may have (RFC 2741 §5.1).
const maxSubids = 128

var (
	// errMalformed marks a PDU whose header was readable but whose payload
	// was not; a request gets a parseError response.
	errMalformed = errors.New("agentx: malformed PDU")
	// errUnknownType marks a PDU type the subagent does not decode.
	errUnknownType = errors.New("agentx: unknown PDU type")
)

// header is the fixed part of every PDU.
type header struct {
	version       byte
	typ           pdu.Type
	flags         pdu.Flags
	sessionID     uint32
	transactionID uint32
	packetID      uint32
	payloadLen    uint32
}

// order is the byte order the header's flags announce for the whole PDU.
func (h header) order() binary.ByteOrder {
	if h.flags&pdu.FlagNetworkByteOrder != 0 {
		return binary.BigEndian
	}
	return binary.LittleEndian
}

// parseHeader reads the 20-byte header. Only a short buffer is an error:
// the caller decides what an odd version or length means.
func parseHeader(b []byte) (header, error) {
	if len(b) < headerSize {
		return header{}, fmt.Errorf("%w: %d header bytes", errMalformed, len(b))
	}
	h := header{version: b[0], typ: pdu.Type(b[1]), flags: pdu.Flags(b[2])}
	o := h.order()
	h.sessionID = o.Uint32(b[4:])
	h.transactionID = o.Uint32(b[8:])
	h.packetID = o.Uint32(b[12:])
	h.payloadLen = o.Uint32(b[16:])
	return h, nil
}

// searchRange is one SearchRange of a Get, GetNext or GetBulk (§5.2).
type searchRange struct {
	start   mib.OID
	include bool
	end     mib.OID // empty: no upper bound
}

// varbind is a decoded VarBind (§5.4). value holds the known SMI types;
// IpAddress and Opaque keep their octets in value.Str.
type varbind struct {
	name  mib.OID
	typ   pdu.VariableType
	value mib.Value
}

// packet is a decoded PDU. Which fields are set depends on the type.
type packet struct {
	header
	context    []byte // non-default context, nil for the default one
	hasContext bool

	ranges         []searchRange // Get, GetNext, GetBulk
	nonRepeaters   uint16        // GetBulk
	maxRepetitions uint16        // GetBulk
	varbinds       []varbind     // TestSet, Response, Notify

	upTime   uint32 // Response
	resError pdu.Error
	resIndex uint16
	reason   pdu.Reason // Close
}

// hasContextField reports whether a PDU of type t carries the context octet
// string when NON_DEFAULT_CONTEXT is set (§6.1: only these types do).
func hasContextField(t pdu.Type) bool {
	switch t {
	case pdu.TypeRegister, pdu.TypeUnregister, pdu.TypeGet, pdu.TypeGetNext,
		pdu.TypeGetBulk, pdu.TypeTestSet, pdu.TypeNotify, pdu.TypePing,
		pdu.TypeIndexAllocate, pdu.TypeIndexDeallocate,
		pdu.TypeAddAgentCaps, pdu.TypeRemoveAgentCaps:
		return true
	}
	return false
}

// decodePayload decodes the payload of a PDU whose header is h. It returns
// errUnknownType (with the header filled in) for types it does not decode,
// and errMalformed for anything it cannot parse.
func decodePayload(h header, payload []byte) (*packet, error) {
	p := &packet{header: h}
	if h.version != 1 {
		return p, fmt.Errorf("%w: version %d", errMalformed, h.version)
	}
	r := &cursor{b: payload, order: h.order()}
	if h.flags&pdu.FlagNonDefaultContext != 0 && hasContextField(h.typ) {
		ctx, err := r.octets()
		if err != nil {
			return p, fmt.Errorf("context: %w", err)
		}
		p.context, p.hasContext = ctx, true
	}
	var err error
	switch h.typ {
	case pdu.TypeGet, pdu.TypeGetNext:
		p.ranges, err = r.searchRanges()
	case pdu.TypeGetBulk:
		if p.nonRepeaters, err = r.u16(); err == nil {
			if p.maxRepetitions, err = r.u16(); err == nil {
				p.ranges, err = r.searchRanges()
			}
		}
	case pdu.TypeTestSet, pdu.TypeNotify:
		p.varbinds, err = r.varbinds()
	case pdu.TypeCommitSet, pdu.TypeUndoSet, pdu.TypeCleanupSet, pdu.TypePing:
		// Header only.
	case pdu.TypeClose:
		var b []byte
		if b, err = r.take(4); err == nil {
			p.reason = pdu.Reason(b[0])
		}
	case pdu.TypeResponse:
		err = r.response(p)
	default:
		return p, fmt.Errorf("%w %d", errUnknownType, h.typ)
	}
	return p, err
}

// decode reads one whole PDU from b and returns it with the number of bytes
// it took. The session reads header and payload from the stream itself;
// this form is for tests and fuzzing.
func decode(b []byte) (*packet, int, error) {
	h, err := parseHeader(b)
	if err != nil {
		return nil, 0, err
	}
	if h.payloadLen > maxPayload {
		return nil, 0, fmt.Errorf("%w: payload length %d", errMalformed, h.payloadLen)
	}
	n := headerSize + int(h.payloadLen)
	if len(b) < n {
		return nil, 0, fmt.Errorf("%w: %d of %d payload bytes", errMalformed, len(b)-headerSize, h.payloadLen)
	}
	p, err := decodePayload(h, b[headerSize:n])
	return p, n, err
}

// cursor reads a payload front to back.
type cursor struct {
	b     []byte
	order binary.ByteOrder
}

func (r *cursor) take(n int) ([]byte, error) {
	if n < 0 || n > len(r.b) {
		return nil, fmt.Errorf("%w: need %d bytes, have %d", errMalformed, n, len(r.b))
	}
	b := r.b[:n]
	r.b = r.b[n:]
	return b, nil
}

func (r *cursor) u16() (uint16, error) {
	b, err := r.take(2)
	if err != nil {
		return 0, err
	}
	return r.order.Uint16(b), nil
}

func (r *cursor) u32() (uint32, error) {
	b, err := r.take(4)
	if err != nil {
		return 0, err
	}
	return r.order.Uint32(b), nil
}

func (r *cursor) u64() (uint64, error) {
	b, err := r.take(8)
	if err != nil {
		return 0, err
	}
	return r.order.Uint64(b), nil
}

// octets reads an Octet String (§5.3): length, data, padding to 4 bytes.
func (r *cursor) octets() ([]byte, error) {
	n, err := r.u32()
	if err != nil {
		return nil, err
	}
	if uint64(n) > uint64(len(r.b)) {
		return nil, fmt.Errorf("%w: octet string of %d bytes, %d left", errMalformed, n, len(r.b))
	}
	padded := (uint64(n) + 3) &^ 3
	if padded > uint64(len(r.b)) {
		padded = uint64(n) // tolerate missing padding at the very end
	}
	b, err := r.take(int(padded))
	if err != nil {
		return nil, err
	}
	return b[:n:n], nil
}

// oid reads an Object Identifier (§5.1), expanding the internet prefix.
func (r *cursor) oid() (mib.OID, bool, error) {
	b, err := r.take(4)
	if err != nil {
		return nil, false, err
	}
	n, prefix, include := int(b[0]), b[1], b[2] != 0
	if n > maxSubids {
		return nil, false, fmt.Errorf("%w: OID with %d sub-identifiers", errMalformed, n)
	}
	if n*4 > len(r.b) {
		return nil, false, fmt.Errorf("%w: OID of %d sub-identifiers, %d bytes left", errMalformed, n, len(r.b))
	}
	o := make(mib.OID, 0, n+5)
	if prefix != 0 {
		o = append(o, 1, 3, 6, 1, uint32(prefix))
	}
	for range n {
		v, _ := r.u32() // length checked above
		o = append(o, v)
	}
	return o, include, nil
}

func (r *cursor) searchRanges() ([]searchRange, error) {
	var out []searchRange
	for len(r.b) > 0 {
		start, include, err := r.oid()
		if err != nil {
			return nil, err
		}
		end, _, err := r.oid()
		if err != nil {
			return nil, err
		}
		out = append(out, searchRange{start: start, include: include, end: end})
	}
	return out, nil
}

func (r *cursor) varbinds() ([]varbind, error) {
	var out []varbind
	for len(r.b) > 0 {
		vb, err := r.varbind()
		if err != nil {
			return nil, err
		}
		out = append(out, vb)
	}
	return out, nil
}

func (r *cursor) varbind() (varbind, error) {
	t, err := r.u16()
	if err != nil {
		return varbind{}, err
	}
	if _, err := r.take(2); err != nil { // reserved
		return varbind{}, err
	}
	vb := varbind{typ: pdu.VariableType(t)}
	if vb.name, _, err = r.oid(); err != nil {
		return vb, err
	}
	v := &vb.value
	switch vb.typ {
	case pdu.VariableTypeInteger:
		var n uint32
		n, err = r.u32()
		v.Syntax, v.Int = mib.Integer, int64(int32(n))
	case pdu.VariableTypeCounter32, pdu.VariableTypeGauge32, pdu.VariableTypeTimeTicks:
		var n uint32
		n, err = r.u32()
		v.Syntax, v.Uint = syntaxOf(vb.typ), uint64(n)
	case pdu.VariableTypeCounter64:
		v.Syntax = mib.Counter64
		v.Uint, err = r.u64()
	case pdu.VariableTypeOctetString, pdu.VariableTypeIPAddress, pdu.VariableTypeOpaque:
		var b []byte
		b, err = r.octets()
		v.Str = string(b)
		if vb.typ == pdu.VariableTypeOctetString {
			v.Syntax = mib.OctetString
		}
	case pdu.VariableTypeObjectIdentifier:
		v.Syntax = mib.ObjectIdentifier
		v.OID, _, err = r.oid()
	case pdu.VariableTypeNull, pdu.VariableTypeNoSuchObject,
		pdu.VariableTypeNoSuchInstance, pdu.VariableTypeEndOfMIBView:
		// No data.
	default:
		err = fmt.Errorf("%w: varbind type %d", errMalformed, t)
	}
	return vb, err
}

func (r *cursor) response(p *packet) error {
	var err error
	if p.upTime, err = r.u32(); err != nil {
		return err
	}
	e, err := r.u16()
	if err != nil {
		return err
	}
	p.resError = pdu.Error(e)
	if p.resIndex, err = r.u16(); err != nil {
		return err
	}
	p.varbinds, err = r.varbinds()
	return err
}

// syntaxOf maps the wire types that carry a 32-bit unsigned value.
func syntaxOf(t pdu.VariableType) mib.Syntax {
	switch t {
	case pdu.VariableTypeCounter32:
		return mib.Counter32
	case pdu.VariableTypeGauge32:
		return mib.Gauge32
	}
	return mib.TimeTicks
}
