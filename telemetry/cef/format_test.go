package cef

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatewatch/gatewatch/telemetry"
)

func format(f *Formatter, ev telemetry.Event) string { return string(f.Append(nil, &ev)) }

func limits() map[string]int {
	out := map[string]int{}
	for _, k := range Dictionary() {
		out[k.Key] = k.Max
	}
	return out
}

func TestHeader(t *testing.T) {
	f := NewFormatter(Device{Version: "1.2|3\\x", Host: "gw1", ID: "mx.example.test"}, 0)
	for _, typ := range telemetry.Types() {
		p, err := parseCEF(format(f, telemetry.Event{Type: typ, Time: time.Now()}))
		if err != nil {
			t.Fatalf("%s: %v", typ, err)
		}
		spec := typ.Spec()
		want := [7]string{"0", Vendor, Product, "1.2|3\\x", strconv.Itoa(typ.SignatureID()), spec.CEFName, strconv.Itoa(spec.Severity)}
		if p.Header != want {
			t.Errorf("%s: header %q, want %q", typ, p.Header, want)
		}
		cat, _, _ := strings.Cut(spec.Name, ".")
		if p.Ext["cat"] != cat || p.Ext["dvchost"] != "gw1" || p.Ext["deviceExternalId"] != "mx.example.test" {
			t.Errorf("%s: cat/dvchost/deviceExternalId = %q %q %q", typ, p.Ext["cat"], p.Ext["dvchost"], p.Ext["deviceExternalId"])
		}
	}
}

// TestKeysFollowDictionary formats events that between them set every
// field and checks that the keys come out in dictionary order, each custom
// key after its label, and that every dictionary key is used.
func TestKeysFollowDictionary(t *testing.T) {
	f := NewFormatter(Device{Version: "1", Host: "gw", ID: "mx"}, 0)
	var order []string
	for _, k := range Dictionary() {
		if k.Label != "" {
			order = append(order, k.Key+"Label")
		}
		order = append(order, k.Key)
	}
	pos := map[string]int{}
	for i, k := range order {
		pos[k] = i
	}
	used := map[string]bool{}
	for _, addrs := range [][2]string{{"192.0.2.1", "198.51.100.2:25"}, {"2001:db8::1", "[2001:db8::2]:2525"}, {"::ffff:192.0.2.3", "mx.example.net:25"}} {
		ev := hostileEvent(telemetry.MessageCompleted, "v")
		ev.ClientIP, ev.Remote = addrs[0], addrs[1]
		p, err := parseCEF(format(f, ev))
		if err != nil {
			t.Fatal(err)
		}
		last := -1
		for _, k := range p.Keys {
			i, ok := pos[k]
			if !ok {
				t.Errorf("key %s is not in the dictionary", k)
				continue
			}
			if i <= last {
				t.Errorf("key %s out of dictionary order in %v", k, p.Keys)
			}
			last = i
			used[k] = true
		}
	}
	for _, k := range order {
		if !used[k] {
			t.Errorf("dictionary key %s never written", k)
		}
	}
}

func TestAddresses(t *testing.T) {
	f := NewFormatter(Device{}, 0)
	for _, tc := range []struct {
		client, remote string
		want           map[string]string
	}{
		{"192.0.2.1", "198.51.100.2:25", map[string]string{"src": "192.0.2.1", "dst": "198.51.100.2", "dpt": "25"}},
		{"::ffff:192.0.2.3", "mx.example.net:2525", map[string]string{"src": "192.0.2.3", "dhost": "mx.example.net", "dpt": "2525"}},
		{"2001:db8::1", "[2001:db8::2]:25", map[string]string{"c6a2": "2001:db8::1", "c6a2Label": "Source IPv6 Address",
			"c6a3": "2001:db8::2", "c6a3Label": "Destination IPv6 Address", "dpt": "25"}},
		{"not an address", "dir://var/outbox", map[string]string{"dhost": "dir://var/outbox"}},
	} {
		p, err := parseCEF(format(f, telemetry.Event{Type: telemetry.DeliverySent, ClientIP: tc.client, Remote: tc.remote}))
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range tc.want {
			if p.Ext[k] != v {
				t.Errorf("%s / %s: %s = %q, want %q (all: %v)", tc.client, tc.remote, k, p.Ext[k], v, p.Ext)
			}
		}
		for _, k := range []string{"src", "c6a2", "dst", "c6a3", "dhost", "dpt"} {
			if _, ok := tc.want[k]; !ok && p.Ext[k] != "" {
				t.Errorf("%s / %s: unexpected %s=%q", tc.client, tc.remote, k, p.Ext[k])
			}
		}
	}
}

