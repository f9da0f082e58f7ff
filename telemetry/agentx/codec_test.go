package agentx

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/posteo/go-agentx/pdu"
	"github.com/posteo/go-agentx/value"

	"github.com/gatewatch/gatewatch/telemetry/mib"
)

// goAgentx frames a packet with go-agentx's own encoder.
func goAgentx(t *testing.T, h pdu.Header, p pdu.Packet) []byte {
	t.Helper()
	b, err := (&pdu.HeaderPacket{Header: &h, Packet: p}).MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func decodeAll(t *testing.T, b []byte) *packet {
	t.Helper()
	p, n, err := decode(b)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	if n != len(b) {
		t.Fatalf("decode took %d of %d bytes", n, len(b))
	}
	return p
}

func TestWireBuilderMatchesGoAgentx(t *testing.T) {
	// The hand-built PDUs of these tests must be what go-agentx writes.
	var oi pdu.ObjectIdentifier
	oi.SetIdentifier(value.OID{1, 3, 6, 1, 4, 1, 32473, 2})
	oi.SetInclude(true)
	want, _ := oi.MarshalBinary()
	if got := le().oid(oid("1.3.6.1.4.1.32473.2"), true).b; !bytes.Equal(got, want) {
		t.Errorf("oid: %x, go-agentx %x", got, want)
	}
	os := pdu.OctetString{Text: "hello"}
	want, _ = os.MarshalBinary()
	if got := le().octets("hello").b; !bytes.Equal(got, want) {
		t.Errorf("octets: %x, go-agentx %x", got, want)
	}
	h := pdu.Header{Version: 1, Type: pdu.TypeGet, SessionID: 7, TransactionID: 8, PacketID: 9, PayloadLength: 4}
	want, _ = h.MarshalBinary()
	if got := frame(binary.LittleEndian, pdu.TypeGet, 0, 7, 8, 9, []byte{1, 2, 3, 4}); !bytes.Equal(got[:headerSize], want) {
		t.Errorf("header: %x, go-agentx %x", got[:headerSize], want)
	}
}

func TestDecodeGoAgentxResponse(t *testing.T) {
	var vars pdu.Variables
	vars.Add(value.OID{1, 3, 6, 1, 2, 1, 1, 1, 0}, pdu.VariableTypeOctetString, "descr")
	vars.Add(value.OID{1, 3, 6, 1, 2, 1, 1, 2, 0}, pdu.VariableTypeObjectIdentifier, "1.3.6.1.4.1.32473")
	vars.Add(value.OID{1, 3, 6, 1, 2, 1, 1, 3, 0}, pdu.VariableTypeTimeTicks, 2*time.Second)
	vars.Add(value.OID{1, 3, 6, 1, 2, 1, 1, 7, 0}, pdu.VariableTypeInteger, int32(-72))
	vars.Add(value.OID{1, 3, 6, 1, 2, 1, 2, 1, 0}, pdu.VariableTypeCounter32, uint32(4000000000))
	vars.Add(value.OID{1, 3, 6, 1, 2, 1, 2, 2, 0}, pdu.VariableTypeGauge32, uint32(17))
	vars.Add(value.OID{1, 3, 6, 1, 2, 1, 2, 3, 0}, pdu.VariableTypeCounter64, uint64(1)<<60)
	vars.Add(value.OID{1, 3, 6, 1, 2, 1, 2, 4, 0}, pdu.VariableTypeNoSuchObject, nil)
	vars.Add(value.OID{1, 3, 6, 1, 2, 1, 2, 5, 0}, pdu.VariableTypeEndOfMIBView, nil)
	b := goAgentx(t, pdu.Header{SessionID: 3, PacketID: 44}, &pdu.Response{Error: pdu.ErrorDuplicateRegistration, Index: 2, Variables: vars})

	p := decodeAll(t, b)
	if p.typ != pdu.TypeResponse || p.sessionID != 3 || p.packetID != 44 || p.resError != pdu.ErrorDuplicateRegistration || p.resIndex != 2 {
		t.Fatalf("decoded header/response fields: %+v", p)
	}
	want := []varbind{
		{oid("1.3.6.1.2.1.1.1.0"), pdu.VariableTypeOctetString, mib.Value{Syntax: mib.OctetString, Str: "descr"}},
		{oid("1.3.6.1.2.1.1.2.0"), pdu.VariableTypeObjectIdentifier, mib.Value{Syntax: mib.ObjectIdentifier, OID: oid("1.3.6.1.4.1.32473")}},
		{oid("1.3.6.1.2.1.1.3.0"), pdu.VariableTypeTimeTicks, mib.Value{Syntax: mib.TimeTicks, Uint: 200}},
		{oid("1.3.6.1.2.1.1.7.0"), pdu.VariableTypeInteger, mib.Value{Syntax: mib.Integer, Int: -72}},
		{oid("1.3.6.1.2.1.2.1.0"), pdu.VariableTypeCounter32, mib.Value{Syntax: mib.Counter32, Uint: 4000000000}},
		{oid("1.3.6.1.2.1.2.2.0"), pdu.VariableTypeGauge32, mib.Value{Syntax: mib.Gauge32, Uint: 17}},
		{oid("1.3.6.1.2.1.2.3.0"), pdu.VariableTypeCounter64, mib.Value{Syntax: mib.Counter64, Uint: 1 << 60}},
		{oid("1.3.6.1.2.1.2.4.0"), pdu.VariableTypeNoSuchObject, mib.Value{}},
		{oid("1.3.6.1.2.1.2.5.0"), pdu.VariableTypeEndOfMIBView, mib.Value{}},
	}
	if !reflect.DeepEqual(p.varbinds, want) {
		t.Errorf("varbinds\n%+v\nwant\n%+v", p.varbinds, want)
	}
}

func TestDecodeGoAgentxClose(t *testing.T) {
	p := decodeAll(t, goAgentx(t, pdu.Header{SessionID: 5, PacketID: 6}, &pdu.Close{Reason: pdu.ReasonByManager}))
	if p.typ != pdu.TypeClose || p.reason != pdu.ReasonByManager || p.sessionID != 5 {
		t.Errorf("close decoded as %+v", p)
	}
}

func TestDecodeLeavesMasterOnlyPDUsUndecoded(t *testing.T) {
	// A subagent never receives Open or Register; their header still
	// decodes, so the caller can count them.
	for _, pk := range []pdu.Packet{openPacket(time.Second, mib.Enterprise(), "x"), registerPacket(mib.MTAMIB(), 127)} {
		b := goAgentx(t, pdu.Header{PacketID: 77}, pk)
		p, n, err := decode(b)
		if !errors.Is(err, errUnknownType) || p == nil || p.typ != pk.Type() || p.packetID != 77 || n != len(b) {
			t.Errorf("%v: packet %+v, n %d, err %v", pk.Type(), p, n, err)
		}
	}
}

// requestCase is a PDU the master sends, built in one byte order, with
// what it must decode to.
type requestCase struct {
	name    string
	typ     pdu.Type
	flags   pdu.Flags
	payload func(w *wire) *wire
	want    packet // header fields are filled in by the test
}

func requestCases() []requestCase {
	base, next := oid("1.3.6.1.4.1.32473.2.1.0"), oid("1.3.6.1.2.1.28")
	return []requestCase{
		{name: "get", typ: pdu.TypeGet,
			payload: func(w *wire) *wire { return w.searchRange(base, false, nil).searchRange(next, false, nil) },
			want:    packet{ranges: []searchRange{{start: base, end: mib.OID{}}, {start: next, end: mib.OID{}}}}},
		{name: "getnext", typ: pdu.TypeGetNext,
			payload: func(w *wire) *wire { return w.searchRange(base, true, next) },
			want:    packet{ranges: []searchRange{{start: base, include: true, end: next}}}},
		{name: "getbulk", typ: pdu.TypeGetBulk,
			payload: func(w *wire) *wire {
				return w.u16(1).u16(5).searchRange(base, false, nil).searchRange(next, true, oid("1.3.6.1.2.1.29"))
			},
			want: packet{nonRepeaters: 1, maxRepetitions: 5,
				ranges: []searchRange{{start: base, end: mib.OID{}}, {start: next, include: true, end: oid("1.3.6.1.2.1.29")}}}},
		{name: "getbulk without ranges", typ: pdu.TypeGetBulk,
			payload: func(w *wire) *wire { return w.u16(0).u16(10) },
			want:    packet{maxRepetitions: 10}},
		{name: "testset", typ: pdu.TypeTestSet,
			payload: func(w *wire) *wire {
				w.varbindHead(pdu.VariableTypeInteger, base).u32(uint32(0xfffffffe))
				w.varbindHead(pdu.VariableTypeOctetString, next).octets("abcde")
				w.varbindHead(pdu.VariableTypeObjectIdentifier, base).oid(next, false)
				w.varbindHead(pdu.VariableTypeTimeTicks, base).u32(29)
				w.varbindHead(pdu.VariableTypeCounter64, base).u64(math.MaxUint64)
				w.varbindHead(pdu.VariableTypeIPAddress, base).octets("\x7f\x00\x00\x01")
				w.varbindHead(pdu.VariableTypeOpaque, base).octets("")
				return w.varbindHead(pdu.VariableTypeNull, next)
			},
			want: packet{varbinds: []varbind{
				{base, pdu.VariableTypeInteger, mib.Value{Syntax: mib.Integer, Int: -2}},
				{next, pdu.VariableTypeOctetString, mib.Value{Syntax: mib.OctetString, Str: "abcde"}},
				{base, pdu.VariableTypeObjectIdentifier, mib.Value{Syntax: mib.ObjectIdentifier, OID: next}},
				{base, pdu.VariableTypeTimeTicks, mib.Value{Syntax: mib.TimeTicks, Uint: 29}},
				{base, pdu.VariableTypeCounter64, mib.Value{Syntax: mib.Counter64, Uint: math.MaxUint64}},
				{base, pdu.VariableTypeIPAddress, mib.Value{Str: "\x7f\x00\x00\x01"}},
				{base, pdu.VariableTypeOpaque, mib.Value{Str: ""}},
				{next, pdu.VariableTypeNull, mib.Value{}},
			}}},
		{name: "commitset", typ: pdu.TypeCommitSet, payload: func(w *wire) *wire { return w }},
		{name: "undoset", typ: pdu.TypeUndoSet, payload: func(w *wire) *wire { return w }},
		{name: "cleanupset", typ: pdu.TypeCleanupSet, payload: func(w *wire) *wire { return w }},
		{name: "close", typ: pdu.TypeClose,
			payload: func(w *wire) *wire { return w.bytes(byte(pdu.ReasonShutdown), 0, 0, 0) },
			want:    packet{reason: pdu.ReasonShutdown}},
		{name: "response", typ: pdu.TypeResponse,
			payload: func(w *wire) *wire {
				w.u32(12345).u16(uint16(pdu.ErrorParse)).u16(3)
				return w.varbindHead(pdu.VariableTypeGauge32, base).u32(7)
			},
			want: packet{upTime: 12345, resError: pdu.ErrorParse, resIndex: 3,
				varbinds: []varbind{{base, pdu.VariableTypeGauge32, mib.Value{Syntax: mib.Gauge32, Uint: 7}}}}},
		{name: "get in a context", typ: pdu.TypeGet, flags: pdu.FlagNonDefaultContext,
			payload: func(w *wire) *wire { return w.octets("ctx-1").searchRange(base, false, nil) },
			want:    packet{hasContext: true, context: []byte("ctx-1"), ranges: []searchRange{{start: base, end: mib.OID{}}}}},
		{name: "getbulk in a context", typ: pdu.TypeGetBulk, flags: pdu.FlagNonDefaultContext,
			payload: func(w *wire) *wire { return w.octets("").u16(0).u16(1).searchRange(base, false, nil) },
			want:    packet{hasContext: true, context: []byte{}, maxRepetitions: 1, ranges: []searchRange{{start: base, end: mib.OID{}}}}},
		{name: "commitset with the context flag", typ: pdu.TypeCommitSet, flags: pdu.FlagNonDefaultContext,
			payload: func(w *wire) *wire { return w }}, // no context field in this type
	}
}

func TestDecodeRequestsInBothByteOrders(t *testing.T) {
	for _, tc := range requestCases() {
		for _, w := range []*wire{le(), be()} {
			name := tc.name + "/little-endian"
			if w.order == binary.BigEndian {
				name = tc.name + "/network-byte-order"
			}
			t.Run(name, func(t *testing.T) {
				b := frame(w.order, tc.typ, tc.flags, 0x01020304, 0x05060708, 0x090a0b0c, tc.payload(w).b)
				got := decodeAll(t, b)
				want := tc.want
				want.header = header{version: 1, typ: tc.typ, flags: pdu.Flags(b[2]),
					sessionID: 0x01020304, transactionID: 0x05060708, packetID: 0x090a0b0c, payloadLen: uint32(len(b) - headerSize)}
				if !reflect.DeepEqual(*got, want) {
					t.Errorf("decoded\n%+v\nwant\n%+v", *got, want)
				}
			})
		}
	}
}

func TestDecodeExpandsPrefixedOIDs(t *testing.T) {
	// n_subid 2, prefix 4, include 1: 1.3.6.1.4.1.32473
	w := le().bytes(2, 4, 1, 0).u32(1).u32(32473).oid(nil, false)
	p := decodeAll(t, frame(binary.LittleEndian, pdu.TypeGetNext, 0, 1, 1, 1, w.b))
	if len(p.ranges) != 1 || !reflect.DeepEqual(p.ranges[0].start, mib.Enterprise()) || !p.ranges[0].include {
		t.Errorf("ranges %+v", p.ranges)
	}
}

func TestDecodeRejectsMalformedPayloads(t *testing.T) {
	base := oid("1.3.6.1.4.1.32473.1")
	cases := []struct {
		name    string
		typ     pdu.Type
		flags   pdu.Flags
		version byte
		payload []byte
		want    error
	}{
		{"version 2", pdu.TypeGet, 0, 2, le().searchRange(base, false, nil).b, errMalformed},
		{"oid longer than 128", pdu.TypeGet, 0, 1, le().bytes(129, 0, 0, 0).b, errMalformed},
		{"truncated oid", pdu.TypeGet, 0, 1, le().bytes(10, 0, 0, 0).u32(1).u32(3).b, errMalformed},
		{"range without end", pdu.TypeGetNext, 0, 1, le().oid(base, false).b, errMalformed},
		{"half an oid header", pdu.TypeGet, 0, 1, []byte{3, 0}, errMalformed},
		{"getbulk too short", pdu.TypeGetBulk, 0, 1, []byte{1, 0}, errMalformed},
		{"huge octet string", pdu.TypeTestSet, 0, 1, le().varbindHead(pdu.VariableTypeOctetString, base).u32(math.MaxUint32).b, errMalformed},
		{"unknown varbind type", pdu.TypeTestSet, 0, 1, le().varbindHead(99, base).b, errMalformed},
		{"varbind without data", pdu.TypeTestSet, 0, 1, le().varbindHead(pdu.VariableTypeCounter64, base).u32(1).b, errMalformed},
		{"close without reason", pdu.TypeClose, 0, 1, nil, errMalformed},
		{"short response", pdu.TypeResponse, 0, 1, []byte{0, 0, 0, 0, 0, 0}, errMalformed},
		{"truncated context", pdu.TypeGet, pdu.FlagNonDefaultContext, 1, le().u32(100).b, errMalformed},
		{"unknown type", 99, 0, 1, nil, errUnknownType},
		{"notify-like type 200", 200, 0, 1, []byte{1, 2, 3, 4}, errUnknownType},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := frame(binary.LittleEndian, tc.typ, tc.flags, 1, 2, 3, tc.payload)
			b[0] = tc.version
			p, _, err := decode(b)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if p == nil || p.packetID != 3 || p.typ != tc.typ {
				t.Errorf("the header must survive a bad payload: %+v", p)
			}
		})
	}
}

