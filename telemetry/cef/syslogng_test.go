package cef

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/leodido/go-syslog/v4/rfc3164"
	"github.com/leodido/go-syslog/v4/rfc5424"

	"github.com/gatewatch/gatewatch/internal/peers"
	"github.com/gatewatch/gatewatch/telemetry"
)

// TestCatalogReachesSyslogNG walks the catalog: one record per event type,
// each with hostile values in every field an attacker reaches, over each
// transport and format, into a real syslog-ng. Every record arrives once,
// every field reads back as sent (after unescaping per the CEF spec), and
// the RFC 5424 / 3164 framing passes an independent parser.
func TestCatalogReachesSyslogNG(t *testing.T) {
	pki := peers.WritePKI(t, t.TempDir())
	sng := peers.StartSyslogNG(t, peers.SyslogNGOptions{TLS: &peers.SyslogNGTLS{Cert: pki.ServerCert, Key: pki.ServerKey, CA: pki.CA}})
	clientTLS := TargetTLS{CA: pki.CA, Cert: pki.ClientCert, Key: pki.ClientKey, ServerName: "localhost"}
	cases := []struct {
		name   string
		target Target
		source string
	}{
		{"udp rfc5424", Target{Address: "udp://" + sng.RFC5424}, "s_5424"},
		{"tcp rfc5424 octet-counting", Target{Address: "tcp://" + sng.RFC5424}, "s_5424"},
		{"tls rfc5424 client certificate", Target{Address: "tls://" + sng.TLS, TLS: clientTLS}, "s_tls"},
		{"tcp rfc3164 newline", Target{Address: "tcp://" + sng.BSD, Format: FormatRFC3164}, "s_bsd"},
		{"udp rfc3164", Target{Address: "udp://" + sng.BSD, Format: FormatRFC3164}, "s_bsd"},
	}
	pieces := append(append([]string{}, hostilePieces...), strings.Repeat("long é😀 ", 1500))
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(t)
			cfg.Hostname = fmt.Sprintf("gw-case%d", i)
			cfg.Targets = []Target{tc.target}
			r := startChannel(t, cfg)
			sent := map[string]telemetry.Event{}
			for _, typ := range telemetry.Types() {
				ev := hostileEvent(typ, pieces[int(typ)%len(pieces)])
				ev.QueueID = fmt.Sprintf("C%dT%d", i, typ)
				ev.Time = time.Now()
				sent[ev.QueueID] = ev
				r.bus.Emit(ev)
			}
			var got []peers.CEFRecord
			poll(t, 30*time.Second, fmt.Sprintf("%d records from %s", len(sent), cfg.Hostname), func() bool {
				got = got[:0]
				for _, rec := range sng.Records(t) {
					if rec.Host == cfg.Hostname {
						got = append(got, rec)
					}
				}
				n := 0
				for _, rec := range got {
					if _, ok := sent[rec.Ext["externalId"]]; ok {
						n++
					}
				}
				return n >= len(sent)
			})
			checkRecords(t, r, tc.target, tc.source, sent, got)
		})
	}
}

