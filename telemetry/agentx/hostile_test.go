package agentx

// A hostile master: a listener in the test that speaks raw bytes. snmpd
// never sends garbage, so only a fake can show that nothing a master sends
// makes the subagent panic, hang, or stop serving.

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/posteo/go-agentx/pdu"

	"github.com/gatewatch/gatewatch/internal/peers"
	"github.com/gatewatch/gatewatch/telemetry"
	"github.com/gatewatch/gatewatch/telemetry/mib"
)

// fakeSessionID is the session id the fake master hands out.
const fakeSessionID = 42

// fakeMaster accepts the subagent's connections one at a time.
type fakeMaster struct {
	ln    net.Listener
	conns chan net.Conn
	mu    sync.Mutex
	all   []net.Conn
}

func newFakeMaster(t *testing.T) *fakeMaster {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	m := &fakeMaster{ln: ln, conns: make(chan net.Conn, 16)}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			m.mu.Lock()
			m.all = append(m.all, c)
			m.mu.Unlock()
			m.conns <- c
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		m.mu.Lock()
		defer m.mu.Unlock()
		for _, c := range m.all {
			c.Close()
		}
	})
	return m
}

func (m *fakeMaster) address() string { return "tcp:" + m.ln.Addr().String() }

// accept waits for the subagent's next connection.
func (m *fakeMaster) accept(t *testing.T) *fakeConn {
	t.Helper()
	select {
	case c := <-m.conns:
		return &fakeConn{t: t, c: c, nextID: 1000}
	case <-time.After(15 * time.Second):
		t.Fatal("the subagent did not (re)connect within 15s")
		return nil
	}
}

// fakeConn is one connection as the master sees it.
type fakeConn struct {
	t       *testing.T
	c       net.Conn
	nextID  uint32
	payload []byte // of the PDU read last
}

// readErr reads one PDU from the subagent.
func (f *fakeConn) readErr() (*packet, error) {
	_ = f.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	hb := make([]byte, headerSize)
	if _, err := io.ReadFull(f.c, hb); err != nil {
		return nil, err
	}
	h, _ := parseHeader(hb)
	payload := make([]byte, h.payloadLen)
	if _, err := io.ReadFull(f.c, payload); err != nil {
		return nil, err
	}
	f.payload = payload
	p, err := decodePayload(h, payload)
	if errors.Is(err, errUnknownType) {
		err = nil // Open and Register: the header is what the fake needs
	}
	return p, err
}

func (f *fakeConn) read() *packet {
	f.t.Helper()
	p, err := f.readErr()
	if err != nil {
		f.t.Fatalf("reading from the subagent: %v", err)
	}
	return p
}

func (f *fakeConn) write(b []byte) {
	f.t.Helper()
	if _, err := f.c.Write(b); err != nil {
		f.t.Fatalf("writing to the subagent: %v", err)
	}
}

// answer sends the Response to the subagent's request p.
func (f *fakeConn) answer(p *packet, e pdu.Error) {
	f.t.Helper()
	b, err := marshal(pdu.Header{SessionID: fakeSessionID, PacketID: p.packetID}, &responsePacket{err: e})
	if err != nil {
		f.t.Fatal(err)
	}
	f.write(b)
}

// handshake plays the master's part of Open and the three Registers.
func (f *fakeConn) handshake() {
	f.t.Helper()
	open := f.read()
	if open.typ != pdu.TypeOpen {
		f.t.Fatalf("first PDU is %v, want Open", open.typ)
	}
	f.answer(open, pdu.ErrorNone)
	for _, want := range mib.Registrations() {
		reg := f.read()
		if reg.typ != pdu.TypeRegister || reg.sessionID != fakeSessionID {
			f.t.Fatalf("got %v in session %d, want Register in session %d", reg.typ, reg.sessionID, fakeSessionID)
		}
		r := &cursor{b: f.payload, order: reg.order()}
		head, _ := r.take(4)
		sub, _, err := r.oid()
		if err != nil || head[1] != want.Priority || !reflect.DeepEqual(sub, want.Subtree) {
			f.t.Fatalf("Register of %v at priority %d (%v), want %v at %d", sub, head[1], err, want.Subtree, want.Priority)
		}
		f.answer(reg, pdu.ErrorNone)
	}
}

// request sends a master request and returns its packetID.
func (f *fakeConn) request(order byteOrder, typ pdu.Type, flags pdu.Flags, payload []byte) uint32 {
	f.t.Helper()
	f.nextID++
	f.write(frame(order, typ, flags, fakeSessionID, 7, f.nextID, payload))
	return f.nextID
}