func TestDecodeRejectsBadFraming(t *testing.T) {
	if _, _, err := decode(make([]byte, headerSize-1)); !errors.Is(err, errMalformed) {
		t.Errorf("short header: %v", err)
	}
	huge := frame(binary.LittleEndian, pdu.TypeGet, 0, 1, 1, 1, nil)
	binary.LittleEndian.PutUint32(huge[16:], maxPayload+1)
	if _, _, err := decode(huge); !errors.Is(err, errMalformed) {
		t.Errorf("payload length beyond maxPayload: %v", err)
	}
	b := frame(binary.LittleEndian, pdu.TypeGet, 0, 1, 1, 1, le().searchRange(mib.Enterprise(), false, nil).b)
	for i := headerSize; i < len(b); i++ {
		if _, _, err := decode(b[:i]); !errors.Is(err, errMalformed) {
			t.Errorf("%d of %d bytes: %v", i, len(b), err)
		}
	}
}

func TestDecodeSurvivesEveryTruncation(t *testing.T) {
	// Each prefix of each payload, decoded as if it were the whole
	// payload: any result is fine, a panic is not (the fuzzer goes wider).
	for _, tc := range requestCases() {
		for _, w := range []*wire{le(), be()} {
			b := frame(w.order, tc.typ, tc.flags, 1, 2, 3, tc.payload(w).b)
			h, _ := parseHeader(b)
			for i := range len(b) - headerSize {
				_, _ = decodePayload(h, b[headerSize:headerSize+i])
			}
		}
	}
}