func TestLabelsAndNumbers(t *testing.T) {
	f := NewFormatter(Device{}, 0)
	p, err := parseCEF(format(f, telemetry.Event{Type: telemetry.QueueSizeHigh, Count: 12000, Threshold: 10000}))
	if err != nil {
		t.Fatal(err)
	}
	if p.Ext["cn3Label"] != "QueueSize" || p.Ext["cn3"] != "12000" || p.Ext["flexNumber1Label"] != "Threshold" || p.Ext["flexNumber1"] != "10000" {
		t.Errorf("threshold record: %v", p.Ext)
	}
	p, _ = parseCEF(format(f, telemetry.Event{Type: telemetry.QueueAdmin, Count: 3, Duration: 2500 * time.Microsecond}))
	if p.Ext["cn3Label"] != "Count" || p.Ext["cfp1"] != "2.500" || p.Ext["cfp1Label"] != "DurationMs" {
		t.Errorf("default count label / duration: %v", p.Ext)
	}
	p, _ = parseCEF(format(f, telemetry.Event{Type: telemetry.GatewayStarted, Time: time.UnixMilli(1795000000123)}))
	if p.Ext["rt"] != "1795000000123" {
		t.Errorf("rt = %q", p.Ext["rt"])
	}
}

// TestHostileRoundTrip is the formatter half of the acceptance check (the
// other half runs through a real syslog-ng): every hostile value comes back
// as sent, under its own key, with no extra key.
func TestHostileRoundTrip(t *testing.T) {
	f := NewFormatter(Device{Version: "1", Host: "gw", ID: "mx"}, 0)
	lim := limits()
	pieces := append(hostilePieces, strings.Repeat("long é😀 ", 1500))
	for _, piece := range pieces {
		ev := hostileEvent(telemetry.MessageCompleted, piece)
		line := format(f, ev)
		if strings.ContainsAny(line, "\r\n\x00") {
			t.Fatalf("raw line break or NUL in the record: %q", line)
		}
		p, err := parseCEF(line)
		if err != nil {
			t.Fatalf("piece %q: %v\n%s", piece, err, line)
		}
		want := hostileFields(ev)
		for k, sent := range want {
			if !checkValue(p.Ext[k], sent, lim[k]) {
				t.Errorf("piece %q: %s = %q, want %q (limit %d)", piece, k, p.Ext[k], sent, lim[k])
			}
		}
		for _, k := range p.Keys {
			if strings.Contains(k, "forged") || k == "src" && p.Ext[k] != "192.0.2.7" {
				t.Errorf("forged key %s=%q", k, p.Ext[k])
			}
		}
		if p.Ext["act"] != "accept" || p.Ext["cs1Label"] != "Subject" {
			t.Errorf("piece %q changed fixed fields: act=%q cs1Label=%q", piece, p.Ext["act"], p.Ext["cs1Label"])
		}
	}
}

func TestLimitsInUTF16Units(t *testing.T) {
	f := NewFormatter(Device{}, 0)
	for _, tc := range []struct {
		name, value string
	}{
		{"ascii", strings.Repeat("a", 2000)},
		{"two-unit characters", strings.Repeat("😀", 600)},
		{"mixed at the edge", strings.Repeat("a", 1008) + "😀😀😀😀"},
		{"exactly the limit", strings.Repeat("b", 1023)},
	} {
		p, err := parseCEF(format(f, telemetry.Event{Type: telemetry.MessageRefused, Text: tc.value}))
		if err != nil {
			t.Fatal(err)
		}
		if !checkValue(p.Ext["msg"], tc.value, maxText) {
			t.Errorf("%s: msg of %d units is not the value cut right: %q", tc.name, units(p.Ext["msg"]), p.Ext["msg"])
		}
	}
}

func TestRecordBound(t *testing.T) {
	const bound = 4096
	f := NewFormatter(Device{Version: "1"}, bound)
	ev := hostileEvent(telemetry.MessageCompleted, strings.Repeat("日本語 ", 3000))
	line := format(f, ev)
	if len(line) > bound {
		t.Fatalf("record of %d bytes, bound %d", len(line), bound)
	}
	p, err := parseCEF(line)
	if err != nil {
		t.Fatal(err)
	}
	for k := range hostileFields(ev) {
		if !strings.HasSuffix(p.Ext[k], TruncationMarker) {
			t.Errorf("%s not marked as truncated: %q", k, p.Ext[k])
		}
	}
	if p.Ext["externalId"] != ev.QueueID || p.Ext["fsize"] != "4321" {
		t.Errorf("short fields lost while fitting: %v", p.Ext)
	}
}

func FuzzFormat(f *testing.F) {
	for _, p := range hostilePieces {
		f.Add(p, p, p)
	}
	f.Fuzz(func(t *testing.T, subject, sender, text string) {
		fm := NewFormatter(Device{Version: "1"}, 8192)
		ev := telemetry.Event{Type: telemetry.MessageCompleted, Subject: subject, Sender: sender, Text: text, QueueID: "Q"}
		line := format(fm, ev)
		if len(line) > 8192 {
			t.Fatalf("record over its bound: %d bytes", len(line))
		}
		p, err := parseCEF(line)
		if err != nil {
			t.Fatalf("%v\n%q", err, line)
		}
		for _, k := range p.Keys {
			switch k {
			case "rt", "cat", "externalId", "cs1Label", "cs1", "suser", "msg", "cn3Label":
			default:
				t.Fatalf("unexpected key %s in %q", k, line)
			}
		}
		lim := limits()
		for k, sent := range map[string]string{"cs1": subject, "suser": sender, "msg": text} {
			if sent != "" && !checkShrunk(p.Ext[k], sent, lim[k]) {
				t.Fatalf("%s = %q, sent %q", k, p.Ext[k], sent)
			}
		}
	})
}
