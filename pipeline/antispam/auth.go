package antispam

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"time"

	"blitiri.com.ar/go/spf"
	"github.com/emersion/go-msgauth/authres"
	"github.com/emersion/go-msgauth/dkim"
	"github.com/emersion/go-msgauth/dmarc"

	"github.com/gatewatch/gatewatch/pipeline"
)

// authOutcome is what SPF, DKIM and reverse DNS found, for DMARC and the
// Authentication-Results field.
type authOutcome struct {
	iprev     authres.ResultValue
	spf       authres.ResultValue
	spfDomain string // the domain SPF checked (MAIL FROM's, else HELO's)
	dkim      []authres.DKIMResult
	dmarc     authres.ResultValue
	dmarcPol  string
}

// timed runs one check group, recording its time.
func (s *Stage) timed(group string, fn func()) {
	start := time.Now()
	fn()
	s.st.AntispamCheckTime.With(group).Observe(time.Since(start))
}

// reverseDNS: the client's address must have a name that resolves back to
// it (forward-confirmed reverse DNS, RFC 8601 "iprev").
func (s *Stage) reverseDNS(ctx context.Context, c *compiled, ip netip.Addr, f *findings, out *authOutcome) {
	names, err := c.res.LookupAddr(ctx, ip.String())
	var de *net.DNSError
	switch {
	case errors.As(err, &de) && de.IsNotFound:
		out.iprev = authres.ResultPermError
		f.add("RDNS_NONE", c.score("RDNS_NONE"), ip.String())
		return
	case err != nil:
		out.iprev = authres.ResultTempError
		f.failed(groupRDNS)
		return
	}
	for _, n := range names {
		addrs, err := c.res.LookupIPAddr(ctx, n)
		if err != nil {
			continue
		}
		for _, a := range addrs {
			if got, ok := netip.AddrFromSlice(a.IP); ok && got.Unmap() == ip {
				out.iprev = authres.ResultPass
				return
			}
		}
	}
	out.iprev = authres.ResultFail
	f.add("RDNS_MISMATCH", c.score("RDNS_MISMATCH"), ip.String()+" -> "+strings.TrimSuffix(names[0], "."))
}

// checkSPF evaluates the sender's SPF record for the client (RFC 7208).
func (s *Stage) checkSPF(ctx context.Context, c *compiled, m *pipeline.Message, ip netip.Addr, f *findings, out *authOutcome) {
	sender := m.Envelope.From
	out.spfDomain = domainOf(sender)
	if sender == "" {
		sender = "postmaster@" + m.Client.Helo
		out.spfDomain = strings.ToLower(m.Client.Helo)
	}
	res, _ := spf.CheckHostWithSender(net.IP(ip.AsSlice()), m.Client.Helo, sender,
		spf.WithContext(ctx), spf.WithResolver(c.res))
	out.spf = authres.ResultValue(res)
	switch res {
	case spf.Pass:
		f.add("SPF_PASS", c.score("SPF_PASS"), out.spfDomain)
	case spf.Fail:
		f.add("SPF_FAIL", c.score("SPF_FAIL"), out.spfDomain)
	case spf.SoftFail:
		f.add("SPF_SOFTFAIL", c.score("SPF_SOFTFAIL"), out.spfDomain)
	case spf.PermError:
		f.add("SPF_PERMERROR", c.score("SPF_PERMERROR"), out.spfDomain)
	case spf.TempError:
		f.failed(groupSPF)
	}
}

// checkDKIM verifies every signature (RFC 6376).
func (s *Stage) checkDKIM(ctx context.Context, c *compiled, m *pipeline.Message, f *findings, out *authOutcome) {
	vs, err := dkim.VerifyWithOptions(m.Reader(), &dkim.VerifyOptions{MaxVerifications: 5,
		LookupTXT: func(name string) ([]string, error) { return c.res.LookupTXT(ctx, name) }})
	if err != nil && len(vs) == 0 {
		f.failed(groupDKIM)
		return
	}
	valid, invalid := "", ""
	for _, v := range vs {
		r := authres.DKIMResult{Domain: v.Domain, Identifier: v.Identifier, Value: authres.ResultPass}
		switch {
		case v.Err == nil:
			if valid == "" {
				valid = v.Domain
			}
		case dkim.IsTempFail(v.Err):
			r.Value, r.Reason = authres.ResultTempError, v.Err.Error()
			f.failed(groupDKIM)
		case dkim.IsPermFail(v.Err):
			r.Value, r.Reason = authres.ResultPermError, v.Err.Error()
			invalid = v.Domain
		default:
			r.Value, r.Reason = authres.ResultFail, v.Err.Error()
			invalid = v.Domain
		}
		out.dkim = append(out.dkim, r)
	}
	if valid != "" {
		f.add("DKIM_VALID", c.score("DKIM_VALID"), valid)
	} else if invalid != "" {
		f.add("DKIM_INVALID", c.score("DKIM_INVALID"), invalid)
	}
}

