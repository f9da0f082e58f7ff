package agentx

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/posteo/go-agentx/pdu"
	"github.com/posteo/go-agentx/value"

	"github.com/gatewatch/gatewatch/telemetry/mib"
)

// This file encodes what the subagent sends, with go-agentx's pdu package
// where its encoding is right (header, Open, Register, Close, Response
// fields and most varbinds) and by hand where it is not: go-agentx turns
// TimeTicks into a float and back (29 ticks come out as 28) and parses
// ObjectIdentifier values from strings. Everything is little-endian with
// NETWORK_BYTE_ORDER clear, as go-agentx writes it; RFC 2741 lets each PDU
// pick its own order and snmpd honours the flag.

var errEncodeOnly = errors.New("agentx: encode-only PDU")

// outVarbind is a varbind to send: a value, or an exception (noSuchObject,
// noSuchInstance, endOfMibView) when typ says so.
type outVarbind struct {
	name mib.OID
	typ  pdu.VariableType
	val  mib.Value
}

// valueVarbind is the varbind of a served value.
func valueVarbind(vb mib.Varbind) outVarbind {
	return outVarbind{name: vb.OID, typ: wireType(vb.Value.Syntax), val: vb.Value}
}

func exception(name mib.OID, t pdu.VariableType) outVarbind {
	return outVarbind{name: name, typ: t}
}

// wireType maps a MIB syntax to its AgentX type. An unknown syntax is sent
// as Null rather than guessed at.
func wireType(s mib.Syntax) pdu.VariableType {
	switch s {
	case mib.Integer:
		return pdu.VariableTypeInteger
	case mib.OctetString:
		return pdu.VariableTypeOctetString
	case mib.ObjectIdentifier:
		return pdu.VariableTypeObjectIdentifier
	case mib.Counter32:
		return pdu.VariableTypeCounter32
	case mib.Gauge32:
		return pdu.VariableTypeGauge32
	case mib.TimeTicks:
		return pdu.VariableTypeTimeTicks
	case mib.Counter64:
		return pdu.VariableTypeCounter64
	}
	return pdu.VariableTypeNull
}

// encodeOID is an Object Identifier without the include flag.
func encodeOID(o mib.OID) ([]byte, error) {
	if len(o) > maxSubids {
		return nil, fmt.Errorf("agentx: OID %s has %d sub-identifiers (at most %d)", o, len(o), maxSubids)
	}
	var oi pdu.ObjectIdentifier
	oi.SetIdentifier(value.OID(o))
	return oi.MarshalBinary()
}

// appendVarbind encodes vb after b.
func appendVarbind(b []byte, vb outVarbind) ([]byte, error) {
	name, err := encodeOID(vb.name)
	if err != nil {
		return nil, err
	}
	var goValue any
	switch vb.typ {
	case pdu.VariableTypeTimeTicks:
		b = binary.LittleEndian.AppendUint16(b, uint16(vb.typ))
		b = append(append(b, 0, 0), name...)
		return binary.LittleEndian.AppendUint32(b, uint32(vb.val.Uint)), nil
	case pdu.VariableTypeObjectIdentifier:
		target, err := encodeOID(vb.val.OID)
		if err != nil {
			return nil, err
		}
		b = binary.LittleEndian.AppendUint16(b, uint16(vb.typ))
		b = append(append(b, 0, 0), name...)
		return append(b, target...), nil
	case pdu.VariableTypeInteger:
		goValue = int32(max(min(vb.val.Int, math.MaxInt32), math.MinInt32))
	case pdu.VariableTypeOctetString:
		goValue = vb.val.Str
	case pdu.VariableTypeCounter32, pdu.VariableTypeGauge32:
		goValue = uint32(vb.val.Uint)
	case pdu.VariableTypeCounter64:
		goValue = vb.val.Uint
	case pdu.VariableTypeNull, pdu.VariableTypeNoSuchObject,
		pdu.VariableTypeNoSuchInstance, pdu.VariableTypeEndOfMIBView:
	default:
		// go-agentx would panic on a Go type it does not expect.
		return nil, fmt.Errorf("agentx: cannot encode varbind type %d", vb.typ)
	}
	v := pdu.Variable{Type: vb.typ, Value: goValue}
	v.Name.SetIdentifier(value.OID(vb.name))
	enc, err := v.MarshalBinary()
	if err != nil {
		return nil, err
	}
	return append(b, enc...), nil
}

func appendVarbinds(b []byte, vbs []outVarbind) ([]byte, error) {
	var err error
	for _, vb := range vbs {
		if b, err = appendVarbind(b, vb); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// responsePacket is a Response with our own varbind encoding.
type responsePacket struct {
	err   pdu.Error
	index uint16
	vbs   []outVarbind
}

func (*responsePacket) Type() pdu.Type { return pdu.TypeResponse }

func (r *responsePacket) MarshalBinary() ([]byte, error) {
	head := pdu.Response{Error: r.err, Index: r.index} // sysUpTime 0: only the master's counts
	b, err := head.MarshalBinary()
	if err != nil {
		return nil, err
	}
	return appendVarbinds(b, r.vbs)
}

func (*responsePacket) UnmarshalBinary([]byte) error { return errEncodeOnly }

// notifyPacket is a Notify (go-agentx has none).
type notifyPacket struct{ vbs []outVarbind }

func (*notifyPacket) Type() pdu.Type                   { return pdu.TypeNotify }
func (n *notifyPacket) MarshalBinary() ([]byte, error) { return appendVarbinds(nil, n.vbs) }
func (*notifyPacket) UnmarshalBinary([]byte) error     { return errEncodeOnly }

// pingPacket is a Ping (header only; go-agentx has none).
type pingPacket struct{}

func (pingPacket) Type() pdu.Type                 { return pdu.TypePing }
func (pingPacket) MarshalBinary() ([]byte, error) { return nil, nil }
func (pingPacket) UnmarshalBinary([]byte) error   { return errEncodeOnly }

// openPacket asks for a session. The timeout is whole seconds, 1 to 255: 0
// would mean "the master's default", which is not what Options.Timeout says.
func openPacket(timeout time.Duration, id mib.OID, descr string) *pdu.Open {
	o := &pdu.Open{Timeout: pdu.Timeout{Duration: wireTimeout(timeout)}, Description: pdu.OctetString{Text: descr}}
	o.ID.SetIdentifier(value.OID(id))
	return o
}

func wireTimeout(d time.Duration) time.Duration {
	s := (d + time.Second - 1) / time.Second
	return time.Duration(max(min(s, 255), 1)) * time.Second
}

// registerPacket registers a subtree for the whole session, at the given
// priority (lower wins; 127 is the RFC's default).
func registerPacket(subtree mib.OID, priority byte) *pdu.Register {
	r := &pdu.Register{Timeout: pdu.Timeout{Priority: priority}}
	r.Subtree.SetIdentifier(value.OID(subtree))
	return r
}

// marshal frames a packet: go-agentx fills in version, type and length.
func marshal(h pdu.Header, p pdu.Packet) ([]byte, error) {
	return (&pdu.HeaderPacket{Header: &h, Packet: p}).MarshalBinary()
}