// response reads the subagent's next PDU, which must be the Response to
// packetID.
func (f *fakeConn) response(packetID uint32) *packet {
	f.t.Helper()
	p := f.read()
	if p.typ != pdu.TypeResponse || p.packetID != packetID || p.sessionID != fakeSessionID || p.transactionID != 7 {
		f.t.Fatalf("got %v (session %d, transaction %d, packet %d), want the Response to packet %d",
			p.typ, p.sessionID, p.transactionID, p.packetID, packetID)
	}
	return p
}

// closed waits until the subagent has dropped the connection.
func (f *fakeConn) closed() {
	f.t.Helper()
	for {
		p, err := f.readErr()
		if err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				f.t.Fatal("the subagent kept the connection open")
			}
			return
		}
		if p.typ != pdu.TypePing && p.typ != pdu.TypeClose {
			f.t.Fatalf("expected the connection to be dropped, got %v", p.typ)
		}
	}
}

func TestHostileMaster(t *testing.T) {
	t.Parallel()
	s := peers.StartSnmpd(t, peers.SnmpdOptions{})
	m := newFakeMaster(t)
	r := startSubagent(t, m.address(), testStats(), func(o *Options) {
		o.Timeout = time.Second
		o.PingInterval = time.Hour
	})
	enterprise := mib.Enterprise()
	version := oid(gwVersion)
	requests := uint64(0)

	// Session 1: everything that must be survived on the same connection.
	f := m.accept(t)
	f.handshake()
	waitFor(t, 5*time.Second, "registration", r.Connected)

	f.request(binary.LittleEndian, 99, 0, []byte{1, 2, 3, 4})                       // unknown type
	f.request(binary.LittleEndian, pdu.TypeOpen, 0, []byte{0xff, 0xff})             // master-only type, junk
	f.request(binary.LittleEndian, pdu.TypeNotify, 0, []byte{0xff, 0, 0, 0, 9, 9})  // unparsable, no answer due
	f.request(binary.BigEndian, pdu.TypePing, 0, nil)                               // a Ping to a subagent
	f.write(frame(binary.LittleEndian, pdu.TypeResponse, 0, fakeSessionID, 0, 9999, // nobody asked
		le().u32(0).u16(0).u16(0).b))
	f.write(frame(binary.LittleEndian, pdu.TypeResponse, 0, fakeSessionID, 0, 1, []byte{1, 2, 3})) // malformed
	f.write(frame(binary.BigEndian, pdu.TypeResponse, 0, 0xffffffff, 0, 0, nil))                   // empty

	id := f.request(binary.LittleEndian, pdu.TypeGet, 0, le().searchRange(version, false, nil).b)
	requests++
	if p := f.response(id); p.resError != 0 || len(p.varbinds) != 1 || p.varbinds[0].value.Str != "9.8.7-test" {
		t.Fatalf("Get after the junk: %+v", p)
	}
	if n := r.ignored.Load(); n != 7 {
		t.Errorf("ignored %d PDUs, want 7", n)
	}

	// Requests that cannot be parsed get parseError, and the session goes on.
	for _, bad := range [][]byte{
		le().bytes(10, 0, 0, 0).u32(1).u32(3).b, // OID of 10 sub-identifiers with 2 present
		le().oid(version, false).b,              // range without its end
		{1},                                     // not even an OID header
	} {
		id := f.request(binary.LittleEndian, pdu.TypeGet, 0, bad)
		requests++
		if p := f.response(id); p.resError != pdu.ErrorParse || len(p.varbinds) != 0 {
			t.Errorf("malformed Get %x answered %+v", bad, p)
		}
	}
	v2 := frame(binary.LittleEndian, pdu.TypeGetNext, 0, fakeSessionID, 7, 555, le().searchRange(version, false, nil).b)
	v2[0] = 2
	f.write(v2)
	requests++
	if p := f.response(555); p.resError != pdu.ErrorParse {
		t.Errorf("AgentX version 2 answered %+v", p)
	}
	id = f.request(binary.LittleEndian, pdu.TypeTestSet, 0, le().varbindHead(77, version).b)
	requests++
	if p := f.response(id); p.resError != pdu.ErrorParse {
		t.Errorf("TestSet of an unknown type answered %+v", p)
	}

	// GetBulk: zero ranges, then a real one.
	id = f.request(binary.LittleEndian, pdu.TypeGetBulk, 0, le().u16(3).u16(100).b)
	requests++
	if p := f.response(id); p.resError != 0 || len(p.varbinds) != 0 {
		t.Errorf("GetBulk without ranges answered %+v", p)
	}
	id = f.request(binary.LittleEndian, pdu.TypeGetBulk, 0, le().u16(0).u16(3).searchRange(enterprise, false, enterprise.Append(2)).b)
	requests++
	p := f.response(id)
	if len(p.varbinds) != 3 || !reflect.DeepEqual(p.varbinds[0].name, version) {
		t.Fatalf("GetBulk of gwInfo answered %+v", p)
	}
	for i := 1; i < 3; i++ {
		if mib.Compare(p.varbinds[i-1].name, p.varbinds[i].name) >= 0 {
			t.Errorf("GetBulk went from %s to %s", p.varbinds[i-1].name, p.varbinds[i].name)
		}
	}

	// Network byte order in, the same values out.
	id = f.request(binary.BigEndian, pdu.TypeGetNext, 0, be().searchRange(oid("1.3.6.1.4.1.32473.2.1"), true, nil).b)
	requests++
	if p := f.response(id); len(p.varbinds) != 1 || p.varbinds[0].name.String() != gwReceived || p.varbinds[0].value.Uint != 42 ||
		p.varbinds[0].typ != pdu.VariableTypeCounter64 {
		t.Errorf("big-endian GetNext answered %+v", p)
	}
	// A context we never registered in.
	id = f.request(binary.BigEndian, pdu.TypeGet, pdu.FlagNonDefaultContext, be().octets("other").searchRange(version, false, nil).b)
	requests++
	if p := f.response(id); p.resError != pdu.ErrorUnsupportedContext || len(p.varbinds) != 0 {
		t.Errorf("Get in context \"other\" answered %+v", p)
	}

	// The set family: refused, nothing to commit, and no answer to cleanup.
	id = f.request(binary.LittleEndian, pdu.TypeTestSet, 0,
		le().varbindHead(pdu.VariableTypeOctetString, version).octets("x").varbindHead(pdu.VariableTypeInteger, version).u32(1).b)
	requests++
	if p := f.response(id); p.resError != errNotWritable || p.resIndex != 1 {
		t.Errorf("TestSet answered %+v", p)
	}
	id = f.request(binary.LittleEndian, pdu.TypeTestSet, 0, nil)
	requests++
	if p := f.response(id); p.resError != 0 {
		t.Errorf("empty TestSet answered %+v", p)
	}
	for _, typ := range []pdu.Type{pdu.TypeCommitSet, pdu.TypeUndoSet} {
		id = f.request(binary.LittleEndian, typ, 0, nil)
		requests++
		if p := f.response(id); p.resError != 0 {
			t.Errorf("%v answered %+v", typ, p)
		}
	}
	f.request(binary.LittleEndian, pdu.TypeCleanupSet, 0, nil)
	id = f.request(binary.LittleEndian, pdu.TypeGet, 0, le().searchRange(version, false, nil).b)
	requests += 2
	f.response(id) // the next Response is the Get's: CleanupSet got none

	if n := r.parseErrors.Load(); n != 5 {
		t.Errorf("%d parse errors, want 5", n)
	}
	if n := r.st.AgentXRequests.Load(); n != requests {
		t.Errorf("AgentXRequests = %d, want %d", n, requests)
	}
	if !r.Connected() {
		t.Fatal("lost the session on the way")
	}

	// A Close from the master ends the session; the subagent comes back.
	f.request(binary.LittleEndian, pdu.TypeClose, 0, []byte{byte(pdu.ReasonByManager), 0, 0, 0})
	f.closed()
	waitFor(t, 5*time.Second, "the Disconnected event", func() bool { return r.rec.count(telemetry.ChannelDisconnected) == 1 })

	// Broken framing after registration: each drops the connection.
	hugeLen := frame(binary.LittleEndian, pdu.TypeGet, 0, fakeSessionID, 0, 1, nil)
	binary.LittleEndian.PutUint32(hugeLen[16:], maxPayload+1)
	garbage := []byte("\xde\xad\xbe\xef this is not AgentX at all, no sir")
	for i, attack := range []struct {
		name  string
		bytes []byte
		hang  bool // then close our side
	}{
		{"garbage", garbage, false},
		{"payload length over 1 MiB", hugeLen, false},
		{"truncated header", hugeLen[:10], true},
		{"truncated payload", frame(binary.LittleEndian, pdu.TypeGet, 0, fakeSessionID, 0, 1, make([]byte, 64))[:50], true},
	} {
		f := m.accept(t)
		f.handshake()
		waitFor(t, 5*time.Second, "registration before "+attack.name, r.Connected)
		f.write(attack.bytes)
		if attack.hang {
			f.c.(*net.TCPConn).CloseWrite()
		}
		f.closed()
		want := i + 2
		waitFor(t, 5*time.Second, "Disconnected after "+attack.name, func() bool { return r.rec.count(telemetry.ChannelDisconnected) == want })
	}

	// Failures before registration: no Connected, no Disconnected.
	f = m.accept(t)
	f.answer(f.read(), pdu.ErrorOpenFailed)
	f.closed()
	f = m.accept(t)
	f.answer(f.read(), pdu.ErrorNone)
	f.answer(f.read(), pdu.ErrorNone)
	f.answer(f.read(), pdu.ErrorDuplicateRegistration)
	f.closed()
	f = m.accept(t)
	f.read()
	f.write(garbage)
	f.closed()
	f = m.accept(t)
	f.read() // Open, never answered: the subagent gives up after its timeout
	f.closed()
	if c, d := r.rec.count(telemetry.ChannelConnected), r.rec.count(telemetry.ChannelDisconnected); c != 5 || d != 5 {
		t.Errorf("%d Connected and %d Disconnected events, want 5 and 5", c, d)
	}

	// Notify: an error answer is an error, and so is silence.
	f = m.accept(t)
	f.handshake()
	waitFor(t, 5*time.Second, "registration", r.Connected)
	notified := make(chan error, 1)
	go func() { notified <- r.Notify(context.Background(), mib.Enterprise().Append(0, 1), nil) }()
	n := f.read()
	if n.typ != pdu.TypeNotify || len(n.varbinds) != 1 || !reflect.DeepEqual(n.varbinds[0].name, mib.SnmpTrapOID()) {
		t.Fatalf("Notify sent as %+v", n)
	}
	f.answer(n, pdu.ErrorProcessing)
	if err := <-notified; err == nil || !strings.Contains(err.Error(), "ErrorProcessing") {
		t.Errorf("Notify answered with processingError returned %v", err)
	}
	go func() { notified <- r.Notify(context.Background(), mib.Enterprise().Append(0, 1), nil) }()
	f.read()
	if err := <-notified; err == nil || !strings.Contains(err.Error(), "no response") {
		t.Errorf("unanswered Notify returned %v", err)
	}
	if !r.Connected() {
		t.Error("an unanswered Notify cost the session")
	}
	f.c.Close()

	// Finally the real snmpd, through a proxy: the same subagent serves it.
	f = m.accept(t)
	proxy(t, f.c, strings.TrimPrefix(s.AgentXTCP(), "tcp:"))
	waitFor(t, 10*time.Second, "registration with snmpd", func() bool { return r.rec.count(telemetry.ChannelConnected) == 7 })
	walk := s.Walk(t, enterprise.String())
	if len(walk) < 40 || walk[0].OID != gwVersion || walk[0].Value != "9.8.7-test" {
		t.Fatalf("walk through snmpd after the attacks: %d values, first %+v", len(walk), walk[0])
	}
	oids := make([]string, 0, 10)
	for _, v := range walk[:10] {
		oids = append(oids, v.OID)
	}
	if got, err := s.Get(t, oids...); err != nil || len(got) != 10 {
		t.Errorf("GET of 10 OIDs after the attacks: %d values, %v", len(got), err)
	}
}

