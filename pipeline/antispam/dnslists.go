package antispam

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"

	"github.com/gatewatch/gatewatch/pipeline/antispam/urls"
	"github.com/gatewatch/gatewatch/pipeline/resolver"
	"github.com/gatewatch/gatewatch/telemetry"
)

// maxListedDomains bounds the URL domains looked up per message and list.
const maxListedDomains = 20

// zoneHealth follows whether a list answers, to raise and clear its trap.
type zoneHealth struct {
	fails atomic.Int32
	down  atomic.Bool
}

// lookupTarget is one name to look up in one list, and what it stands for.
type lookupTarget struct {
	name string // the query, e.g. 2.0.0.127.zen.example.
	what string // for the finding: "client 127.0.0.2", "relay ...", "example.test"
}

// dnsListChecks looks the client, the relays and the URL domains up in
// every configured list, concurrently.
func (s *Stage) dnsListChecks(ctx context.Context, c *compiled, client netip.Addr, relays []netip.Addr, hosts []urls.Host, f *findings) {
	var wg sync.WaitGroup
	for i := range c.lists {
		l := &c.lists[i]
		var targets []lookupTarget
		switch l.Kind {
		case "ip":
			if client.IsValid() {
				targets = append(targets, lookupTarget{reversed(client) + l.Zone, "client " + client.String()})
			}
			if l.Received {
				for _, r := range relays {
					targets = append(targets, lookupTarget{reversed(r) + l.Zone, "relay " + r.String()})
				}
			}
		case "domain":
			for _, h := range hosts {
				if len(targets) == maxListedDomains {
					break
				}
				switch {
				case h.IP.IsValid() && h.IP.Is4():
					targets = append(targets, lookupTarget{reversed(h.IP) + l.Zone, h.IP.String()})
				case h.Domain != "":
					targets = append(targets, lookupTarget{h.Domain + "." + l.Zone, h.Domain})
				}
			}
		}
		if len(targets) == 0 {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.lookupList(ctx, c, l, targets, f)
		}()
	}
	wg.Wait()
}

func (s *Stage) lookupList(ctx context.Context, c *compiled, l *compiledList, targets []lookupTarget, f *findings) {
	start := time.Now()
	defer func() { s.st.AntispamCheckTime.With(l.check).Observe(time.Since(start)) }()
	best, bestWhat, bestAnswer := 0.0, "", ""
	listed := false
	for _, tg := range targets {
		s.st.DNSListQueries.With(l.Name).Inc()
		m, err := c.res.Query(ctx, tg.name, dns.TypeA)
		if err != nil {
			var de *net.DNSError
			if errors.As(err, &de) && de.IsTimeout {
				s.st.DNSListTimeouts.With(l.Name).Inc()
			}
			s.zoneFailed(l, err)
			f.failed(l.check)
			continue
		}
		s.zoneAnswered(l)
		if resolver.Result(m, dns.TypeA) != resolver.ResultAnswer {
			continue
		}
		for _, rr := range m.Answer {
			a, ok := rr.(*dns.A)
			if !ok {
				continue
			}
			ip, _ := netip.AddrFromSlice(a.A.To4())
			// Only 127/8 answers mean "listed"; others are the list's
			// own errors (blocked resolver, rate limit).
			if !ip.IsValid() || ip.As4()[0] != 127 {
				continue
			}
			score := l.Score
			if sc, ok := l.codes[ip]; ok {
				score = sc
			}
			if !listed || score > best {
				best, bestWhat, bestAnswer = score, tg.what, ip.String()
			}
			listed = true
		}
	}
	if listed {
		s.st.DNSListHits.With(l.Name).Inc()
		if sc, ok := c.cfg.Scores[l.check]; ok {
			best = sc // configured for the check as a whole: wins over the list's codes
		}
		f.add(l.check, best, bestWhat+" listed ("+bestAnswer+")")
	}
}

func (s *Stage) zoneFailed(l *compiledList, err error) {
	h := s.health(l.Name)
	n := h.fails.Add(1)
	if int(n) >= l.downAfter && h.down.CompareAndSwap(false, true) {
		s.emit.Emit(telemetry.Event{Type: telemetry.DNSListDown, Category: l.Name, Count: int64(n),
			Text: l.Zone + " stopped answering", Err: err.Error()})
	}
}

func (s *Stage) zoneAnswered(l *compiledList) {
	h := s.health(l.Name)
	h.fails.Store(0)
	if h.down.CompareAndSwap(true, false) {
		s.emit.Emit(telemetry.Event{Type: telemetry.DNSListUp, Category: l.Name, Text: l.Zone + " answers again"})
	}
}

func (s *Stage) health(name string) *zoneHealth {
	s.healthMu.Lock()
	defer s.healthMu.Unlock()
	h, ok := s.zones[name]
	if !ok {
		h = &zoneHealth{}
		s.zones[name] = h
	}
	return h
}

// reversed is the DNS list form of an address: 1.2.3.4 -> "4.3.2.1.", and
// IPv6 as reversed nibbles.
func reversed(a netip.Addr) string {
	rev, err := dns.ReverseAddr(a.String())
	if err != nil {
		return ""
	}
	for _, suffix := range []string{"in-addr.arpa.", "ip6.arpa."} {
		if len(rev) > len(suffix) && rev[len(rev)-len(suffix):] == suffix {
			return rev[:len(rev)-len(suffix)]
		}
	}
	return rev
}
