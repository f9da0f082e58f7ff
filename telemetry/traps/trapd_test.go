package traps

// These tests send to the real net-snmp snmptrapd (internal/peers), the
// receiver most NOCs run or imitate: whether a v3 trap is accepted depends
// on USM details (whose engine ID, which boots and time) that a receiver
// written here would only get as right as the sender.

import (
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatewatch/gatewatch/internal/peers"
	"github.com/gatewatch/gatewatch/telemetry"
	"github.com/gatewatch/gatewatch/telemetry/mib"
)

const (
	trapUser     = "gwtrap"   // known under the gateway's engine ID only
	informUser   = "gwinform" // known under the receiver's engine ID only
	trapAuthPass = "authpass12345"
	trapPrivPass = "privpass12345"
	trapWait     = 20 * time.Second
)

// mode is one way of sending, and how snmptrapd's %P shows it.
type mode struct {
	name     string
	security string
	target   func(addr string) Target
}

func modes() []mode {
	v2c := func(inform bool) func(string) Target {
		return func(addr string) Target {
			return Target{Target: addr, Version: "2c", Community: "public", Inform: inform}
		}
	}
	v3 := func(inform bool) func(string) Target {
		return func(addr string) Target {
			user := trapUser
			if inform {
				user = informUser
			}
			return Target{Target: addr, Version: "3", Inform: inform, User: user,
				Auth: "SHA", AuthPass: trapAuthPass, Priv: "AES", PrivPass: trapPrivPass}
		}
	}
	return []mode{
		{"v2c trap", "TRAP2, SNMP v2c, community public", v2c(false)},
		{"v2c inform", "INFORM, SNMP v2c, community public", v2c(true)},
		{"v3 trap", "TRAP2, SNMP v3, user " + trapUser + ",", v3(false)},
		{"v3 inform", "INFORM, SNMP v3, user " + informUser + ",", v3(true)},
	}
}

// startTrapd runs snmptrapd knowing user gwinform (SHA/AES) for informs
// and user gwtrap for traps from the sender engineID. The users differ so
// that a trap sent under the receiver's engine ID (gosnmp's default) is
// dropped, as by a receiver that only knows the gateway's engine ID. With
// the MIB, snmptrapd logs names.
func startTrapd(t *testing.T, engineID []byte, withMIB bool) *peers.Snmptrapd {
	t.Helper()
	o := peers.SnmptrapdOptions{Users: []peers.SnmptrapdUser{
		{Name: informUser, Auth: "SHA", AuthPass: trapAuthPass, Priv: "AES", PrivPass: trapPrivPass},
		{Name: trapUser, Auth: "SHA", AuthPass: trapAuthPass, Priv: "AES", PrivPass: trapPrivPass, EngineID: engineID},
	}}
	if withMIB {
		own, err := filepath.Abs("../../mibs")
		if err != nil {
			t.Fatal(err)
		}
		o.MIBs = []string{peers.BaseMIBs(t), own}
		o.Modules = "SNMPv2-MIB:GATEWATCH-MIB"
	}
	return peers.StartSnmptrapd(t, o)
}

func parseLine(t *testing.T, line string) peers.TrapdLine {
	t.Helper()
	l, err := peers.ParseTrapdLine(line)
	if err != nil {
		t.Fatalf("%v in %q", err, line)
	}
	return l
}

