package clamd

import (
	"strings"
	"testing"
)

// FuzzParseReply checks the property the gateway relies on: a reply is
// clean only when it is exactly "stream: OK", and an infected verdict always
// names a threat taken from the reply.
func FuzzParseReply(f *testing.F) {
	for _, s := range []string{
		"stream: OK",
		"stream: Test.MailGW.EICAR-Body.UNOFFICIAL FOUND",
		"INSTREAM size limit exceeded. ERROR",
		"stream: OK FOUND",
		"stream:  FOUND",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		res, err := parseReply(line)
		if err != nil {
			if res != (Result{}) {
				t.Fatalf("parseReply(%q) returned %+v with error %v", line, res, err)
			}
			return
		}
		if strings.HasSuffix(line, " ERROR") {
			t.Fatalf("parseReply(%q) accepted an ERROR reply as %+v", line, res)
		}
		if !res.Infected {
			if line != "stream: OK" || res.Threat != "" {
				t.Fatalf("parseReply(%q) = clean %+v", line, res)
			}
			return
		}
		if res.Threat == "" || !strings.Contains(line, res.Threat) || !strings.HasSuffix(line, " FOUND") {
			t.Fatalf("parseReply(%q) = %+v, threat not from a FOUND reply", line, res)
		}
	})
}

// FuzzParseVersion: a VERSION reply either parses into an engine name and
// a database version that are not negative, or fails; it never panics.
func FuzzParseVersion(f *testing.F) {
	for _, s := range []string{
		"ClamAV 1.4.6/27462/Mon Nov 17 09:28:03 2026",
		"ClamAV 1.0.7",
		"ClamAV 1.0.7/-1/x",
		"ClamAV /1/",
		"clamav 1",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		v, err := parseVersion(line)
		if err != nil {
			return
		}
		if v.Engine == "" || v.Signatures < 0 || !strings.HasPrefix(line, "ClamAV ") {
			t.Fatalf("parseVersion(%q) accepted %+v", line, v)
		}
	})
}
