package cef

import (
	"bytes"
	"strconv"
	"strings"
	"testing"
	"time"

	syslog "github.com/leodido/go-syslog/v4"
	"github.com/leodido/go-syslog/v4/nontransparent"
	"github.com/leodido/go-syslog/v4/octetcounting"
	"github.com/leodido/go-syslog/v4/rfc5424"

	"github.com/gatewatch/gatewatch/telemetry"
	"github.com/gatewatch/gatewatch/telemetry/cef/journal"
)

// frames renders every catalog event, hostile values included, for one
// framing and returns the stream and the CEF texts in order.
func frames(t *testing.T, framing string) ([]byte, []string) {
	t.Helper()
	f := NewFormatter(Device{Version: "1"}, 8192)
	fr := framer{header: newSyslogHeader(16, "gw host", 4242), format: FormatRFC5424, framing: framing}
	var stream []byte
	var texts []string
	for i, typ := range telemetry.Types() {
		ev := hostileEvent(typ, hostilePieces[i%len(hostilePieces)])
		ev.Time = time.Date(2026, 11, 22, 10, 11, 12, 123456789, time.UTC)
		text := f.Append(nil, &ev)
		rec := appendStored(nil, ev.Time, typ.Spec().Severity, typ.Spec().Name, text)
		var err error
		if stream, err = fr.append(stream, journal.Record{Seq: uint64(i + 1), Data: rec}); err != nil {
			t.Fatal(err)
		}
		texts = append(texts, string(text))
	}
	return stream, texts
}

// TestFramingParsesWithGoSyslog hands our TCP streams to go-syslog's RFC
// 6587 parsers (octet counting and non-transparent) with its strict RFC
// 5424 machine: every record comes out whole, in order, with our header.
func TestFramingParsesWithGoSyslog(t *testing.T) {
	for _, tc := range []struct {
		framing string
		parser  func(...syslog.ParserOption) syslog.Parser
	}{
		{FramingOctet, octetcounting.NewParser},
		{FramingNewline, nontransparent.NewParser},
	} {
		t.Run(tc.framing, func(t *testing.T) {
			stream, texts := frames(t, tc.framing)
			var got []*rfc5424.SyslogMessage
			tc.parser(syslog.WithListener(func(r *syslog.Result) {
				if r.Error != nil {
					t.Errorf("record %d: %v", len(got)+1, r.Error)
					return
				}
				got = append(got, r.Message.(*rfc5424.SyslogMessage))
			})).Parse(bytes.NewReader(stream))
			if len(got) != len(texts) {
				t.Fatalf("%d records parsed, %d sent", len(got), len(texts))
			}
			types := telemetry.Types()
			for i, m := range got {
				spec := types[i].Spec()
				if *m.Message != texts[i] || *m.Appname != "gatewatch" || *m.ProcID != "4242" || *m.MsgID != spec.Name ||
					*m.Hostname != "gw_host" || *m.Facility != 16 || m.Timestamp.Nanosecond() != 123456000 {
					t.Errorf("record %d (%s): %+v", i, spec.Name, m)
				}
				if sd := (*m.StructuredData)["meta"]; sd["sequenceId"] != strconv.Itoa(i+1) {
					t.Errorf("record %d: structured data %v", i, *m.StructuredData)
				}
				if want := uint8(syslogSeverity(spec.Severity)); *m.Severity != want {
					t.Errorf("%s: syslog severity %d, want %d", spec.Name, *m.Severity, want)
				}
			}
		})
	}
}

func TestSyslogSeverityBands(t *testing.T) {
	want := map[int]int{0: 6, 1: 6, 2: 6, 3: 5, 4: 5, 5: 4, 6: 4, 7: 3, 8: 3, 9: 2, 10: 2}
	for cefSev, sys := range want {
		if got := syslogSeverity(cefSev); got != sys {
			t.Errorf("CEF severity %d -> syslog %d, want %d", cefSev, got, sys)
		}
	}
}

func TestSequenceIDWraps(t *testing.T) {
	h := newSyslogHeader(1, "h", 1)
	for seq, want := range map[uint64]string{1: `sequenceId="1"`, maxSequenceID: `sequenceId="2147483647"`, maxSequenceID + 1: `sequenceId="1"`} {
		if got := string(h.append5424(nil, time.Now(), 3, "x", seq)); !strings.Contains(got, want) {
			t.Errorf("seq %d: %q, want %s", seq, got, want)
		}
	}
	if got := string(h.append5424(nil, time.Now(), 3, "x", 0)); !strings.HasSuffix(got, " x - ") {
		t.Errorf("no sequence number: %q", got)
	}
}

func TestRFC3164ControlCharacters(t *testing.T) {
	fr := framer{header: newSyslogHeader(1, "h", 1), format: FormatRFC3164, framing: FramingNewline}
	rec := appendStored(nil, time.Now(), 3, "x", []byte("CEF:0|a\x01b\tc\x7fd"))
	out, err := fr.append(nil, journal.Record{Seq: 1, Data: rec})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(string(out), ": CEF:0|a\uFFFDb\tc\uFFFDd\n") {
		t.Errorf("BSD record %q", out)
	}
}

func FuzzDecodeStored(f *testing.F) {
	f.Add(appendStored(nil, time.Unix(1, 2), 5, "message.completed", []byte("CEF:0|x")))
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := decodeStored(b)
		if err != nil {
			return
		}
		again := appendStored(nil, st.time, st.severity, st.msgID, st.cef)
		if !bytes.Equal(again, b) {
			t.Fatalf("decode/encode changed the record: %x -> %x", b, again)
		}
	})
}