func checkRecords(t *testing.T, r *running, target Target, source string, sent map[string]telemetry.Event, got []peers.CEFRecord) {
	t.Helper()
	lim := limits()
	seen := map[string]int{}
	var seqs []int
	for _, rec := range got {
		if rec.Source != source {
			t.Errorf("record from source %s, want %s", rec.Source, source)
		}
		if target.format() == FormatRFC5424 {
			seq, err := strconv.Atoi(rec.Seq)
			if err != nil {
				t.Errorf("RFC 5424 record without a sequenceId: %q", rec.RawMsg)
			}
			seqs = append(seqs, seq)
			checkRFC5424(t, rec)
		} else {
			checkRFC3164(t, rec)
		}
		ev, ok := sent[rec.Ext["externalId"]]
		if !ok {
			continue // the channel's own events (connected) share the stream
		}
		seen[ev.QueueID]++
		spec := ev.Type.Spec()
		hdr := rec.Header
		for i := range hdr {
			hdr[i] = unescapeHeader(hdr[i])
		}
		want := [7]string{"0", Vendor, Product, "test", strconv.Itoa(ev.Type.SignatureID()), spec.CEFName, strconv.Itoa(spec.Severity)}
		if hdr != want {
			t.Errorf("%s: header %q, want %q", spec.Name, hdr, want)
		}
		if rec.MsgID != spec.Name && target.format() == FormatRFC5424 {
			t.Errorf("%s: MSGID %q", spec.Name, rec.MsgID)
		}
		// The receiver's fields, unescaped, are exactly the record's
		// fields as a strict parser reads them from what we formatted...
		local, err := parseCEF(string(r.ch.format.Append(nil, &ev)))
		if err != nil {
			t.Fatalf("%s: own record: %v", spec.Name, err)
		}
		if len(rec.Ext) != len(local.Ext) {
			t.Errorf("%s: syslog-ng parsed %d fields, the record has %d: %v", spec.Name, len(rec.Ext), len(local.Ext), keysOf(rec.Ext))
		}
		for k, v := range local.Ext {
			if target.format() == FormatRFC3164 {
				// BSD syslog carries no control characters; CR and LF
				// travel escaped and are not affected.
				v = strings.Map(func(r rune) rune {
					if r < 0x20 && r != '\t' && r != '\r' && r != '\n' || r == 0x7f {
						return '\uFFFD'
					}
					return r
				}, v)
			}
			gotV, err := unescapeValue(rec.Ext[k])
			if err != nil || gotV != v {
				t.Errorf("%s: %s = %q (%v) at the receiver, want %q", spec.Name, k, rec.Ext[k], err, v)
			}
		}
		// ... and those are what the event said, cut only with the marker.
		for k, v := range hostileFields(ev) {
			if !checkShrunk(local.Ext[k], v, lim[k]) {
				t.Errorf("%s: %s = %q, sent %q", spec.Name, k, local.Ext[k], v)
			}
		}
		// The whole CEF text as received also reads back strictly.
		if p, err := parseCEF(rec.Message); err != nil || len(p.Ext) != len(local.Ext) {
			t.Errorf("%s: received text does not parse as the record: %v", spec.Name, err)
		}
	}
	for id, ev := range sent {
		if seen[id] != 1 {
			t.Errorf("%s arrived %d times, want once", ev.Type.Spec().Name, seen[id])
		}
	}
	if target.Transport() != "udp" && len(seqs) > 0 && !sort.IntsAreSorted(seqs) {
		t.Errorf("sequence IDs out of order: %v", seqs)
	}
	for i := 1; i < len(seqs) && target.Transport() != "udp"; i++ {
		if seqs[i] != seqs[i-1]+1 {
			t.Errorf("sequence IDs not consecutive at %d: %d then %d", i, seqs[i-1], seqs[i])
			break
		}
	}
}

func keysOf(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// checkRFC5424 validates the message syslog-ng received with go-syslog's
// strict RFC 5424 parser.
func checkRFC5424(t *testing.T, rec peers.CEFRecord) {
	t.Helper()
	m, err := rfc5424.NewParser().Parse([]byte(rec.RawMsg))
	if err != nil || m == nil {
		t.Errorf("RFC 5424 parser: %v in %q", err, rec.RawMsg)
		return
	}
	sm := m.(*rfc5424.SyslogMessage)
	if sm.Appname == nil || *sm.Appname != "gatewatch" || sm.Hostname == nil || *sm.Hostname != rec.Host ||
		sm.Message == nil || *sm.Message != rec.Message || sm.StructuredData == nil {
		t.Errorf("RFC 5424 fields of %q: %+v", rec.RawMsg, sm)
		return
	}
	if sd := (*sm.StructuredData)["meta"]; sd["sequenceId"] != rec.Seq {
		t.Errorf("structured data %v, want meta sequenceId %s", *sm.StructuredData, rec.Seq)
	}
	if sm.Facility == nil || *sm.Facility != 16 {
		t.Errorf("facility %v, want local0 (16)", sm.Facility)
	}
}

func checkRFC3164(t *testing.T, rec peers.CEFRecord) {
	t.Helper()
	m, err := rfc3164.NewParser(rfc3164.WithYear(rfc3164.CurrentYear{})).Parse([]byte(rec.RawMsg))
	if err != nil || m == nil {
		t.Errorf("RFC 3164 parser: %v in %q", err, rec.RawMsg)
		return
	}
	sm := m.(*rfc3164.SyslogMessage)
	if sm.Appname == nil || *sm.Appname != "gatewatch" || sm.Message == nil || *sm.Message != rec.Message {
		t.Errorf("RFC 3164 fields of %q: %+v", rec.RawMsg, sm)
	}
}
