package resolver

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/gatewatch/gatewatch/internal/peers"
	"github.com/gatewatch/gatewatch/telemetry"
)

func testConfig(servers ...string) Config {
	return Config{Servers: servers, Timeout: 2 * time.Second, Concurrency: 4, CacheSize: 100, MaxTTL: time.Hour, NegativeTTL: time.Minute}
}

// TestAgainstUnbound asks a real unbound for each record type the checks
// use, and checks the cache and the counts.
func TestAgainstUnbound(t *testing.T) {
	u := peers.StartUnbound(t,
		`local-zone: "example.org." static`,
		`local-data: "example.org. 300 IN MX 10 mail.example.org."`,
		`local-data: "mail.example.org. 300 IN A 192.0.2.25"`,
		`local-data: "mail.example.org. 300 IN AAAA 2001:db8::25"`,
		`local-data: 'example.org. 300 IN TXT "v=spf1 ip4:192.0.2.0/24" " -all"'`,
		`local-zone: "2.0.192.in-addr.arpa." static`,
		`local-data-ptr: "192.0.2.25 mail.example.org."`,
	)
	st := telemetry.NewStats()
	r, err := New(testConfig(u.Addr), st)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	txt, err := r.LookupTXT(ctx, "Example.ORG")
	if err != nil || len(txt) != 1 || txt[0] != "v=spf1 ip4:192.0.2.0/24 -all" {
		t.Errorf("TXT: %q %v", txt, err)
	}
	mx, err := r.LookupMX(ctx, "example.org")
	if err != nil || len(mx) != 1 || mx[0].Host != "mail.example.org." || mx[0].Pref != 10 {
		t.Errorf("MX: %v %v", mx, err)
	}
	ips, err := r.LookupIPAddr(ctx, "mail.example.org")
	if err != nil || len(ips) != 2 {
		t.Errorf("A+AAAA: %v %v", ips, err)
	}
	names, err := r.LookupAddr(ctx, "192.0.2.25")
	if err != nil || len(names) != 1 || names[0] != "mail.example.org." {
		t.Errorf("PTR: %v %v", names, err)
	}
	_, err = r.LookupA(ctx, "nothere.example.org")
	var de *net.DNSError
	if !errors.As(err, &de) || !de.IsNotFound {
		t.Errorf("missing name: %v, want a not-found DNSError", err)
	}
	m, err := r.Query(ctx, "nothere.example.org", dns.TypeA)
	if err != nil || Result(m, dns.TypeA) != ResultNXDomain {
		t.Errorf("Query of a missing name: %v %v", m, err)
	}
	// A name outside the zones: unbound refuses, a temporary error.
	if _, err := r.LookupA(ctx, "www.google.com"); !errors.As(err, &de) || !de.IsTemporary {
		t.Errorf("outside the zones: %v, want a temporary DNSError", err)
	}
	sent := st.ResolverQueries.With(ResultAnswer).Load()
	if _, err := r.LookupTXT(ctx, "example.org"); err != nil {
		t.Fatal(err)
	}
	if st.ResolverQueries.With(ResultAnswer).Load() != sent || st.ResolverCacheHits.Load() != 2 {
		t.Errorf("a repeated query went out (answers %d -> %d, cache hits %d); want it served from the cache",
			sent, st.ResolverQueries.With(ResultAnswer).Load(), st.ResolverCacheHits.Load())
	}
	if got := st.ResolverQueries.With(ResultRefused).Load(); got != 1 {
		t.Errorf("refused count %d, want 1", got)
	}
}

// TestTimeout: a server that never answers costs the configured timeout
// and gives a temporary timeout error, counted.
func TestTimeout(t *testing.T) {
	silent, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	cfg := testConfig(silent.LocalAddr().String())
	cfg.Timeout = 300 * time.Millisecond
	st := telemetry.NewStats()
	r, err := New(cfg, st)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = r.LookupA(context.Background(), "2.0.0.127.zen.example")
	took := time.Since(start)
	var de *net.DNSError
	if !errors.As(err, &de) || !de.IsTimeout {
		t.Fatalf("err %v, want a timeout", err)
	}
	if took < 250*time.Millisecond || took > 3*time.Second {
		t.Errorf("took %v for a %v timeout", took, cfg.Timeout)
	}
	if st.ResolverQueries.With(ResultTimeout).Load() != 1 {
		t.Error("timeout not counted")
	}
}

func TestConfigErrors(t *testing.T) {
	err := Config{Servers: []string{"127.0.0.1"}, Timeout: 0, Concurrency: 0}.Validate()
	for _, want := range []string{"resolver.servers[0]", "resolver.timeout", "resolver.concurrency"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v lacks %s", err, want)
		}
	}
}
