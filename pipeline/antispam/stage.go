package antispam

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatewatch/gatewatch/pipeline"
	"github.com/gatewatch/gatewatch/pipeline/resolver"
	"github.com/gatewatch/gatewatch/telemetry"
	"github.com/gatewatch/gatewatch/telemetry/stats"
)

// Name is the stage's name in the policy's checks and the verdicts.
const Name = "antispam"

// Deps are the stage's collaborators.
type Deps struct {
	Resolver  *resolver.Resolver
	Emit      telemetry.Emitter
	Stats     *stats.Stats
	Hostname  string   // Authentication-Results identity unless configured
	Protected []string // smtp.protected_domains: the domains spoofing is judged against
	Now       func() time.Time
}

// Stage is the anti-spam stage.
type Stage struct {
	emit telemetry.Emitter
	st   *stats.Stats
	now  func() time.Time
	cur  atomic.Pointer[compiled]

	healthMu sync.Mutex
	zones    map[string]*zoneHealth
}

// compiled is a configuration made ready for use.
type compiled struct {
	cfg                Config
	res                *resolver.Resolver
	scores             map[string]float64 // built-in, then configured
	lists              []compiledList
	protected          []string
	protectedSkeletons map[string]string
	authservID         string
	model              classifier
	samples            []fuzzySample
}

type compiledList struct {
	DNSList
	Zone      string // with a trailing dot
	check     string
	codes     map[netip.Addr]float64
	downAfter int
}

// New creates the stage for cfg.
func New(cfg Config, d Deps) (*Stage, error) {
	if d.Now == nil {
		d.Now = time.Now
	}
	s := &Stage{emit: d.Emit, st: d.Stats, now: d.Now, zones: map[string]*zoneHealth{}}
	if err := s.Reload(cfg, d); err != nil {
		return nil, err
	}
	return s, nil
}

// Reload puts cfg, the resolver, the host name and the protected domains
// of d in force for the next messages (Emit, Stats and Now stay).
func (s *Stage) Reload(cfg Config, d Deps) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	if d.Resolver == nil {
		return fmt.Errorf("antispam: no resolver")
	}
	c := &compiled{cfg: cfg, res: d.Resolver, scores: map[string]float64{}, protectedSkeletons: map[string]string{}, authservID: cfg.AuthServID}
	for _, ch := range Checks() {
		c.scores[ch.Name] = ch.Score
	}
	if c.authservID == "" {
		c.authservID = d.Hostname
	}
	for _, p := range d.Protected {
		p = strings.ToLower(strings.TrimPrefix(p, "*."))
		if strings.ContainsAny(p, "*?") {
			continue
		}
		c.protected = append(c.protected, p)
		c.protectedSkeletons[p] = skeleton(p)
	}
	for _, l := range cfg.DNSLists {
		cl := compiledList{DNSList: l, Zone: strings.Trim(l.Zone, ".") + ".", check: l.check(),
			codes: map[netip.Addr]float64{}, downAfter: cfg.DownAfter}
		for a, sc := range l.Codes {
			cl.codes[netip.MustParseAddr(a)] = sc
		}
		c.lists = append(c.lists, cl)
		if _, ok := cfg.Scores[cl.check]; !ok {
			c.scores[cl.check] = l.Score
		}
		s.st.Introduce("dnsZone", l.Name)
		s.st.AntispamCheckErrs.With(cl.check)
		if !s.health(l.Name).down.Load() { // a reload does not make a silent list answer
			s.st.DNSListUp.With(l.Name).Set(1)
		}
	}
	// The groups that can fail are charted from the start, at zero.
	for _, g := range []string{groupRDNS, groupSPF, groupDKIM, groupDMARC} {
		s.st.AntispamCheckErrs.With(g)
	}
	for name, sc := range cfg.Scores {
		c.scores[name] = sc
	}
	model, err := loadClassifier(cfg.Model)
	if err != nil {
		return fmt.Errorf("antispam.model: %w", err)
	}
	c.model = model
	if c.samples, err = loadSamples(cfg.FuzzySamples); err != nil {
		return fmt.Errorf("antispam.fuzzy_samples: %w", err)
	}
	s.cur.Store(c)
	return nil
}

// score is a check's score: configured, else built in.
func (c *compiled) score(name string) float64 { return c.scores[name] }

// Name implements pipeline.Stage.
func (s *Stage) Name() string { return Name }

