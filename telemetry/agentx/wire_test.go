package agentx

import (
	"encoding/binary"

	"github.com/posteo/go-agentx/pdu"

	"github.com/gatewatch/gatewatch/telemetry/mib"
)

// wire builds PDUs by hand in either byte order, for what go-agentx
// cannot encode (GetBulk, TestSet, big-endian PDUs, broken PDUs).
type wire struct {
	order byteOrder
	b     []byte
}

// byteOrder is binary.LittleEndian or binary.BigEndian.
type byteOrder interface {
	binary.ByteOrder
	binary.AppendByteOrder
}

func le() *wire { return &wire{order: binary.LittleEndian} }
func be() *wire { return &wire{order: binary.BigEndian} }

func (w *wire) bytes(v ...byte) *wire { w.b = append(w.b, v...); return w }
func (w *wire) u16(v uint16) *wire    { w.b = w.order.AppendUint16(w.b, v); return w }
func (w *wire) u32(v uint32) *wire    { w.b = w.order.AppendUint32(w.b, v); return w }
func (w *wire) u64(v uint64) *wire    { w.b = w.order.AppendUint64(w.b, v); return w }

// oid writes an OID without prefix compression.
func (w *wire) oid(o mib.OID, include bool) *wire {
	inc := byte(0)
	if include {
		inc = 1
	}
	w.bytes(byte(len(o)), 0, inc, 0)
	for _, s := range o {
		w.u32(s)
	}
	return w
}

func (w *wire) octets(s string) *wire {
	w.u32(uint32(len(s)))
	w.b = append(w.b, s...)
	for len(w.b)%4 != 0 {
		w.b = append(w.b, 0)
	}
	return w
}

func (w *wire) searchRange(start mib.OID, include bool, end mib.OID) *wire {
	return w.oid(start, include).oid(end, false)
}

// varbindHead writes a varbind's type and name; the caller adds the data.
func (w *wire) varbindHead(t pdu.VariableType, name mib.OID) *wire {
	return w.u16(uint16(t)).bytes(0, 0).oid(name, false)
}

// frame puts a header in front of payload, in w's byte order (setting
// NETWORK_BYTE_ORDER for big-endian).
func frame(order byteOrder, typ pdu.Type, flags pdu.Flags, sessionID, transactionID, packetID uint32, payload []byte) []byte {
	if order == binary.ByteOrder(binary.BigEndian) {
		flags |= pdu.FlagNetworkByteOrder
	}
	h := &wire{order: order}
	h.bytes(1, byte(typ), byte(flags), 0).u32(sessionID).u32(transactionID).u32(packetID).u32(uint32(len(payload)))
	return append(h.b, payload...)
}

func oid(s string) mib.OID {
	o, err := mib.ParseOID(s)
	if err != nil {
		panic(err)
	}
	return o
}
