package traps

import (
	"testing"
	"time"

	"github.com/gatewatch/gatewatch/telemetry"
)

func TestGuardTokenBucket(t *testing.T) {
	c := newFakeClock()
	g := newGuard(3, time.Minute)
	admit := func(ty telemetry.Type) (bool, uint64) { return g.admit(ty, c.now()) }

	for i := range 3 {
		if ok, sup := admit(telemetry.RouteUnreachable); !ok || sup != 0 {
			t.Fatalf("burst #%d: admitted %v, suppressed %d", i, ok, sup)
		}
	}
	for range 5 {
		if ok, _ := admit(telemetry.RouteUnreachable); ok {
			t.Fatal("admitted beyond the burst")
		}
	}
	// Per type: another type has its own bucket.
	if ok, _ := admit(telemetry.SpoolCorrupt); !ok {
		t.Error("one type's storm held back another type")
	}
	// A third of the interval refills one token of three.
	c.add(time.Minute/3 - time.Second)
	if ok, _ := admit(telemetry.RouteUnreachable); ok {
		t.Error("admitted before a token was refilled")
	}
	c.add(time.Second)
	if ok, sup := admit(telemetry.RouteUnreachable); !ok || sup != 6 {
		t.Errorf("after refill: admitted %v, suppressed %d; want true, 6", ok, sup)
	}
	if ok, _ := admit(telemetry.RouteUnreachable); ok {
		t.Error("one refilled token admitted two")
	}
	// The count restarts after it has been reported, and a long quiet
	// spell refills no more than the burst.
	c.add(time.Hour)
	for i, want := range []uint64{1, 0, 0} {
		if ok, sup := admit(telemetry.RouteUnreachable); !ok || sup != want {
			t.Errorf("after an hour, #%d: admitted %v, suppressed %d", i, ok, sup)
		}
	}
	if ok, _ := admit(telemetry.RouteUnreachable); ok {
		t.Error("the bucket held more than the burst")
	}
	// A clock going backwards takes nothing away.
	c.add(-time.Hour)
	if ok, _ := admit(telemetry.RouteUnreachable); ok {
		t.Error("a clock step back refilled tokens")
	}
}