// expectedVarbinds are the GATEWATCH-MIB varbinds (name, type, value) a
// receiver with the MIB must show for ev, built from the event and the
// catalog rather than from mib.Notification.
func expectedVarbinds(ev telemetry.Event, hostname string, suppressed uint64) [][3]string {
	spec := ev.Type.Spec()
	g := func(name, typ, value string) [3]string { return [3]string{"GATEWATCH-MIB::" + name + ".0", typ, value} }
	u := func(n int64) string { return strconv.FormatInt(n, 10) }
	out := [][3]string{
		g("gwHostname", "STRING", hostname),
		g("gwTrapEvent", "STRING", spec.Name),
		g("gwTrapSeverity", "Gauge32", u(int64(spec.Severity))),
		g("gwTrapText", "STRING", ev.Text),
		g("gwTrapSuppressed", "Gauge32", strconv.FormatUint(suppressed, 10)),
	}
	for _, v := range spec.TrapVars {
		switch v {
		case telemetry.VarQueueID:
			out = append(out, g("gwTrapQueueId", "STRING", ev.QueueID))
		case telemetry.VarRoute:
			out = append(out, g("gwTrapRoute", "STRING", ev.Route))
		case telemetry.VarReason:
			out = append(out, g("gwTrapReason", "STRING", string(ev.Reason)))
		case telemetry.VarValue:
			out = append(out, g("gwTrapValue", "Gauge32", u(ev.Count)))
		case telemetry.VarThreshold:
			out = append(out, g("gwTrapThreshold", "Gauge32", u(ev.Threshold)))
		case telemetry.VarChannel:
			out = append(out, g("gwTrapChannel", "STRING", ev.Channel))
		case telemetry.VarCategory:
			out = append(out, g("gwTrapCategory", "STRING", ev.Category))
		}
	}
	return out
}

// checkNamed checks a notification logged with the MIB: sysUpTime.0,
// snmpTrapOID.0 by name, then exactly the expected varbinds in order.
func checkNamed(t *testing.T, l peers.TrapdLine, ev telemetry.Event, hostname string, suppressed uint64, maxTicks uint64) {
	t.Helper()
	what := l.Security + " " + ev.Type.Spec().Name
	if len(l.Varbinds) < 2 || l.Varbinds[0].Name != "SNMPv2-MIB::sysUpTime.0" || l.Varbinds[1].Name != "SNMPv2-MIB::snmpTrapOID.0" {
		t.Errorf("%s: does not start with sysUpTime.0, snmpTrapOID.0: %+v", what, l.Varbinds)
		return
	}
	if ticks, err := l.Varbinds[0].Ticks(); err != nil || ticks > maxTicks {
		t.Errorf("%s: sysUpTime.0 %q (%v), want at most %d hundredths since Started", what, l.Varbinds[0].Value, err, maxTicks)
	}
	if got, want := l.Varbinds[1].Value, "GATEWATCH-MIB::"+mib.NotificationName(ev.Type); got != want {
		t.Errorf("%s: snmpTrapOID.0 = %q, want %q", what, got, want)
	}
	want := expectedVarbinds(ev, hostname, suppressed)
	got := l.Varbinds[2:]
	if len(got) != len(want) {
		t.Errorf("%s: %d varbinds after snmpTrapOID.0, want %d: %+v", what, len(got), len(want), got)
		return
	}
	for i, w := range want {
		if g := got[i]; g.Name != w[0] || g.Type != w[1] || g.Value != w[2] {
			t.Errorf("%s: varbind %d = %s %s %q, want %s %s %q", what, i, g.Name, g.Type, g.Value, w[0], w[1], w[2])
		}
	}
}