func TestEncodedResponseDecodes(t *testing.T) {
	name := oid("1.3.6.1.4.1.32473.2.1.0")
	in := []outVarbind{
		valueVarbind(mib.Varbind{OID: name, Value: mib.Value{Syntax: mib.Integer, Int: -5}}),
		valueVarbind(mib.Varbind{OID: name, Value: mib.Value{Syntax: mib.Integer, Int: 1 << 40}}), // clamped
		valueVarbind(mib.Varbind{OID: name, Value: mib.Value{Syntax: mib.OctetString, Str: ""}}),
		valueVarbind(mib.Varbind{OID: name, Value: mib.Value{Syntax: mib.OctetString, Str: "\x07\xea\x0b\x16\x00"}}),
		valueVarbind(mib.Varbind{OID: name, Value: mib.Value{Syntax: mib.ObjectIdentifier, OID: mib.SMTPProtocol()}}),
		valueVarbind(mib.Varbind{OID: name, Value: mib.Value{Syntax: mib.ObjectIdentifier, OID: mib.OID{}}}),
		valueVarbind(mib.Varbind{OID: name, Value: mib.Value{Syntax: mib.Counter32, Uint: math.MaxUint32}}),
		valueVarbind(mib.Varbind{OID: name, Value: mib.Value{Syntax: mib.Gauge32, Uint: 3}}),
		valueVarbind(mib.Varbind{OID: name, Value: mib.Value{Syntax: mib.TimeTicks, Uint: 29}}),
		valueVarbind(mib.Varbind{OID: name, Value: mib.Value{Syntax: mib.Counter64, Uint: 1<<63 + 5}}),
		exception(name, pdu.VariableTypeNoSuchObject),
		exception(name, pdu.VariableTypeNoSuchInstance),
		exception(name, pdu.VariableTypeEndOfMIBView),
	}
	b, err := marshal(pdu.Header{SessionID: 9, TransactionID: 10, PacketID: 11}, &responsePacket{err: errNotWritable, index: 4, vbs: in})
	if err != nil {
		t.Fatal(err)
	}
	p := decodeAll(t, b)
	if p.version != 1 || p.typ != pdu.TypeResponse || p.flags != 0 || p.sessionID != 9 || p.transactionID != 10 || p.packetID != 11 ||
		p.resError != errNotWritable || p.resIndex != 4 || p.upTime != 0 {
		t.Fatalf("header/response fields %+v", p)
	}
	if len(p.varbinds) != len(in) {
		t.Fatalf("%d varbinds back, sent %d", len(p.varbinds), len(in))
	}
	wantVals := []mib.Value{
		{Syntax: mib.Integer, Int: -5}, {Syntax: mib.Integer, Int: math.MaxInt32},
		{Syntax: mib.OctetString}, {Syntax: mib.OctetString, Str: "\x07\xea\x0b\x16\x00"},
		{Syntax: mib.ObjectIdentifier, OID: mib.SMTPProtocol()}, {Syntax: mib.ObjectIdentifier, OID: mib.OID{}},
		{Syntax: mib.Counter32, Uint: math.MaxUint32}, {Syntax: mib.Gauge32, Uint: 3},
		{Syntax: mib.TimeTicks, Uint: 29}, {Syntax: mib.Counter64, Uint: 1<<63 + 5},
		{}, {}, {},
	}
	for i, vb := range p.varbinds {
		if vb.typ != in[i].typ || !reflect.DeepEqual(vb.name, name) || !reflect.DeepEqual(vb.value, wantVals[i]) {
			t.Errorf("varbind %d: %+v, want type %d value %+v", i, vb, in[i].typ, wantVals[i])
		}
	}
}