// proxy joins the subagent's connection to snmpd's AgentX listener.
func proxy(t *testing.T, sub net.Conn, target string) {
	t.Helper()
	up, err := net.Dial("tcp", target)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { up.Close() })
	go func() { _, _ = io.Copy(up, sub); up.Close() }()
	go func() { _, _ = io.Copy(sub, up); sub.Close() }()
}

func TestPingDetectsADeadMaster(t *testing.T) {
	t.Parallel()
	m := newFakeMaster(t)
	r := startSubagent(t, m.address(), nil, func(o *Options) {
		o.Timeout = time.Second
		o.PingInterval = 100 * time.Millisecond
	})
	f := m.accept(t)
	f.handshake()
	ping := f.read()
	if ping.typ != pdu.TypePing || ping.sessionID != fakeSessionID {
		t.Fatalf("got %v in session %d, want a Ping in ours", ping.typ, ping.sessionID)
	}
	f.answer(ping, pdu.ErrorNone)
	if p := f.read(); p.typ != pdu.TypePing {
		t.Fatalf("got %v, want the next Ping", p.typ)
	}
	// Alive but silent: the subagent must give up on it.
	f.closed()
	waitFor(t, 5*time.Second, "the Disconnected event", func() bool { return r.rec.count(telemetry.ChannelDisconnected) == 1 })
	for _, ev := range r.rec.all() {
		if ev.Type == telemetry.ChannelDisconnected && !strings.Contains(ev.Err, "ping") {
			t.Errorf("Disconnected because %q, want the ping", ev.Err)
		}
	}
	m.accept(t).handshake() // and it tries again
	waitFor(t, 5*time.Second, "re-registration", r.Connected)
}