// checkDMARC finds the From domain's policy (RFC 7489: the domain, else
// its organisational domain) and evaluates it: pass when SPF or DKIM
// passed for a domain aligned with From.
func (s *Stage) checkDMARC(ctx context.Context, c *compiled, fromDomain string, f *findings, out *authOutcome) {
	if fromDomain == "" {
		return
	}
	lookup := &dmarc.LookupOptions{LookupTXT: func(name string) ([]string, error) { return c.res.LookupTXT(ctx, name) }}
	org := orgDomain(fromDomain)
	rec, err := dmarc.LookupWithOptions(fromDomain, lookup)
	policyDomain := fromDomain
	if errors.Is(err, dmarc.ErrNoPolicy) && org != fromDomain {
		rec, err = dmarc.LookupWithOptions(org, lookup)
		policyDomain = org
	}
	switch {
	case errors.Is(err, dmarc.ErrNoPolicy):
		out.dmarc = authres.ResultNone
		return
	case dmarc.IsTempFail(err):
		out.dmarc = authres.ResultTempError
		f.failed(groupDMARC)
		return
	case err != nil:
		out.dmarc = authres.ResultPermError
		return
	}
	aligned := func(d string, mode dmarc.AlignmentMode) bool {
		d = strings.ToLower(d)
		if mode == dmarc.AlignmentStrict {
			return d == fromDomain
		}
		return orgDomain(d) == org
	}
	pass := out.spf == authres.ResultPass && aligned(out.spfDomain, rec.SPFAlignment)
	for _, r := range out.dkim {
		if r.Value == authres.ResultPass && aligned(r.Domain, rec.DKIMAlignment) {
			pass = true
		}
	}
	if pass {
		out.dmarc = authres.ResultPass
		return
	}
	out.dmarc = authres.ResultFail
	p := rec.Policy
	if policyDomain != fromDomain && rec.SubdomainPolicy != "" {
		p = rec.SubdomainPolicy
	}
	out.dmarcPol = string(p)
	switch p {
	case dmarc.PolicyReject:
		f.add("DMARC_REJECT", c.score("DMARC_REJECT"), fromDomain)
	case dmarc.PolicyQuarantine:
		f.add("DMARC_QUARANTINE", c.score("DMARC_QUARANTINE"), fromDomain)
	default:
		f.add("DMARC_NONE", c.score("DMARC_NONE"), fromDomain)
	}
}

// authResults is the Authentication-Results field (RFC 8601) for what ran.
func authResults(id string, m *pipeline.Message, fromDomain string, ip netip.Addr, out *authOutcome) pipeline.HeaderField {
	var results []authres.Result
	if out.iprev != "" {
		results = append(results, &authres.IPRevResult{Value: out.iprev, IP: ip.String()})
	}
	if out.spf != "" {
		results = append(results, &authres.SPFResult{Value: out.spf, From: m.Envelope.From, Helo: m.Client.Helo})
	}
	if len(out.dkim) == 0 && out.spf != "" {
		results = append(results, &authres.DKIMResult{Value: authres.ResultNone})
	}
	for i := range out.dkim {
		results = append(results, &out.dkim[i])
	}
	if out.dmarc != "" {
		r := &authres.DMARCResult{Value: out.dmarc, From: fromDomain}
		if out.dmarcPol != "" {
			r.Reason = "p=" + out.dmarcPol
		}
		results = append(results, r)
	}
	// One result per line, as mail tools show them; each formatted alone
	// so that a "; " inside a quoted reason is not taken for a separator.
	v := id
	if len(results) == 0 {
		v += "; none"
	}
	for _, r := range results {
		one := authres.Format("x", []authres.Result{r})
		v += ";\r\n\t" + strings.TrimSpace(strings.TrimPrefix(one, "x; "))
	}
	return pipeline.HeaderField{Name: "Authentication-Results", Value: v}
}
