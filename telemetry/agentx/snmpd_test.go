package agentx

// These tests run the subagent against the real Net-SNMP snmpd, because
// what matters is how snmpd reacts to our PDUs (a GET of many OIDs, GETBULK
// turned into GetNext, a refused set, a crash and restart), and a fake
// master would only repeat our own reading of RFC 2741.

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"

	"github.com/gatewatch/gatewatch/internal/peers"
	"github.com/gatewatch/gatewatch/telemetry"
	"github.com/gatewatch/gatewatch/telemetry/mib"
	"github.com/gatewatch/gatewatch/telemetry/stats"
)

const (
	gwVersion        = "1.3.6.1.4.1.32473.1.1.0"
	gwHostname       = "1.3.6.1.4.1.32473.1.2.0"
	gwReceived       = "1.3.6.1.4.1.32473.2.1.0"  // ReceivedMessages, Counter64
	gwSent           = "1.3.6.1.4.1.32473.2.4.0"  // SentMessages, Counter64
	gwIncoming       = "1.3.6.1.4.1.32473.2.11.0" // IncomingConnections, Gauge32
	gwAgentXSessions = "1.3.6.1.4.1.32473.2.56.0"
	gwAgentXRequests = "1.3.6.1.4.1.32473.2.57.0" // moves with every request
	mtaReceived      = "1.3.6.1.2.1.28.1.1.1.1"   // MTA-MIB mtaReceivedMessages.1, Counter32
)

// testStats are statistics with a few recognisable values.
func testStats() *stats.Stats {
	st := telemetry.NewStats(Channel)
	st.ReceivedMessages.Add(42)
	st.SentMessages.Add(7)
	st.IncomingConnections.Set(3)
	st.SetInfo("9.8.7-test", "mx1.example.org")
	return st
}

// transports runs f once over the AgentX unix socket and once over TCP,
// each against its own snmpd.
func transports(t *testing.T, opts peers.SnmpdOptions, f func(t *testing.T, s *peers.Snmpd, address string)) {
	for _, tr := range []string{"unix", "tcp"} {
		t.Run(tr, func(t *testing.T) {
			t.Parallel()
			s := peers.StartSnmpd(t, opts)
			address := s.AgentXUnix()
			if tr == "tcp" {
				address = s.AgentXTCP()
			}
			f(t, s, address)
		})
	}
}

