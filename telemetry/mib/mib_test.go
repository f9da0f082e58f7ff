package mib

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatewatch/gatewatch/telemetry"
)

func busy() *View {
	st := telemetry.NewStats("log")
	bus := telemetry.NewBus(st)
	bus.Emit(telemetry.Event{Type: telemetry.SessionOpened, SessionID: "s1", ClientIP: "192.0.2.7"})
	bus.Emit(telemetry.Event{Type: telemetry.MessageAccepted, Size: 4096, Recipients: 2})
	bus.Emit(telemetry.Event{Type: telemetry.DeliverySent, Route: "smarthost", Size: 5000, Recipients: 2})
	st.Associations.Open("out1", "smarthost", "198.51.100.1:25", false)
	st.SetInfo("1.0-test", "mx.example")
	return NewView(st, NewGroups())
}

func TestViewIsSortedAndUnique(t *testing.T) {
	v := busy()
	vbs := v.Varbinds()
	if len(vbs) < 100 {
		t.Fatalf("only %d values", len(vbs))
	}
	for i := 1; i < len(vbs); i++ {
		if Compare(vbs[i-1].OID, vbs[i].OID) >= 0 {
			t.Fatalf("values out of order or repeated at %s, %s", vbs[i-1].OID, vbs[i].OID)
		}
	}
}

func TestViewGetNext(t *testing.T) {
	v := busy()
	recv := OID{1, 3, 6, 1, 4, 1, 32473, 2, 1, 0}
	vb, ok := v.Get(recv)
	if !ok || vb.Value.Syntax != Counter64 || vb.Value.Uint != 1 {
		t.Fatalf("gwReceivedMessages.0 = %+v, %v", vb, ok)
	}
	if _, ok := v.Get(OID{1, 3, 6, 1, 4, 1, 32473, 2, 1}); ok {
		t.Error("Get of an object without its instance must fail")
	}
	next, ok := v.Next(OID{1, 3, 6, 1, 4, 1, 32473, 2, 1}, false, nil)
	if !ok || Compare(next.OID, recv) != 0 {
		t.Errorf("Next(gwReceivedMessages) = %s", next.OID)
	}
	same, ok := v.Next(recv, true, nil)
	if !ok || Compare(same.OID, recv) != 0 {
		t.Errorf("Next including = %s", same.OID)
	}
	after, ok := v.Next(recv, false, nil)
	if !ok || Compare(after.OID, recv) <= 0 {
		t.Errorf("Next excluding = %s", after.OID)
	}
	if _, ok := v.Next(recv, false, OID{1, 3, 6, 1, 4, 1, 32473, 2, 1, 1}); ok {
		t.Error("Next ignored the end of the search range")
	}
	// The route table row: IMPLIED index = the name's bytes.
	idx, _ := rowIndex("smarthost")
	row := entryOID(tables()[0]).Append(30).Append(idx...)
	if vb, ok := v.Get(row); !ok || vb.Value.Uint != 1 {
		t.Errorf("gwRouteDeliveredMessages.smarthost = %+v %v", vb, ok)
	}
	// MTA-MIB: mtaReceivedMessages.1 and the route group's transmitted count.
	if vb, ok := v.Get(OID{1, 3, 6, 1, 2, 1, 28, 1, 1, 1, 1}); !ok || vb.Value.Syntax != Counter32 || vb.Value.Uint != 1 {
		t.Errorf("mtaReceivedMessages.1 = %+v %v", vb, ok)
	}
	if vb, ok := v.Get(OID{1, 3, 6, 1, 2, 1, 28, 2, 1, 5, 1, 2}); !ok || vb.Value.Uint != 1 {
		t.Errorf("mtaGroupTransmittedMessages.1.2 = %+v %v", vb, ok)
	}
	if vb, ok := v.Get(OID{1, 3, 6, 1, 2, 1, 28, 2, 1, 25, 1, 2}); !ok || vb.Value.Str != "smarthost" {
		t.Errorf("mtaGroupName.1.2 = %+v %v", vb, ok)
	}
	// Two open associations: the inbound session and the outbound one.
	n := 0
	for _, vb := range v.Varbinds() {
		if vb.OID.HasPrefix(OID{1, 3, 6, 1, 2, 1, 28, 3}) {
			n++
		}
	}
	if n != 2 {
		t.Errorf("%d group associations, want 2", n)
	}
}

// Every OBJECT-TYPE the module defines as readable is served, and every
// served enterprise value is an object the module defines.
func TestModuleAndViewAgree(t *testing.T) {
	var b bytes.Buffer
	if err := WriteSMI(&b, telemetry.NewStats().Descs()); err != nil {
		t.Fatal(err)
	}
	text := b.String()
	defs := regexp.MustCompile(`(?m)^(gw\w+) OBJECT-TYPE\n(?:.*\n)*?    MAX-ACCESS  (\S+)`).FindAllStringSubmatch(text, -1)
	if len(defs) < 60 {
		t.Fatalf("only %d objects in the module", len(defs))
	}
	names := map[string]bool{}
	for _, d := range defs {
		if names[d[1]] {
			t.Errorf("%s defined twice", d[1])
		}
		names[d[1]] = true
	}
	for _, want := range []string{"gwReceivedMessages", "gwIncomingConnections", "gwIncomingConnectionsTotal", "gwRouteDeliveredMessages",
		"gwDeliveryDurationCount", "gwDeliveryDurationTotal", "gwRefused", "gwQueueMessages", "gwTrapText"} {
		if !names[want] {
			t.Errorf("module lacks %s", want)
		}
	}
	for _, ty := range telemetry.Types() {
		if ty.Spec().Trap && !strings.Contains(text, NotificationName(ty)+" NOTIFICATION-TYPE") {
			t.Errorf("no notification for %s", ty)
		}
	}
}

func TestNotificationVarbinds(t *testing.T) {
	ev := telemetry.Event{Type: telemetry.QueueSizeHigh, Count: 5000, Threshold: 1000, Text: "queue is long"}
	oid, vbs := Notification(ev, "mx.example", 3)
	if Compare(oid, OID{1, 3, 6, 1, 4, 1, 32473, 0, uint32(telemetry.QueueSizeHigh)}) != 0 {
		t.Errorf("OID %s", oid)
	}
	got := map[string]string{}
	for _, vb := range vbs {
		got[vb.OID.String()] = vb.Value.String()
	}
	for oid, want := range map[string]string{
		"1.3.6.1.4.1.32473.1.2.0":  `"mx.example"`,
		"1.3.6.1.4.1.32473.5.10.0": `"queue.size_high"`,
		"1.3.6.1.4.1.32473.5.3.0":  "3",
		"1.3.6.1.4.1.32473.5.7.0":  "5000",
		"1.3.6.1.4.1.32473.5.8.0":  "1000",
		"1.3.6.1.4.1.32473.5.2.0":  `"queue is long"`,
	} {
		if got[oid] != want {
			t.Errorf("%s = %s, want %s", oid, got[oid], want)
		}
	}
}

func TestDateAndTime(t *testing.T) {
	d := dateAndTime(timeOf(2026, 11, 22, 15, 4, 5))
	if len(d) != 11 || d[0] != 0x07 || d[1] != 0xea || d[2] != 11 || d[3] != 22 || d[4] != 15 || d[8] != '+' {
		t.Errorf("DateAndTime = % x", d)
	}
}

func timeOf(y, mo, d, h, mi, s int) time.Time {
	return time.Date(y, time.Month(mo), d, h, mi, s, 0, time.UTC)
}