func TestGoAgentxTimeTicksEncodingIsLossy(t *testing.T) {
	// Why appendVarbind encodes TimeTicks itself: go-agentx converts
	// through float seconds and truncates. If this starts failing,
	// go-agentx has been fixed and the special case could go.
	v := pdu.Variable{Type: pdu.VariableTypeTimeTicks, Value: 29 * 10 * time.Millisecond}
	v.Name.SetIdentifier(value.OID{1, 3})
	b, err := v.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if got := binary.LittleEndian.Uint32(b[len(b)-4:]); got != 28 {
		t.Errorf("go-agentx encoded 29 ticks as %d", got)
	}
}

func TestEncodeRefusesOverlongOIDs(t *testing.T) {
	long := make(mib.OID, maxSubids+1)
	if _, err := appendVarbind(nil, outVarbind{name: long, typ: pdu.VariableTypeNull}); err == nil {
		t.Error("a name of 129 sub-identifiers was encoded")
	}
	if _, err := appendVarbind(nil, outVarbind{name: mib.Enterprise(), typ: pdu.VariableTypeObjectIdentifier,
		val: mib.Value{Syntax: mib.ObjectIdentifier, OID: long}}); err == nil {
		t.Error("a value of 129 sub-identifiers was encoded")
	}
	if _, err := appendVarbind(nil, outVarbind{name: mib.Enterprise(), typ: pdu.VariableTypeOpaque}); err == nil {
		t.Error("an Opaque (never served) was encoded")
	}
}

