package smtpin

import (
	"bytes"
	"net/netip"
	"testing"
)

func TestContentWriter(t *testing.T) {
	cases := []struct {
		name, in, out string
		nul, eight    bool
		bareLF        int
		header        string
	}{
		{"crlf untouched", "A: b\r\n\r\nbody\r\n", "A: b\r\n\r\nbody\r\n", false, false, 0, "A: b\r\n\r\n"},
		{"bare lf", "A: b\n\nbody\n", "A: b\r\n\r\nbody\r\n", false, false, 3, "A: b\r\n\r\n"},
		{"bare cr kept", "A: b\r\n\r\nx\ry\r\n", "A: b\r\n\r\nx\ry\r\n", false, false, 0, "A: b\r\n\r\n"},
		{"nul and 8bit", "A: \xc3\xa9\r\n\r\n\x00\r\n", "A: \xc3\xa9\r\n\r\n\x00\r\n", true, true, 0, "A: \xc3\xa9\r\n\r\n"},
		{"empty header", "\r\nbody\r\n", "\r\nbody\r\n", false, false, 0, "\r\n"},
		{"header only", "A: b\r\nC: d\r\n", "A: b\r\nC: d\r\n", false, false, 0, "A: b\r\nC: d\r\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// Byte by byte as well as whole: CR and LF may arrive in
			// different writes.
			for _, chunk := range []int{1, len(tc.in)} {
				var out bytes.Buffer
				w := &contentWriter{dst: &out, headerMax: 1024}
				for i := 0; i < len(tc.in); i += chunk {
					if _, err := w.Write([]byte(tc.in[i:min(i+chunk, len(tc.in))])); err != nil {
						t.Fatal(err)
					}
				}
				if out.String() != tc.out || w.nul != tc.nul || w.eightBit != tc.eight || w.bareLF != tc.bareLF || string(w.header) != tc.header {
					t.Errorf("chunk %d: out %q nul %v 8bit %v bareLF %d header %q", chunk, out.String(), w.nul, w.eightBit, w.bareLF, w.header)
				}
			}
		})
	}
	var out bytes.Buffer
	w := &contentWriter{dst: &out, headerMax: 10}
	w.Write([]byte("Subject: a long header line\r\n\r\nbody\r\n"))
	if !w.headerOver {
		t.Error("header over the bound not flagged")
	}
}

func TestCommandSniffer(t *testing.T) {
	var s commandSniffer
	s.feed([]byte("EHLO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<@r1,@r2:u@example.test> NOTIFY=NEVER\r\nRC"))
	s.feed([]byte("PT TO:<plain@example.test>\r\nDATA\r\nRCPT TO:<@in.body:v@example.test>\r\n.\r\n"))
	if !s.usedEHLO() {
		t.Error("EHLO not seen")
	}
	if !s.takeRouted("u@example.test") {
		t.Error("source route not seen")
	}
	if s.takeRouted("u@example.test") {
		t.Error("source route reported twice")
	}
	if s.takeRouted("plain@example.test") || s.takeRouted("v@example.test") {
		t.Error("plain recipient or message content taken for a source route")
	}
	// BDAT chunks are skipped by length.
	var b commandSniffer
	b.feed([]byte("BDAT 40\r\nRCPT TO:<@x:w@example.test>\r\nxxxxxxxxxxx"))
	b.feed([]byte("RCPT TO:<@y:z@example.test>\r\n"))
	if b.takeRouted("w@example.test") || !b.takeRouted("z@example.test") {
		t.Error("BDAT chunk not skipped correctly")
	}
}

func TestDomainSetAndPrefixes(t *testing.T) {
	ds := newDomainSet([]string{"example.test", "*.example.test", "mx?.other.test"})
	for d, want := range map[string]bool{"example.test": true, "EXAMPLE.TEST.": true, "a.b.example.test": true,
		"notexample.test": false, "example.test.evil": false, "mx1.other.test": true, "mx10.other.test": false} {
		if got := ds.matches(d); got != want {
			t.Errorf("matches(%q) = %v", d, got)
		}
	}
	ps, err := parsePrefixes([]string{"10.0.0.0/8", "192.0.2.7", "2001:db8::/32"})
	if err != nil {
		t.Fatal(err)
	}
	for a, want := range map[string]bool{"10.1.2.3": true, "192.0.2.7": true, "192.0.2.8": false, "2001:db8::1": true, "::ffff:10.0.0.1": true} {
		if got := ps.contains(netip.MustParseAddr(a)); got != want {
			t.Errorf("contains(%s) = %v", a, got)
		}
	}
	if _, err := parsePrefixes([]string{"10.0.0/8"}); err == nil {
		t.Error("bad CIDR accepted")
	}
	for local, want := range map[string]bool{"user": false, "user%host": true, "host!user": true, "a@b": true, "first.last": false} {
		if senderRouted(local) != want {
			t.Errorf("senderRouted(%q) != %v", local, want)
		}
	}
}