// mustOID parses an OID the net-snmp tools printed.
func mustOID(t testing.TB, s string) mib.OID {
	t.Helper()
	o, err := mib.ParseOID(s)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// getUntil polls snmpget of oid until it has type typ.
func getUntil(t testing.TB, s *peers.Snmpd, oid, typ string, timeout time.Duration) peers.SNMPValue {
	t.Helper()
	var last peers.SNMPValue
	var lastErr error
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		got, err := s.Get(t, oid)
		last, lastErr = got[oid], err
		if err == nil && last.Type == typ {
			return last
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s was never a %s within %v (last %+v, %v)", oid, typ, timeout, last, lastErr)
	return last
}

func TestServesSnmpd(t *testing.T) {
	t.Parallel()
	transports(t, peers.SnmpdOptions{}, func(t *testing.T, s *peers.Snmpd, address string) {
		st := testStats()
		r := startSubagent(t, address, st, nil)
		r.waitConnected(t)

		walk := s.Walk(t, mib.Enterprise().String())
		if len(walk) < 40 {
			t.Fatalf("walk returned only %d values: %+v", len(walk), walk)
		}
		byOID := map[string]peers.SNMPVar{}
		var prev mib.OID
		for _, v := range walk {
			o := mustOID(t, v.OID)
			if !o.HasPrefix(mib.Enterprise()) {
				t.Errorf("walk left the subtree: %+v", v)
			}
			if prev != nil && mib.Compare(prev, o) >= 0 {
				t.Errorf("walk went from %s to %s", prev, o)
			}
			prev = o
			byOID[v.OID] = v
		}
		for oid, want := range map[string]peers.SNMPVar{
			gwVersion:        {OID: gwVersion, Type: "STRING", Value: "9.8.7-test"},
			gwHostname:       {OID: gwHostname, Type: "STRING", Value: "mx1.example.org"},
			gwReceived:       {OID: gwReceived, Type: "Counter64", Value: "42"},
			gwSent:           {OID: gwSent, Type: "Counter64", Value: "7"},
			gwIncoming:       {OID: gwIncoming, Type: "Gauge32", Value: "3"},
			gwAgentXSessions: {OID: gwAgentXSessions, Type: "Counter64", Value: "1"},
		} {
			if byOID[oid] != want {
				t.Errorf("walk has %+v, want %+v", byOID[oid], want)
			}
		}

		// GETBULK reaches the subagent as GetNext; the result must match.
		bulk := s.BulkWalk(t, mib.Enterprise().String())
		if len(bulk) != len(walk) {
			t.Fatalf("bulkwalk returned %d values, walk %d", len(bulk), len(walk))
		}
		for i := range walk {
			same := bulk[i] == walk[i] || bulk[i].OID == gwAgentXRequests && bulk[i].OID == walk[i].OID && bulk[i].Type == walk[i].Type
			if !same {
				t.Errorf("bulkwalk[%d] = %+v, walk %+v", i, bulk[i], walk[i])
			}
		}

		// Ten OIDs in one GET: the subagent must answer every one (the
		// stock go-agentx client answered only the first and snmpd gave up).
		var oids []string
		for _, v := range walk[:10] {
			oids = append(oids, v.OID)
		}
		before := r.st.AgentXRequests.Load()
		got, err := s.Get(t, oids...)
		if err != nil {
			t.Fatalf("GET of 10 OIDs: %v", err)
		}
		if len(got) != 10 {
			t.Errorf("GET of 10 OIDs returned %d: %v", len(got), got)
		}
		for _, v := range walk[:10] {
			if g := got[v.OID]; g.Type != v.Type || v.OID != gwAgentXRequests && g.Value != v.Value {
				t.Errorf("GET %s = %+v, walk saw %+v", v.OID, g, v)
			}
		}
		if n := r.st.AgentXRequests.Load() - before; n != 1 {
			t.Errorf("one SNMP GET of 10 OIDs in one registration cost %d AgentX requests, want 1", n)
		}

		// The standard MIBs from the same statistics.
		got, err = s.Get(t, mtaReceived, "1.3.6.1.2.1.28.1.1.1.2", "1.3.6.1.2.1.28.99.0")
		if err != nil {
			t.Fatal(err)
		}
		for oid, want := range map[string]peers.SNMPValue{
			mtaReceived:              {Type: "Counter32", Value: "42"},
			"1.3.6.1.2.1.28.1.1.1.2": {Type: "noSuchInstance"},
			"1.3.6.1.2.1.28.99.0":    {Type: "noSuchObject"},
		} {
			if got[oid] != want {
				t.Errorf("%s = %+v, want %+v", oid, got[oid], want)
			}
		}

		services := s.Walk(t, mib.NetworkServices().String())
		named := false
		for _, v := range services {
			if !mustOID(t, v.OID).HasPrefix(mib.NetworkServices()) {
				t.Errorf("walk of NETWORK-SERVICES-MIB returned %+v", v)
			}
			named = named || v == peers.SNMPVar{OID: v.OID, Type: "STRING", Value: "gatewatch"}
		}
		if !named {
			t.Errorf("NETWORK-SERVICES-MIB has no applName \"gatewatch\": %+v", services)
		}

		if n := r.rec.count(telemetry.ChannelConnected); n != 1 {
			t.Errorf("%d Connected events, want 1", n)
		}
		for _, ev := range r.rec.all() {
			if ev.Channel != Channel {
				t.Errorf("event %v on channel %q", ev.Type, ev.Channel)
			}
		}
		if n := r.st.AgentXSessions.Load(); n != 1 {
			t.Errorf("AgentXSessions = %d, want 1", n)
		}
		if n := r.ignored.Load() + r.parseErrors.Load(); n != 0 {
			t.Errorf("snmpd sent %d PDUs the subagent ignored or could not parse", n)
		}
	})
}

func TestWalkIsFast(t *testing.T) {
	// The issue asks for a walk of the whole subtree under 200 ms; -race
	// and a loaded CI machine get ten times that. BenchmarkWalk measures.
	t.Parallel()
	s := peers.StartSnmpd(t, peers.SnmpdOptions{})
	r := startSubagent(t, s.AgentXUnix(), nil, nil)
	r.waitConnected(t)
	start := time.Now()
	n := len(s.Walk(t, mib.Enterprise().String()))
	elapsed := time.Since(start)
	t.Logf("snmpwalk of %d values took %v (snmpwalk process included)", n, elapsed)
	if elapsed > 2*time.Second {
		t.Errorf("walk of %d values took %v", n, elapsed)
	}
}

func TestSetIsRefused(t *testing.T) {
	t.Parallel()
	t.Run("write community reaches the subagent", func(t *testing.T) {
		t.Parallel()
		s := peers.StartSnmpd(t, peers.SnmpdOptions{ReadWrite: true})
		r := startSubagent(t, s.AgentXUnix(), testStats(), nil)
		r.waitConnected(t)
		before := r.st.AgentXRequests.Load()
		out, err := s.Set(t, gwVersion, "s", "hacked")
		if err == nil || !strings.Contains(out, "notWritable") || !strings.Contains(out, gwVersion) {
			t.Errorf("snmpset of our subtree: err %v, output:\n%s", err, out)
		}
		// TestSet, then CleanupSet: snmpd sends the latter after it has
		// answered snmpset, so it may still be on its way.
		waitFor(t, 5*time.Second, "TestSet and CleanupSet to reach the subagent", func() bool {
			return r.st.AgentXRequests.Load()-before >= 2
		})
		if n := r.st.AgentXRequests.Load() - before; n != 2 {
			t.Errorf("the refused set cost %d AgentX requests, want TestSet and CleanupSet", n)
		}
		if !r.Connected() {
			t.Fatal("the subagent lost its session over a set")
		}
		got, err := s.Get(t, gwVersion)
		if err != nil || got[gwVersion] != (peers.SNMPValue{Type: "STRING", Value: "9.8.7-test"}) {
			t.Errorf("after the set: %v %v", got, err)
		}
		if n := r.ignored.Load() + r.parseErrors.Load(); n != 0 {
			t.Errorf("%d PDUs ignored or unparsable", n)
		}
	})
	t.Run("read-only community stops at snmpd", func(t *testing.T) {
		t.Parallel()
		s := peers.StartSnmpd(t, peers.SnmpdOptions{})
		r := startSubagent(t, s.AgentXUnix(), nil, nil)
		r.waitConnected(t)
		before := r.st.AgentXRequests.Load()
		out, err := s.Set(t, gwVersion, "s", "hacked")
		if err == nil || !strings.Contains(out, "noAccess") {
			t.Errorf("snmpset with the read-only community: err %v, output:\n%s", err, out)
		}
		if n := r.st.AgentXRequests.Load() - before; n != 0 {
			t.Errorf("a set snmpd refused still sent %d AgentX requests", n)
		}
	})
}

func TestReregistersAfterSnmpdCrash(t *testing.T) {
	t.Parallel()
	transports(t, peers.SnmpdOptions{}, func(t *testing.T, s *peers.Snmpd, address string) {
		r := startSubagent(t, address, testStats(), nil)
		r.waitConnected(t)
		getUntil(t, s, gwVersion, "STRING", 5*time.Second)

		s.Kill(t)
		waitFor(t, 10*time.Second, "the subagent to notice the crash", func() bool { return !r.Connected() })
		waitFor(t, 5*time.Second, "a Disconnected event", func() bool { return r.rec.count(telemetry.ChannelDisconnected) == 1 })
		for _, ev := range r.rec.all() {
			if ev.Type == telemetry.ChannelDisconnected && (ev.Err == "" || ev.Channel != Channel) {
				t.Errorf("Disconnected event without a reason: %+v", ev)
			}
		}

		start := time.Now()
		s.Restart(t)
		up := time.Now()
		v := getUntil(t, s, gwVersion, "STRING", 10*time.Second)
		elapsed := time.Since(start)
		t.Logf("serving again %v after snmpd was started (%v after it answered SNMP)", elapsed, time.Since(up))
		if elapsed > 5*time.Second {
			t.Errorf("re-registration took %v from snmpd's start, want under 5s", elapsed)
		}
		if v.Value != "9.8.7-test" {
			t.Errorf("after the restart gwVersion = %+v", v)
		}
		if n := r.st.AgentXSessions.Load(); n != 2 {
			t.Errorf("AgentXSessions = %d, want 2", n)
		}
		if c, d := r.rec.count(telemetry.ChannelConnected), r.rec.count(telemetry.ChannelDisconnected); c != 2 || d != 1 {
			t.Errorf("%d Connected and %d Disconnected events, want 2 and 1", c, d)
		}
	})
}

func TestConnectsWhenSnmpdAppears(t *testing.T) {
	t.Parallel()
	transports(t, peers.SnmpdOptions{}, func(t *testing.T, s *peers.Snmpd, address string) {
		s.Stop(t) // a clean stop removes the unix socket: nothing to dial
		r := startSubagent(t, address, nil, nil)
		if r.Connected() {
			t.Fatal("connected without a master")
		}
		if err := r.Notify(context.Background(), mib.Enterprise(), nil); !errors.Is(err, ErrNotConnected) {
			t.Errorf("Notify without a master: %v", err)
		}
		s.Restart(t)
		r.waitConnected(t)
		getUntil(t, s, gwAgentXSessions, "Counter64", 5*time.Second)
		if n := r.rec.count(telemetry.ChannelDisconnected); n != 0 {
			t.Errorf("%d Disconnected events for a session that never existed", n)
		}
	})
}

func TestStopClosesTheSession(t *testing.T) {
	t.Parallel()
	s := peers.StartSnmpd(t, peers.SnmpdOptions{})
	r := startSubagent(t, s.AgentXTCP(), nil, nil)
	r.waitConnected(t)
	getUntil(t, s, gwVersion, "STRING", 5*time.Second)
	r.stop(t)
	if r.Connected() {
		t.Error("still connected after Run returned")
	}
	evs := r.rec.all()
	if last := evs[len(evs)-1]; last.Type != telemetry.ChannelDisconnected || !strings.Contains(last.Err, "stopped") {
		t.Errorf("last event %+v, want Disconnected saying the subagent stopped", last)
	}
	// snmpd drops the registrations with the session.
	getUntil(t, s, gwVersion, "noSuchObject", 5*time.Second)
}

func TestNotifyThroughSnmpd(t *testing.T) {
	t.Parallel()
	sink, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	s := peers.StartSnmpd(t, peers.SnmpdOptions{Extra: []string{"trap2sink " + sink.LocalAddr().String() + " public"}})

	if err := New(Options{Address: s.AgentXUnix()}).Notify(context.Background(), mib.Enterprise(), nil); !errors.Is(err, ErrNotConnected) {
		t.Fatalf("Notify before Run: %v, want ErrNotConnected", err)
	}

	r := startSubagent(t, s.AgentXUnix(), nil, nil)
	r.waitConnected(t)
	ev := telemetry.Event{Type: telemetry.ChannelDisconnected, Channel: "traps", Err: "test notification"}
	trapOID, vbs := mib.Notification(ev, "mx1.example.org", 2)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.Notify(ctx, trapOID, vbs); err != nil {
		t.Fatalf("Notify: %v", err)
	}

	// snmpd turns it into an SNMPv2-Trap to its sink, after the
	// coldStart trap it sent when it started.
	pkt := readTrap(t, sink, trapOID)
	if pkt.Community != "public" || len(pkt.Variables) != len(vbs)+2 {
		t.Fatalf("trap: community %q, %d varbinds (want %d): %+v", pkt.Community, len(pkt.Variables), len(vbs)+2, pkt.Variables)
	}
	if pkt.Variables[0].Name != "."+mib.SysUpTime().String() {
		t.Errorf("first varbind %s, want sysUpTime.0 added by snmpd", pkt.Variables[0].Name)
	}
	if v := pkt.Variables[1]; v.Name != "."+mib.SnmpTrapOID().String() || v.Value != "."+trapOID.String() {
		t.Errorf("second varbind %s = %v, want snmpTrapOID.0 = %s", v.Name, v.Value, trapOID)
	}
	for i, vb := range vbs {
		got := pkt.Variables[i+2]
		if got.Name != "."+vb.OID.String() {
			t.Errorf("varbind %d: %s, want %s", i+2, got.Name, vb.OID)
			continue
		}
		switch vb.Value.Syntax {
		case mib.OctetString:
			if b, _ := got.Value.([]byte); string(b) != vb.Value.Str {
				t.Errorf("%s = %v, want %q", got.Name, got.Value, vb.Value.Str)
			}
		case mib.Gauge32:
			if got.Type != gosnmp.Gauge32 || gosnmp.ToBigInt(got.Value).Uint64() != vb.Value.Uint {
				t.Errorf("%s = %v (%v), want Gauge32 %d", got.Name, got.Value, got.Type, vb.Value.Uint)
			}
		}
	}

	r.stop(t)
	if err := r.Notify(context.Background(), trapOID, vbs); !errors.Is(err, ErrNotConnected) {
		t.Errorf("Notify after Run returned: %v, want ErrNotConnected", err)
	}
}

// readTrap returns the first SNMPv2-Trap with snmpTrapOID.0 = trapOID that
// reaches sink within 10 s.
func readTrap(t *testing.T, sink net.PacketConn, trapOID mib.OID) *gosnmp.SnmpPacket {
	t.Helper()
	if err := sink.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 65536)
	var seen []string
	for {
		n, _, err := sink.ReadFrom(buf)
		if err != nil {
			t.Fatalf("no trap %s reached the sink (saw %v): %v", trapOID, seen, err)
		}
		pkt, err := (&gosnmp.GoSNMP{Version: gosnmp.Version2c}).SnmpDecodePacket(buf[:n])
		if err != nil {
			t.Fatalf("decoding a trap: %v", err)
		}
		if pkt.PDUType == gosnmp.SNMPv2Trap && len(pkt.Variables) > 1 && pkt.Variables[1].Value == "."+trapOID.String() {
			return pkt
		}
		if len(pkt.Variables) > 1 {
			seen = append(seen, fmt.Sprint(pkt.Variables[1].Value))
		}
	}
}