func TestEveryTrapTypeArrivesInEveryMode(t *testing.T) {
	const hostname = "mx1.example.org"
	// No EngineID option: the derived one is what the receiver must know.
	d := startTrapd(t, DeriveEngineID(hostname), true)
	st := newStats()
	started := time.Now().Add(-3 * time.Second)
	var targets []Target
	for _, m := range modes() {
		targets = append(targets, m.target(d.Addr))
	}
	s := mustNew(t, Options{Stats: st, Hostname: hostname, Targets: targets, Burst: 1000, Started: started})
	types := trapTypes(t)
	byName := map[string]telemetry.Type{}
	for _, ty := range types {
		byName["GATEWATCH-MIB::"+mib.NotificationName(ty)] = ty
		s.Handle(eventOf(ty), false)
	}
	lines := d.WaitFor(t, len(modes())*len(types), nil, trapWait)
	maxTicks := uint64(time.Since(started) / (10 * time.Millisecond))

	seen := map[string]bool{}
	for _, line := range lines {
		l := parseLine(t, line)
		var m string
		for _, md := range modes() {
			if strings.HasPrefix(l.Security, md.security) {
				m = md.name
			}
		}
		trapOID, _ := l.Get("SNMPv2-MIB::snmpTrapOID.0")
		ty, ok := byName[trapOID.Value]
		if m == "" || !ok {
			t.Errorf("unexpected notification %q", line)
			continue
		}
		key := m + " " + ty.Spec().Name
		if seen[key] {
			t.Errorf("%s arrived twice", key)
		}
		seen[key] = true
		checkNamed(t, l, eventOf(ty), hostname, 0, maxTicks)
		if ticks, _ := l.Varbinds[0].Ticks(); ticks < 300 {
			t.Errorf("%s: sysUpTime.0 %d, want at least the 3 s since Started", key, ticks)
		}
	}
	for _, md := range modes() {
		for _, ty := range types {
			if !seen[md.name+" "+ty.Spec().Name] {
				t.Errorf("%s %s never arrived", md.name, ty.Spec().Name)
			}
		}
	}
	// All four targets share the receiver's address, so its counters add up.
	all := uint64(len(modes()) * len(types))
	waitUntil(t, "every send counted", trapWait, func() bool { return st.TrapTargetSent.With(d.Addr).Load() == all })
	if n := st.TrapTargetFails.With(d.Addr).Load(); n != 0 {
		t.Errorf("%d failures", n)
	}
	for _, ty := range types {
		if n := st.TrapsSent.With(ty.Spec().Name).Load(); n != 1 {
			t.Errorf("TrapsSent{%s} = %d, want 1 (per notification, not per target)", ty.Spec().Name, n)
		}
	}
}

// Every auth and priv protocol the configuration accepts must interoperate
// with net-snmp, for traps (our localised keys) and informs (theirs).
func TestV3ProtocolsInteroperate(t *testing.T) {
	combos := [][2]string{{"MD5", "DES"}, {"SHA", "AES"}, {"SHA224", "AES192"}, {"SHA256", "AES256"}, {"SHA384", "AES"}, {"SHA512", "AES256"}}
	engineID := []byte{0x80, 0x00, 0x7E, 0xD9, 0x04, 't', 'e', 's', 't'}
	var users []peers.SnmptrapdUser
	for _, c := range combos {
		name := strings.ToLower(c[0] + "-" + c[1])
		users = append(users,
			peers.SnmptrapdUser{Name: "trap-" + name, Auth: c[0], AuthPass: trapAuthPass, Priv: c[1], PrivPass: trapPrivPass, EngineID: engineID},
			peers.SnmptrapdUser{Name: "inform-" + name, Auth: c[0], AuthPass: trapAuthPass, Priv: c[1], PrivPass: trapPrivPass})
	}
	d := peers.StartSnmptrapd(t, peers.SnmptrapdOptions{Users: users})
	var targets []Target
	for _, u := range users {
		targets = append(targets, Target{Target: d.Addr, Version: "3", Inform: u.EngineID == nil, User: u.Name,
			Auth: u.Auth, AuthPass: u.AuthPass, Priv: u.Priv, PrivPass: u.PrivPass})
	}
	st := newStats()
	s := mustNew(t, Options{Stats: st, Targets: targets, EngineID: engineID})
	s.Handle(eventOf(telemetry.SpoolCorrupt), false)
	lines := d.WaitFor(t, len(targets), nil, trapWait)
	got := map[string]bool{}
	for _, line := range lines {
		l := parseLine(t, line)
		if text, _ := l.Get(".1.3.6.1.4.1.32473.5.2.0"); text.Value != eventOf(telemetry.SpoolCorrupt).Text {
			t.Errorf("gwTrapText %q in %q", text.Value, line)
		}
		got[strings.SplitN(l.Security, ", context", 2)[0]] = true
	}
	for _, u := range users {
		kind := "INFORM"
		if u.EngineID != nil {
			kind = "TRAP2"
		}
		if key := kind + ", SNMP v3, user " + u.Name; !got[key] {
			t.Errorf("missing %s (%s/%s)", key, u.Auth, u.Priv)
		}
	}
	waitUntil(t, "every send counted", trapWait, func() bool { return st.TrapTargetSent.With(d.Addr).Load() == uint64(len(targets)) })
}

