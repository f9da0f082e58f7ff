package peers

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"testing"
	"time"
)

// Every listener takes a CEF message in its framing and the parser splits
// it; the values stay escaped.
func TestSyslogNGReceivesCEF(t *testing.T) {
	t.Parallel()
	pki := WritePKI(t, t.TempDir())
	s := StartSyslogNG(t, SyslogNGOptions{TLS: &SyslogNGTLS{Cert: pki.ServerCert, Key: pki.ServerKey}})
	msg := func(n int) string {
		return fmt.Sprintf(`CEF:0|Gatewatch|Gatewatch Mail Gateway|test|100%d|name \| with pipe|5|msg=value \= escaped n=%d`, n, n)
	}
	send := func(network, addr, frame string) {
		c, err := net.Dial(network, addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := c.Write([]byte(frame)); err != nil {
			t.Fatal(err)
		}
	}
	send("tcp", s.BSD, "<134>Nov 22 14:30:00 gw1 gatewatch: "+msg(1)+"\n")
	send("udp", s.BSD, "<134>Nov 22 14:30:00 gw1 gatewatch: "+msg(2))
	m5424 := "<134>1 2026-11-22T14:30:00.123456Z gw1 gatewatch 42 message.accepted [meta sequenceId=\"17\"] " + msg(3)
	send("tcp", s.RFC5424, fmt.Sprintf("%d %s", len(m5424), m5424))
	send("udp", s.RFC5424, "<134>1 2026-11-22T14:30:00Z gw1 gatewatch 42 x - "+msg(4))
	pool := x509.NewCertPool()
	caPEM, err := os.ReadFile(pki.CA)
	if err != nil || !pool.AppendCertsFromPEM(caPEM) {
		t.Fatalf("CA: %v", err)
	}
	tc, err := tls.Dial("tcp", s.TLS, &tls.Config{RootCAs: pool, ServerName: "localhost"})
	if err != nil {
		t.Fatal(err)
	}
	m := "<134>1 2026-11-22T14:30:00Z gw1 gatewatch 42 y - " + msg(5)
	fmt.Fprintf(tc, "%d %s", len(m), m)
	tc.Close()

	recs := s.WaitRecords(t, 5, 20*time.Second)
	seen := map[string]CEFRecord{}
	for _, r := range recs {
		seen[r.Ext["n"]] = r
	}
	for n := 1; n <= 5; n++ {
		r, ok := seen[fmt.Sprint(n)]
		if !ok {
			t.Errorf("message %d missing from %v", n, recs)
			continue
		}
		if r.Header[5] != `name \| with pipe` || r.Ext["msg"] != `value \= escaped` || r.Header[4] != fmt.Sprintf("100%d", n) {
			t.Errorf("message %d parsed as %+v", n, r)
		}
	}
	if r := seen["3"]; r.MsgID != "message.accepted" || r.Program != "gatewatch" || r.Source != "s_5424" || r.Seq != "17" || r.RawMsg != m5424 {
		t.Errorf("RFC 5424 header fields: %+v", r)
	}
	if r := seen["5"]; r.Source != "s_tls" {
		t.Errorf("TLS message from source %q", r.Source)
	}
}