func TestEncodeSubagentPDUs(t *testing.T) {
	open, err := marshal(pdu.Header{PacketID: 1}, openPacket(1500*time.Millisecond, mib.Enterprise(), "Gatewatch"))
	if err != nil {
		t.Fatal(err)
	}
	h, _ := parseHeader(open)
	r := &cursor{b: open[headerSize:], order: binary.LittleEndian}
	head, _ := r.take(4)
	id, _, errID := r.oid()
	descr, errD := r.octets()
	if h.typ != pdu.TypeOpen || h.version != 1 || int(h.payloadLen) != len(open)-headerSize || head[0] != 2 ||
		errID != nil || !reflect.DeepEqual(id, mib.Enterprise()) || errD != nil || string(descr) != "Gatewatch" || len(r.b) != 0 {
		t.Errorf("open: header %+v, timeout %d, id %v (%v), descr %q (%v), %d bytes left", h, head[0], id, errID, descr, errD, len(r.b))
	}

	reg, err := marshal(pdu.Header{SessionID: 4, PacketID: 2}, registerPacket(mib.MTAMIB(), 127))
	if err != nil {
		t.Fatal(err)
	}
	h, _ = parseHeader(reg)
	r = &cursor{b: reg[headerSize:], order: binary.LittleEndian}
	head, _ = r.take(4)
	sub, _, errS := r.oid()
	if h.typ != pdu.TypeRegister || h.sessionID != 4 || head[0] != 0 || head[1] != 127 || head[2] != 0 ||
		errS != nil || !reflect.DeepEqual(sub, mib.MTAMIB()) || len(r.b) != 0 {
		t.Errorf("register: header %+v, timeout/priority/range %v, subtree %v (%v)", h, head, sub, errS)
	}

	ping, err := marshal(pdu.Header{SessionID: 4, PacketID: 3}, pingPacket{})
	if h, _ := parseHeader(ping); err != nil || len(ping) != headerSize || h.typ != pdu.TypePing || h.sessionID != 4 || h.payloadLen != 0 {
		t.Errorf("ping: %x, %v", ping, err)
	}

	trap := oid("1.3.6.1.4.1.32473.0.7")
	vb := mib.Varbind{OID: oid("1.3.6.1.4.1.32473.5.2.0"), Value: mib.Value{Syntax: mib.OctetString, Str: "text"}}
	notify, err := marshal(pdu.Header{SessionID: 4, PacketID: 5}, &notifyPacket{vbs: []outVarbind{
		{name: mib.SnmpTrapOID(), typ: pdu.VariableTypeObjectIdentifier, val: mib.Value{Syntax: mib.ObjectIdentifier, OID: trap}},
		valueVarbind(vb),
	}})
	if err != nil {
		t.Fatal(err)
	}
	p := decodeAll(t, notify)
	want := []varbind{
		{mib.SnmpTrapOID(), pdu.VariableTypeObjectIdentifier, mib.Value{Syntax: mib.ObjectIdentifier, OID: trap}},
		{vb.OID, pdu.VariableTypeOctetString, vb.Value},
	}
	if p.typ != pdu.TypeNotify || p.sessionID != 4 || !reflect.DeepEqual(p.varbinds, want) {
		t.Errorf("notify decoded as %+v", p)
	}
}

func TestWireTimeout(t *testing.T) {
	for in, want := range map[time.Duration]time.Duration{
		0: time.Second, 300 * time.Millisecond: time.Second, 1200 * time.Millisecond: 2 * time.Second,
		5 * time.Second: 5 * time.Second, time.Hour: 255 * time.Second,
	} {
		if got := wireTimeout(in); got != want {
			t.Errorf("wireTimeout(%v) = %v, want %v", in, got, want)
		}
	}
}

func TestDialAddress(t *testing.T) {
	for in, want := range map[string][2]string{
		"unix:/var/agentx/master": {"unix", "/var/agentx/master"},
		"/var/agentx/master":      {"unix", "/var/agentx/master"},
		"tcp:127.0.0.1:705":       {"tcp", "127.0.0.1:705"},
	} {
		n, a, err := dialAddress(in)
		if err != nil || n != want[0] || a != want[1] {
			t.Errorf("dialAddress(%q) = %q %q %v", in, n, a, err)
		}
	}
	for _, bad := range []string{"", "127.0.0.1:705", "udp:127.0.0.1:705", "unix:", "tcp:"} {
		if _, _, err := dialAddress(bad); err == nil {
			t.Errorf("dialAddress(%q) accepted", bad)
		}
	}
}
