package resolver

import (
	"context"
	"net"
	"net/netip"
	"strings"

	"github.com/miekg/dns"
)

func notFound(name string) error {
	return &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
}

// answers queries name and returns its records of qtype; a name without
// them is a not-found error, as the standard library reports it.
func (r *Resolver) answers(ctx context.Context, name string, qtype uint16) ([]dns.RR, error) {
	m, err := r.Query(ctx, name, qtype)
	if err != nil {
		return nil, err
	}
	var out []dns.RR
	for _, rr := range m.Answer {
		if rr.Header().Rrtype == qtype {
			out = append(out, rr)
		}
	}
	if len(out) == 0 {
		return nil, notFound(name)
	}
	return out, nil
}

// LookupTXT returns each TXT record as one string (its character-strings
// joined, as SPF, DKIM and DMARC read them).
func (r *Resolver) LookupTXT(ctx context.Context, name string) ([]string, error) {
	rrs, err := r.answers(ctx, name, dns.TypeTXT)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(rrs))
	for _, rr := range rrs {
		out = append(out, strings.Join(rr.(*dns.TXT).Txt, ""))
	}
	return out, nil
}

// LookupA returns the IPv4 addresses of name.
func (r *Resolver) LookupA(ctx context.Context, name string) ([]netip.Addr, error) {
	rrs, err := r.answers(ctx, name, dns.TypeA)
	if err != nil {
		return nil, err
	}
	out := make([]netip.Addr, 0, len(rrs))
	for _, rr := range rrs {
		if a, ok := netip.AddrFromSlice(rr.(*dns.A).A.To4()); ok {
			out = append(out, a)
		}
	}
	return out, nil
}

// LookupIPAddr returns the IPv4 and IPv6 addresses of host.
func (r *Resolver) LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error) {
	var out []net.IPAddr
	var firstErr error
	for _, qt := range []uint16{dns.TypeA, dns.TypeAAAA} {
		rrs, err := r.answers(ctx, host, qt)
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		for _, rr := range rrs {
			switch v := rr.(type) {
			case *dns.A:
				out = append(out, net.IPAddr{IP: v.A})
			case *dns.AAAA:
				out = append(out, net.IPAddr{IP: v.AAAA})
			}
		}
	}
	if len(out) == 0 {
		return nil, firstErr
	}
	return out, nil
}

// LookupMX returns the MX records of name.
func (r *Resolver) LookupMX(ctx context.Context, name string) ([]*net.MX, error) {
	rrs, err := r.answers(ctx, name, dns.TypeMX)
	if err != nil {
		return nil, err
	}
	out := make([]*net.MX, 0, len(rrs))
	for _, rr := range rrs {
		mx := rr.(*dns.MX)
		out = append(out, &net.MX{Host: mx.Mx, Pref: mx.Preference})
	}
	return out, nil
}

// LookupAddr returns the names an address points to (PTR).
func (r *Resolver) LookupAddr(ctx context.Context, addr string) ([]string, error) {
	rev, err := dns.ReverseAddr(addr)
	if err != nil {
		return nil, &net.DNSError{Err: "not an IP address", Name: addr}
	}
	rrs, err := r.answers(ctx, rev, dns.TypePTR)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(rrs))
	for _, rr := range rrs {
		out = append(out, rr.(*dns.PTR).Ptr)
	}
	return out, nil
}