// Scan implements pipeline.Stage. DNS failures never fail the stage: the
// checks that could not decide score nothing and are counted as errors.
func (s *Stage) Scan(ctx context.Context, m *pipeline.Message) (pipeline.Verdict, error) {
	c := s.cur.Load()
	now := s.now()
	f := &findings{}
	var hf headerFacts
	var body bodyFacts
	s.timed(groupFormal, func() {
		hf = readHeader(m.Header)
		body = readBody(m)
		s.formalChecks(c, m, hf, body, f, now)
	})
	client, _ := netip.ParseAddr(m.Client.IP)
	client = client.Unmap()
	external := !m.Client.RelayAllowed && !m.Client.Trusted
	out := &authOutcome{}
	if external && client.IsValid() {
		var relays []netip.Addr
		for _, r := range hf.relays {
			if a, err := netip.ParseAddr(r); err == nil && a.IsGlobalUnicast() && !a.IsPrivate() {
				relays = append(relays, a.Unmap())
			}
		}
		var wg sync.WaitGroup
		run := func(group string, fn func()) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s.timed(group, fn)
			}()
		}
		run(groupRDNS, func() { s.reverseDNS(ctx, c, client, f, out) })
		run(groupSPF, func() { s.checkSPF(ctx, c, m, client, f, out) })
		run(groupDKIM, func() { s.checkDKIM(ctx, c, m, f, out) })
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.dnsListChecks(ctx, c, client, relays, body.hosts, f)
		}()
		wg.Wait()
		s.timed(groupDMARC, func() { s.checkDMARC(ctx, c, hf.fromDomain, f, out) })
		s.spoofCheck(c, hf, m, f, out)
	} else if len(c.lists) > 0 {
		// Internal senders: only their URLs are looked up.
		s.dnsListChecks(ctx, c, netip.Addr{}, nil, body.hosts, f)
	}
	if len(c.samples) > 0 {
		s.timed(groupFuzzy, func() { s.fuzzyCheck(c, body, f) })
	}
	if c.model != nil {
		s.timed(groupClassifier, func() { s.classify(c, m, f) })
	}
	return s.verdict(c, m, hf, f, client, external, out), nil
}

// spoofCheck: a protected domain in From or MAIL FROM from outside, not
// vouched for by SPF or an aligned DKIM signature, is a forgery.
func (s *Stage) spoofCheck(c *compiled, hf headerFacts, m *pipeline.Message, f *findings, out *authOutcome) {
	for _, d := range []string{hf.fromDomain, domainOf(m.Envelope.From)} {
		if d == "" || !c.isProtected(d) {
			continue
		}
		vouched := out.spf == "pass" && c.isProtected(out.spfDomain)
		for _, r := range out.dkim {
			if r.Value == "pass" && c.isProtected(strings.ToLower(r.Domain)) {
				vouched = true
			}
		}
		if !vouched {
			f.add("SPOOFED_PROTECTED", c.score("SPOOFED_PROTECTED"), d+" from outside")
		}
		return
	}
}

func (c *compiled) isProtected(d string) bool {
	for _, p := range c.protected {
		if d == p || strings.HasSuffix(d, "."+p) {
			return true
		}
	}
	return false
}

// verdict turns the findings into the status, the headers and the event.
func (s *Stage) verdict(c *compiled, m *pipeline.Message, hf headerFacts, f *findings, client netip.Addr, external bool, out *authOutcome) pipeline.Verdict {
	score, hits := f.total()
	status := pipeline.StatusClean
	switch {
	case score >= c.cfg.Spam:
		status = pipeline.StatusSpam
	case score >= c.cfg.Probable:
		status = pipeline.StatusProbableSpam
	case hf.autoGen != "":
		status = pipeline.StatusFormal
	}
	for _, h := range hits {
		s.st.AntispamCheckHits.With(h.name).Inc()
	}
	for _, e := range f.errs {
		s.st.AntispamCheckErrs.With(e).Inc()
	}
	tests := testsHeader(hits)
	v := pipeline.Verdict{Status: status, Score: round1(score), Detail: tests, Suggest: pipeline.ActionAccept}
	v.Headers = append(v.Headers,
		pipeline.HeaderField{Name: "X-Gatewatch-Spam-Status", Value: fmt.Sprintf("%s, score=%.1f spam=%.1f probable=%.1f",
			status, score, c.cfg.Spam, c.cfg.Probable)},
		pipeline.HeaderField{Name: "X-Gatewatch-Spam-Tests", Value: fold(tests)})
	if c.cfg.SCLHeader {
		v.Headers = append(v.Headers, pipeline.HeaderField{Name: "X-MS-Exchange-Organization-SCL", Value: scl(status)})
	}
	if external && client.IsValid() {
		v.Headers = append(v.Headers, authResults(c.authservID, m, hf.fromDomain, client, out))
	}
	s.emit.Emit(telemetry.Event{Type: telemetry.AntispamVerdict, QueueID: m.ID, Stage: Name, Reason: telemetry.Reason(status),
		Sender: m.Envelope.From, Text: fmt.Sprintf("score %.1f (spam %.1f, probable %.1f): %s", score, c.cfg.Spam, c.cfg.Probable, explained(hits))})
	return v
}

// explained lists the hits with what each found, for the records (the
// header carries only names and scores).
func explained(hits []hit) string {
	if len(hits) == 0 {
		return "none"
	}
	parts := make([]string, 0, len(hits))
	for _, h := range hits {
		p := fmt.Sprintf("%s(%g)", h.name, h.score)
		if h.detail != "" {
			p += " " + h.detail
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, "; ")
}

// scl maps a status to Exchange's spam confidence level.
func scl(status string) string {
	switch status {
	case pipeline.StatusSpam:
		return "9"
	case pipeline.StatusProbableSpam:
		return "6"
	case pipeline.StatusFormal:
		return "1"
	}
	return "0"
}

func round1(x float64) float64 { return float64(int64(x*10+0.5*sign(x))) / 10 }

func sign(x float64) float64 {
	if x < 0 {
		return -1
	}
	return 1
}

// fold breaks a long list of tests into header lines of reasonable length.
func fold(s string) string {
	var b strings.Builder
	line := 0
	for i, part := range strings.Split(s, ", ") {
		if i > 0 {
			if line+len(part) > 70 {
				b.WriteString(",\r\n\t")
				line = 0
			} else {
				b.WriteString(", ")
				line += 2
			}
		}
		b.WriteString(part)
		line += len(part)
	}
	return b.String()
}
