package delivery

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/gatewatch/gatewatch/telemetry/stats"
)

// resolver turns next-hop host names into addresses, with a short cache,
// and counts the look-ups (the replaced product's mta_dns_* figures).
type resolver struct {
	st  *stats.Stats
	net *net.Resolver
	ttl time.Duration

	mu    sync.Mutex
	cache map[string]resolved
}

type resolved struct {
	addrs   []string
	expires time.Time
}

func newResolver(st *stats.Stats) *resolver {
	return &resolver{st: st, net: net.DefaultResolver, ttl: time.Minute, cache: map[string]resolved{}}
}

// addrs returns host:port candidates for a next hop given as host:port.
func (r *resolver) addrs(ctx context.Context, hostport string) ([]string, error) {
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		return nil, fmt.Errorf("next hop %q: %w", hostport, err)
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return []string{hostport}, nil
	}
	r.st.DNSQueries.Inc()
	now := time.Now()
	r.mu.Lock()
	c, ok := r.cache[host]
	r.mu.Unlock()
	if ok && now.Before(c.expires) {
		r.st.DNSQueriesThroughCache.Inc()
		return c.addrs, nil
	}
	ips, err := r.net.LookupHost(ctx, host)
	if err != nil || len(ips) == 0 {
		r.st.DNSQueriesFailed.Inc()
		return nil, fmt.Errorf("look up next hop %s: %w", host, err)
	}
	out := make([]string, len(ips))
	for i, ip := range ips {
		out[i] = net.JoinHostPort(ip, port)
	}
	r.mu.Lock()
	r.cache[host] = resolved{addrs: out, expires: now.Add(r.ttl)}
	r.mu.Unlock()
	return out, nil
}
