package delivery

import (
	"strings"
	"testing"
	"time"

	"github.com/gatewatch/gatewatch/pipeline"
)

// The per-route figures behind MTA-MIB's group table move with delivery:
// connections opened and open, the queue drained, the open connection in
// the association registry, and a failed connect's reason kept.
func TestRouteFigures(t *testing.T) {
	hop := newFakeHop(t)
	e := newEnv(t, testConfig(Route{Name: "fake", Match: "*@dest.test", To: hop.url()}))
	st := e.st
	for i := 0; i < 3; i++ {
		id := e.spoolMsg(pipeline.Meta{Envelope: pipeline.Envelope{From: testSender, Recipients: rcpts("a@dest.test")}}, testContent("fig"))
		e.waitGone(id)
	}
	if n := st.RouteConnsAll.With("fake").Load(); n < 1 {
		t.Errorf("route connections opened = %d", n)
	}
	if n := st.RouteRcpts.With("fake").Load(); n != 3 {
		t.Errorf("route recipients = %d, want 3", n)
	}
	if n := st.RouteQueued.With("fake").Load(); n != 0 {
		t.Errorf("route queue = %d after delivery, want 0", n)
	}
	// The worker keeps its connection: it is open, and registered.
	open := st.RouteConns.With("fake").Load()
	var outbound int
	for _, a := range st.Associations.List() {
		if !a.Inbound && a.Group == "fake" && a.Remote == hop.addr {
			outbound++
		}
	}
	if open < 1 || int64(outbound) != open {
		t.Errorf("open connections %d, outbound associations %d", open, outbound)
	}

	down := newEnv(t, testConfig(Route{Name: "down", Match: "*@dest.test", To: "smtp://" + closedAddr(t)}))
	down.spoolMsg(pipeline.Meta{Envelope: pipeline.Envelope{From: testSender, Recipients: rcpts("a@dest.test")}}, testContent("down"))
	deadline := time.Now().Add(10 * time.Second)
	for down.st.RouteConnFails.With("down").Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no connection failure counted")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if why := down.st.RouteLastFailure.With("down").Load(); !strings.Contains(why, "connect") {
		t.Errorf("last failure %q does not say what failed", why)
	}
}