// A receiver that restarts remembers nothing, but one that keeps running
// sees the gateway restart: the new run's traps carry a higher boots count
// (and a small engine time again), which it must accept.
func TestV3TrapsAfterARestartWithBootsFile(t *testing.T) {
	engineID := []byte{0x80, 0x00, 0x7E, 0xD9, 0x04, 'b', 'o', 'o', 't'}
	d := startTrapd(t, engineID, false)
	boots := filepath.Join(t.TempDir(), "boots")
	target := modes()[2].target(d.Addr) // v3 trap
	for run := 1; run <= 2; run++ {
		st := newStats()
		// The first run has been up for a while; the second just started.
		started := time.Now().Add(-time.Duration(3-run) * time.Hour)
		s := mustNew(t, Options{Stats: st, Targets: []Target{target}, EngineID: engineID, BootsFile: boots, Started: started})
		if s.EngineBoots() != uint32(run) {
			t.Fatalf("run %d: boots %d", run, s.EngineBoots())
		}
		ev := eventOf(telemetry.GatewayStarted)
		ev.Text = "run " + strconv.Itoa(run)
		s.Handle(ev, false)
		d.WaitFor(t, 1, func(l string) bool { return strings.Contains(l, `"run `+strconv.Itoa(run)+`"`) }, trapWait)
		s.Close()
	}
}

func TestStormGuardAtTheReceiver(t *testing.T) {
	const hostname = "mx1.example.org"
	d := startTrapd(t, nil, true)
	st := newStats()
	s := mustNew(t, Options{Stats: st, Hostname: hostname, Targets: []Target{modes()[0].target(d.Addr)},
		Burst: 3, Interval: 10 * time.Second})
	clock := newFakeClock()
	s.useClock(clock)
	name := telemetry.RouteUnreachable.Spec().Name
	ev := eventOf(telemetry.RouteUnreachable)
	for i := range 20 {
		ev.Text = "storm " + strconv.Itoa(i)
		s.Handle(ev, false)
	}
	if n := st.TrapsSuppressed.With(name).Load(); n != 17 {
		t.Errorf("TrapsSuppressed{%s} = %d, want 17", name, n)
	}
	if n := st.TrapsSent.With(name).Load(); n != 3 {
		t.Errorf("TrapsSent{%s} = %d, want 3", name, n)
	}
	// Other types are not held back by this one's storm.
	s.Handle(eventOf(telemetry.RouteRecovered), false)

	clock.add(10 * time.Second)
	ev.Text = "after the storm"
	s.Handle(ev, false)
	ev.Text = "and the next"
	s.Handle(ev, false)
	isStorm := func(l string) bool { return strings.Contains(l, "::"+mib.NotificationName(telemetry.RouteUnreachable)) }
	d.WaitFor(t, 1, func(l string) bool { return strings.Contains(l, "and the next") }, trapWait)
	// One worker sends in order and snmptrapd logs in order, so every
	// notification handed over before "and the next" is in by now.
	lines := d.WaitFor(t, 5, isStorm, trapWait)
	if len(lines) != 5 {
		t.Fatalf("%d route.unreachable notifications, want 3 + 2: %q", len(lines), lines)
	}
	for i, line := range lines {
		ev.Text = []string{"storm 0", "storm 1", "storm 2", "after the storm", "and the next"}[i]
		suppressed := uint64(0)
		if i == 3 {
			suppressed = 17 // reported once, by the first one after the storm
		}
		checkNamed(t, parseLine(t, line), ev, hostname, suppressed, 1<<32)
	}
	if n := len(d.Lines(t)); n != 6 {
		t.Errorf("%d notifications in all, want 6 (5 route.unreachable, 1 route.recovered)", n)
	}
}

