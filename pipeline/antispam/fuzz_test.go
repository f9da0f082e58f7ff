package antispam

import (
	"bufio"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-message/textproto"

	"github.com/gatewatch/gatewatch/pipeline"
)

// FuzzHeaderChecks runs the header parser and every formal check on
// arbitrary header text: none may panic, and what they report must be
// printable on one line.
func FuzzHeaderChecks(f *testing.F) {
	f.Add("From: \"A\" <a@example.test>\r\nDate: Sun, 22 Nov 2026 10:00:00 +0000\r\nSubject: =?utf-8?b?aGVsbG8=?=\r\n\r\n")
	f.Add("From: a@exаmple.test\r\nFrom: b@x\r\nAuto-Submitted: auto-replied\r\nReceived: from x ([192.0.2.1])\r\nReceived: from y ([IPv6:2001:db8::1])\r\n\r\n")
	f.Add("Subject: pаypal verify\r\nDate: not a date\r\nContent-Type: multipart/report; report-type=delivery-status\r\n\r\n")
	c := &compiled{cfg: Config{Spam: 6, Probable: 3.5, MaxRcpts: 2}, scores: map[string]float64{}, protected: []string{"example.test"},
		protectedSkeletons: map[string]string{"example.test": skeleton("example.test")}}
	s := &Stage{}
	f.Fuzz(func(t *testing.T, raw string) {
		h, err := textproto.ReadHeader(bufio.NewReader(strings.NewReader(raw)))
		if err != nil {
			return
		}
		hf := readHeader(h)
		fd := &findings{}
		m := &pipeline.Message{Meta: pipeline.Meta{Envelope: pipeline.Envelope{From: "x@y.test"}}, Header: h}
		s.formalChecks(c, m, hf, bodyFacts{}, fd, time.Now())
		_, hits := fd.total()
		for _, hit := range hits {
			if strings.ContainsAny(hit.detail, "\r\n") {
				t.Fatalf("%s detail spans lines: %q", hit.name, hit.detail)
			}
		}
		if strings.ContainsAny(testsHeader(hits), "\r\n") {
			t.Fatal("tests list spans lines before folding")
		}
	})
}
