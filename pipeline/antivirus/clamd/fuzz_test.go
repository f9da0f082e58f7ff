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