// A receiver that never acknowledges must not hold up Handle or the other
// receivers, and its informs count as failures.
func TestDeadInformReceiver(t *testing.T) {
	for _, c := range []struct {
		name string
		addr func(t *testing.T) string
	}{
		{"silent", silentUDP},     // takes datagrams, never answers: the inform times out
		{"closed", closedUDPAddr}, // nobody bound: ICMP port unreachable
	} {
		t.Run(c.name, func(t *testing.T) {
			live := startTrapd(t, nil, false)
			dead := c.addr(t)
			st := newStats()
			s := mustNew(t, Options{Stats: st, Burst: 1000, Timeout: 200 * time.Millisecond, Retries: -1,
				Targets: []Target{
					{Target: dead, Version: "2c", Community: "public", Inform: true},
					{Target: live.Addr, Version: "2c", Community: "public", Inform: true},
				}})
			start := time.Now()
			s.Handle(eventOf(telemetry.RouteUnreachable), false)
			if d := time.Since(start); d > 50*time.Millisecond {
				t.Errorf("Handle took %v", d)
			}
			live.WaitFor(t, 1, nil, trapWait)
			waitUntil(t, "the dead receiver's failure", trapWait, func() bool { return st.TrapTargetFails.With(dead).Load() == 1 })
			if n := st.TrapTargetSent.With(dead).Load(); n != 0 {
				t.Errorf("TrapTargetSent{dead} = %d", n)
			}
			waitUntil(t, "the live receiver's acknowledgement", trapWait, func() bool { return st.TrapTargetSent.With(live.Addr).Load() == 1 })

			// A flood fills the dead receiver's queue; Handle stays fast.
			const flood = 2 * queueSize
			start = time.Now()
			for range flood {
				s.Handle(eventOf(telemetry.QueueSizeHigh), false)
			}
			if d := time.Since(start); d > time.Second {
				t.Errorf("%d Handle calls took %v", flood, d)
			}
			start = time.Now()
			s.Close()
			if d := time.Since(start); d > s.closeWait+abortWait+time.Second {
				t.Errorf("Close took %v, want it bounded by %v", d, s.closeWait+abortWait)
			}
			if sent, fails := st.TrapTargetSent.With(dead).Load(), st.TrapTargetFails.With(dead).Load(); sent != 0 || fails != 1+flood {
				t.Errorf("dead receiver: %d sent, %d failed; want 0 and %d", sent, fails, 1+flood)
			}
			if sent, fails := st.TrapTargetSent.With(live.Addr).Load(), st.TrapTargetFails.With(live.Addr).Load(); sent+fails != 1+flood || sent < 2 {
				t.Errorf("live receiver: %d sent, %d failed; want %d in all, most of them sent", sent, fails, 1+flood)
			}
		})
	}
}

// silentUDP is a bound UDP socket that never reads: a receiver that is up
// but does not answer.
func silentUDP(t *testing.T) string {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c.LocalAddr().String()
}

// closedUDPAddr is a UDP port that was just released: nobody listens.
func closedUDPAddr(t *testing.T) string {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := c.LocalAddr().String()
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

// An inform counts as sent only when the receiver acknowledged it: one it
// drops (wrong community) times out; one it refuses (wrong keys) gets an
// unauthenticated Report back, which gosnmp rejects as "not authentic".
func TestUnacknowledgedInformsFail(t *testing.T) {
	d := startTrapd(t, nil, false)
	wrongKeys := modes()[3].target(d.Addr) // v3 inform
	wrongKeys.AuthPass = "not-the-password"
	wrongCommunity := modes()[1].target(d.Addr) // v2c inform
	wrongCommunity.Community = "private"
	st := newStats()
	s := mustNew(t, Options{Stats: st, Targets: []Target{wrongKeys, wrongCommunity}, Timeout: 300 * time.Millisecond, Retries: -1})
	s.Handle(eventOf(telemetry.ConfigReloadFailed), false)
	waitUntil(t, "two failures", trapWait, func() bool { return st.TrapTargetFails.With(d.Addr).Load() == 2 })
	if n := st.TrapTargetSent.With(d.Addr).Load(); n != 0 {
		t.Errorf("%d unacknowledged informs counted as sent", n)
	}
	if lines := d.Lines(t); len(lines) != 0 {
		t.Errorf("the receiver logged %q", lines)
	}
}
