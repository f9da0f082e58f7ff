package resolver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/miekg/dns"

	"github.com/gatewatch/gatewatch/telemetry/stats"
)

// Resolver sends queries to the configured servers.
type Resolver struct {
	cfg     Config
	servers []string
	udp     *dns.Client
	tcp     *dns.Client
	sem     chan struct{}
	cache   *cache
	st      *stats.Stats
	now     func() time.Time
}

// New creates a resolver; st receives the query counts (nil: none).
func New(cfg Config, st *stats.Stats) (*Resolver, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	servers := cfg.Servers
	if len(servers) == 0 {
		cc, err := dns.ClientConfigFromFile("/etc/resolv.conf")
		if err != nil {
			return nil, fmt.Errorf("resolver: no servers configured and /etc/resolv.conf unreadable: %w", err)
		}
		for _, s := range cc.Servers {
			servers = append(servers, net.JoinHostPort(s, cc.Port))
		}
	}
	return &Resolver{cfg: cfg, servers: servers, udp: &dns.Client{Net: "udp", UDPSize: dns.DefaultMsgSize},
		tcp: &dns.Client{Net: "tcp"}, sem: make(chan struct{}, cfg.Concurrency), cache: newCache(cfg.CacheSize),
		st: st, now: time.Now}, nil
}

// Result names how a query ended, as counted.
const (
	ResultAnswer   = "answer"
	ResultNXDomain = "nxdomain"
	ResultNoData   = "nodata"
	ResultServFail = "servfail"
	ResultRefused  = "refused"
	ResultTimeout  = "timeout"
	ResultError    = "error"
)

// Query returns the answer message for name and qtype. A name that does
// not exist or has no such record is not an error: the message says so
// (use Result). Errors are *net.DNSError: timeouts and server failures
// marked temporary.
func (r *Resolver) Query(ctx context.Context, name string, qtype uint16) (*dns.Msg, error) {
	name = dns.Fqdn(strings.ToLower(name))
	key := cacheKey{name, qtype}
	if m, ok := r.cache.get(key, r.now()); ok {
		if r.st != nil {
			r.st.ResolverCacheHits.Inc()
		}
		return m, nil
	}
	select {
	case r.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, &net.DNSError{Err: "query not sent: " + ctx.Err().Error(), Name: name, IsTimeout: true, IsTemporary: true}
	}
	defer func() { <-r.sem }()
	ctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
	defer cancel()

	q := new(dns.Msg)
	q.SetQuestion(name, qtype)
	q.SetEdns0(dns.DefaultMsgSize, false)
	m, err := r.exchange(ctx, q)
	result := classify(m, err, qtype)
	if r.st != nil {
		r.st.ResolverQueries.With(result).Inc()
	}
	switch result {
	case ResultTimeout:
		return nil, &net.DNSError{Err: "timeout", Name: name, IsTimeout: true, IsTemporary: true}
	case ResultError:
		return nil, &net.DNSError{Err: err.Error(), Name: name, IsTemporary: true}
	case ResultServFail, ResultRefused:
		return nil, &net.DNSError{Err: "server answered " + result, Name: name, IsTemporary: true}
	case ResultAnswer:
		r.cache.put(key, m, r.ttlOf(m), r.now())
	default:
		r.cache.put(key, m, r.cfg.NegativeTTL, r.now())
	}
	return m, nil
}

// exchange asks each server in turn until one answers, over TCP when the
// UDP answer was truncated.
func (r *Resolver) exchange(ctx context.Context, q *dns.Msg) (*dns.Msg, error) {
	var last error
	for _, s := range r.servers {
		m, _, err := r.udp.ExchangeContext(ctx, q, s)
		if err == nil && m.Truncated {
			m, _, err = r.tcp.ExchangeContext(ctx, q, s)
		}
		if err == nil {
			return m, nil
		}
		last = err
		if ctx.Err() != nil {
			break
		}
	}
	if last == nil {
		last = errors.New("no servers")
	}
	return nil, last
}

func classify(m *dns.Msg, err error, qtype uint16) string {
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, context.DeadlineExceeded) {
			return ResultTimeout
		}
		return ResultError
	}
	switch m.Rcode {
	case dns.RcodeSuccess:
		for _, rr := range m.Answer {
			if rr.Header().Rrtype == qtype {
				return ResultAnswer
			}
		}
		return ResultNoData
	case dns.RcodeNameError:
		return ResultNXDomain
	case dns.RcodeServerFailure:
		return ResultServFail
	case dns.RcodeRefused:
		return ResultRefused
	}
	return ResultError
}

// Result says how a message answered a query for qtype.
func Result(m *dns.Msg, qtype uint16) string { return classify(m, nil, qtype) }

func (r *Resolver) ttlOf(m *dns.Msg) time.Duration {
	ttl := r.cfg.MaxTTL
	for _, rr := range m.Answer {
		if t := time.Duration(rr.Header().Ttl) * time.Second; t < ttl {
			ttl = t
		}
	}
	return ttl
}
