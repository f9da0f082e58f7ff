package agentx

import (
	"encoding/binary"
	"errors"
	"testing"
	"time"

	"github.com/posteo/go-agentx/pdu"
	"github.com/posteo/go-agentx/value"

	"github.com/gatewatch/gatewatch/telemetry/mib"
)

// FuzzDecode feeds arbitrary bytes to the decoder and, when they decode as
// a request, answers it the way the session would: nothing may panic, and
// every request must get an answer that encodes and decodes again.
func FuzzDecode(f *testing.F) {
	for _, tc := range requestCases() {
		for _, w := range []*wire{le(), be()} {
			f.Add(frame(w.order, tc.typ, tc.flags, 1, 2, 3, tc.payload(w).b))
		}
	}
	var vars pdu.Variables
	vars.Add(value.OID{1, 3, 6, 1}, pdu.VariableTypeOctetString, "x")
	resp, _ := (&pdu.HeaderPacket{Header: &pdu.Header{PacketID: 1}, Packet: &pdu.Response{Variables: vars}}).MarshalBinary()
	f.Add(resp)
	open, _ := marshal(pdu.Header{}, openPacket(time.Second, mib.Enterprise(), "fuzz"))
	f.Add(open)
	f.Add([]byte("garbage that is longer than a header"))
	f.Add(frame(binary.LittleEndian, pdu.TypeGet, 0, 1, 1, 1, []byte{130, 4, 0, 0}))

	view := func() table { return testTable }
	f.Fuzz(func(t *testing.T, data []byte) {
		p, n, err := decode(data)
		if err != nil {
			if p != nil && !errors.Is(err, errMalformed) && !errors.Is(err, errUnknownType) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		if n < headerSize || n > len(data) {
			t.Fatalf("decode took %d of %d bytes", n, len(data))
		}
		if !expectsResponse(p.typ) {
			return
		}
		r := answer(p, view)
		hd := pdu.Header{SessionID: p.sessionID, TransactionID: p.transactionID, PacketID: p.packetID}
		b, err := marshal(hd, r)
		if err != nil {
			// Only an overlong OID echoed from the request may fail; the
			// session then answers processingError.
			if b, err = marshal(hd, &responsePacket{err: pdu.ErrorProcessing}); err != nil {
				t.Fatalf("even processingError failed to encode: %v", err)
			}
			r = &responsePacket{err: pdu.ErrorProcessing}
		}
		back, _, err := decode(b)
		if err != nil {
			t.Fatalf("our response does not decode: %v", err)
		}
		if back.typ != pdu.TypeResponse || back.packetID != p.packetID || back.resError != r.err || len(back.varbinds) != len(r.vbs) {
			t.Fatalf("response %+v for request %+v", back, p)
		}
	})
}
