package antispam

import (
	"bufio"
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-message/textproto"
	"github.com/emersion/go-msgauth/dkim"

	"github.com/gatewatch/gatewatch/internal/eventlog"
	"github.com/gatewatch/gatewatch/internal/peers"
	"github.com/gatewatch/gatewatch/pipeline"
	"github.com/gatewatch/gatewatch/pipeline/resolver"
	"github.com/gatewatch/gatewatch/telemetry"
	"github.com/gatewatch/gatewatch/telemetry/stats"
)

// testZones are the DNS data every test of the stage runs against, served
// by a real unbound: lists, reverse and forward names, SPF, DKIM and DMARC.
func testZones(dkimKey ed25519.PublicKey) []string {
	return []string{
		`local-zone: "zen.example." static`,
		`local-data: "2.0.0.127.zen.example. A 127.0.0.2"`,
		`local-data: "10.2.0.192.zen.example. A 127.0.0.4"`,
		`local-zone: "uribl.example." static`,
		`local-data: "spammy-domain.test.uribl.example. A 127.0.0.2"`,
		`local-zone: "127.in-addr.arpa." static`,
		`local-data-ptr: "127.0.0.2 mail.good.test."`,
		`local-data-ptr: "127.0.0.3 mail.forged.test."`,
		`local-zone: "good.test." static`,
		`local-data: "mail.good.test. A 127.0.0.2"`,
		`local-zone: "forged.test." static`,
		`local-data: "mail.forged.test. A 192.0.2.99"`,
		`local-zone: "spf.test." static`,
		`local-data: 'pass.spf.test. TXT "v=spf1 ip4:127.0.0.0/8 -all"'`,
		`local-data: 'fail.spf.test. TXT "v=spf1 ip4:192.0.2.1 -all"'`,
		`local-data: 'soft.spf.test. TXT "v=spf1 ip4:192.0.2.1 ~all"'`,
		`local-data: 'temp.spf.test. TXT "v=spf1 include:spf.outside-the-zones.net -all"'`,
		`local-zone: "dkim.test." static`,
		`local-data: 'sel1._domainkey.dkim.test. TXT "v=DKIM1; k=ed25519; p=` + base64.StdEncoding.EncodeToString(dkimKey) + `"'`,
		`local-data: '_dmarc.dkim.test. TXT "v=DMARC1; p=reject"'`,
		`local-zone: "dmarc.test." static`,
		`local-data: 'reject.dmarc.test. TXT "v=spf1 ip4:127.0.0.0/8 -all"'`,
		`local-data: '_dmarc.reject.dmarc.test. TXT "v=DMARC1; p=reject"'`,
		`local-data: '_dmarc.quarantine.dmarc.test. TXT "v=DMARC1; p=quarantine"'`,
		`local-data: '_dmarc.none.dmarc.test. TXT "v=DMARC1; p=none"'`,
	}
}

type env struct {
	stage *Stage
	rec   *eventlog.Recorder
	st    *stats.Stats
	dns   *peers.Unbound
	key   ed25519.PrivateKey
	deps  Deps
	cfg   Config
}

func testConfig() Config {
	return Config{Enabled: true, Spam: 6, Probable: 3.5, MaxRcpts: 50, DownAfter: 3, FuzzyThreshold: 0.6,
		DNSLists: []DNSList{
			{Name: "zen", Zone: "zen.example", Kind: "ip", Score: 3, Received: true, Codes: map[string]float64{"127.0.0.4": 2}},
			{Name: "multi", Zone: "uribl.example", Kind: "domain", Score: 4},
		}}
}

func newEnv(t *testing.T) *env {
	t.Helper()
	pub, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	u := peers.StartUnbound(t, testZones(pub)...)
	st := telemetry.NewStats()
	rec := &eventlog.Recorder{Next: telemetry.NewBus(st)}
	res, err := resolver.New(resolver.Config{Servers: []string{u.Addr}, Timeout: 2 * time.Second, Concurrency: 16,
		CacheSize: 1000, MaxTTL: time.Hour, NegativeTTL: time.Minute}, st)
	if err != nil {
		t.Fatal(err)
	}
	d := Deps{Resolver: res, Emit: rec, Stats: st, Hostname: "gw.test.invalid", Protected: []string{"example.test", "*.example.test"}}
	cfg := testConfig()
	s, err := New(cfg, d)
	if err != nil {
		t.Fatal(err)
	}
	return &env{stage: s, rec: rec, st: st, dns: u, key: key, deps: d, cfg: cfg}
}

// received builds a received message: our Received field on top, then raw.
func received(t *testing.T, clientIP, helo, from string, raw string) *pipeline.Message {
	t.Helper()
	content := "Received: from " + helo + " ([" + clientIP + "])\r\n\tby gw.test.invalid (Gatewatch) with ESMTP id X;\r\n\tSun, 22 Nov 2026 10:00:00 +0000\r\n" + raw
	h, err := textproto.ReadHeader(bufio.NewReader(strings.NewReader(content)))
	if err != nil {
		t.Fatal(err)
	}
	return &pipeline.Message{
		Meta: pipeline.Meta{ID: "0000000000TEST01", Kind: pipeline.KindMail, Received: time.Now(),
			Envelope: pipeline.Envelope{From: from, Recipients: []pipeline.Recipient{{Addr: "user@example.test"}}},
			Client:   pipeline.Client{IP: clientIP, Helo: helo}},
		Header:  h,
		Content: bytes.NewReader([]byte(content)),
	}
}

// plain is a well-formed message from from.
func plain(from, subject, body string) string {
	return "From: <" + from + ">\r\nTo: <user@example.test>\r\nSubject: " + subject + "\r\nDate: " +
		time.Now().Format(time.RFC1123Z) + "\r\nMessage-ID: <m" + subject[:min(3, len(subject))] + "@x>\r\n\r\n" + body + "\r\n"
}

// signed signs raw with the test key for d=dkim.test.
func (e *env) signed(t *testing.T, raw string) string {
	t.Helper()
	var out bytes.Buffer
	err := dkim.Sign(&out, strings.NewReader(raw), &dkim.SignOptions{Domain: "dkim.test", Selector: "sel1", Signer: e.key,
		Hash: crypto.SHA256, HeaderKeys: []string{"From", "To", "Subject", "Date", "Message-ID"}})
	if err != nil {
		t.Fatal(err)
	}
	return out.String()
}

func (e *env) scan(t *testing.T, m *pipeline.Message) pipeline.Verdict {
	t.Helper()
	v, err := e.stage.Scan(context.Background(), m)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func hasTest(v pipeline.Verdict, name string) bool {
	for _, part := range strings.Split(v.Detail, ", ") {
		if strings.HasPrefix(part, name+"(") {
			return true
		}
	}
	return false
}

func header(v pipeline.Verdict, name string) string {
	for _, h := range v.Headers {
		if strings.EqualFold(h.Name, name) {
			return h.Value
		}
	}
	return ""
}
