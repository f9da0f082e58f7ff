package policy

import (
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"sync/atomic"

	"github.com/gatewatch/gatewatch/pipeline"
)

// Engine is the policy in force; Reload swaps it between two messages.
type Engine struct {
	cur atomic.Pointer[compiled]
}

type compiled struct {
	sendersWhite, sendersBlack pipeline.Masks
	rcptsWhite, rcptsBlack     pipeline.Masks
	clientsWhite, clientsBlack []netip.Prefix
	whiteSkips                 map[string]bool
	groups                     []group // in order; the default group last, matching everything
}

type group struct {
	name       string
	rcpts      pipeline.Masks
	senders    pipeline.Masks
	checks     map[string]bool
	treatments map[string]pipeline.Treatment // by status
}

// New compiles cfg (validated already).
func New(cfg Config) (*Engine, error) {
	e := &Engine{}
	return e, e.Reload(cfg)
}

// Reload puts cfg in force.
func (e *Engine) Reload(cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	c := &compiled{whiteSkips: map[string]bool{}}
	c.sendersWhite, _ = pipeline.CompileMasks(cfg.Lists.SendersWhite)
	c.sendersBlack, _ = pipeline.CompileMasks(cfg.Lists.SendersBlack)
	c.rcptsWhite, _ = pipeline.CompileMasks(cfg.Lists.RecipientsWhite)
	c.rcptsBlack, _ = pipeline.CompileMasks(cfg.Lists.RecipientsBlack)
	for _, s := range cfg.Lists.ClientsWhite {
		p, _ := pipeline.ParsePrefix(s)
		c.clientsWhite = append(c.clientsWhite, p)
	}
	for _, s := range cfg.Lists.ClientsBlack {
		p, _ := pipeline.ParsePrefix(s)
		c.clientsBlack = append(c.clientsBlack, p)
	}
	for _, s := range cfg.Lists.WhiteSkips {
		c.whiteSkips[s] = true
	}
	for _, g := range cfg.Groups {
		rcpts, _ := pipeline.CompileMasks(g.Recipients)
		senders, _ := pipeline.CompileMasks(g.Senders)
		c.groups = append(c.groups, compileGroup(g.Name, rcpts, senders, cfg.Default, g.Settings))
	}
	c.groups = append(c.groups, compileGroup(DefaultGroup, nil, nil, cfg.Default, Settings{}))
	e.cur.Store(c)
	return nil
}

// compileGroup merges a group's settings over the default's.
func compileGroup(name string, rcpts, senders pipeline.Masks, def, own Settings) group {
	g := group{name: name, rcpts: rcpts, senders: senders, checks: map[string]bool{}, treatments: map[string]pipeline.Treatment{}}
	for _, st := range Stages() {
		g.checks[st] = true
	}
	for _, s := range []Settings{def, own} {
		for st, on := range s.Checks {
			g.checks[st] = on
		}
	}
	headers := map[string]string{}
	for _, s := range []Settings{def, own} {
		for k, v := range s.Headers {
			headers[k] = v
		}
	}
	for _, status := range pipeline.Statuses() {
		a, ok := own.Actions[status]
		if !ok {
			a = def.Actions[status]
		}
		g.treatments[status] = treatmentOf(status, a, headers)
	}
	return g
}

func treatmentOf(status string, a Action, groupHeaders map[string]string) pipeline.Treatment {
	act, _ := dispositionOf(a.Do)
	t := pipeline.Treatment{Action: act, QuarantineCopy: a.QuarantineCopy, MarkSubject: a.MarkSubject,
		CopyTo: a.CopyTo, RedirectTo: a.RedirectTo, RemoveParts: a.RemoveParts, Notify: a.Notify}
	switch act {
	case pipeline.ActionReject:
		t.Reply = pipeline.Reply{Code: 554, Enhanced: [3]int{5, 7, 1}, Text: a.Reply}
		if a.Reply == "" {
			t.Reply.Text = fmt.Sprintf("Message refused by policy (%s)", status)
		}
	case pipeline.ActionTempFail:
		t.Reply = pipeline.Reply{Code: 451, Enhanced: [3]int{4, 7, 1}, Text: a.Reply}
		if a.Reply == "" {
			t.Reply.Text = fmt.Sprintf("Message deferred by policy (%s), try again later", status)
		}
	}
	all := map[string]string{}
	for k, v := range groupHeaders {
		all[k] = v
	}
	for k, v := range a.Headers {
		all[k] = v
	}
	names := make([]string, 0, len(all))
	for k := range all {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		t.Headers = append(t.Headers, pipeline.HeaderField{Name: k, Value: all[k]})
	}
	return t
}

func (c *compiled) groupOf(sender, rcpt string) *group {
	for i := range c.groups {
		g := &c.groups[i]
		if (len(g.senders) == 0 || g.senders.Match(sender)) && (len(g.rcpts) == 0 || g.rcpts.Match(rcpt)) {
			return g
		}
	}
	return &c.groups[len(c.groups)-1]
}

// listStatus is what the lists say of one recipient's copy: blacklisted,
// trusted or "".
func (c *compiled) listStatus(m *pipeline.Message, rcpt string) string {
	client, _ := netip.ParseAddr(m.Client.IP)
	client = client.Unmap()
	in := func(ps []netip.Prefix) bool {
		return slices.ContainsFunc(ps, func(p netip.Prefix) bool { return client.IsValid() && p.Contains(client) })
	}
	switch {
	case in(c.clientsBlack) || c.sendersBlack.Match(m.Envelope.From) || c.rcptsBlack.Match(rcpt):
		return pipeline.StatusBlacklisted
	case in(c.clientsWhite) || c.sendersWhite.Match(m.Envelope.From) || c.rcptsWhite.Match(rcpt):
		return pipeline.StatusTrusted
	}
	return ""
}

// runsFor reports whether stage scans the copy of one recipient.
func (c *compiled) runsFor(g *group, list, stage string) bool {
	on, known := g.checks[stage]
	if known && !on || list == pipeline.StatusBlacklisted {
		return false // off, or nothing a stage finds can change a blacklisted copy's status
	}
	return !(list == pipeline.StatusTrusted && c.whiteSkips[stage])
}

// Runs implements pipeline.Policy.
func (e *Engine) Runs(m *pipeline.Message, stage string) bool {
	c := e.cur.Load()
	for _, r := range m.Envelope.Recipients {
		if c.runsFor(c.groupOf(m.Envelope.From, r.Addr), c.listStatus(m, r.Addr), stage) {
			return true
		}
	}
	return false
}

// Decide implements pipeline.Policy: each recipient gets the treatment its
// group gives to its status, the most severe of what the lists and the
// stages that ran for it found. Recipients that share group and status
// share an outcome. A temporary failure anywhere defers the whole message
// (after DATA there is one reply for all recipients); so does a refusal
// for all of them; a refusal for some only is carried out by the caller
// as a bounce for those, the others being accepted.
func (e *Engine) Decide(m *pipeline.Message, _ []error) pipeline.Decision {
	c := e.cur.Load()
	var out []pipeline.Outcome
	index := map[[2]string]int{}
	for _, r := range m.Envelope.Recipients {
		g := c.groupOf(m.Envelope.From, r.Addr)
		list := c.listStatus(m, r.Addr)
		status := pipeline.StatusClean
		if list != "" {
			status = list
		}
		for _, v := range m.Verdicts {
			if c.runsFor(g, list, v.Stage) {
				status = pipeline.WorseStatus(status, v.Status)
			}
		}
		key := [2]string{g.name, status}
		i, ok := index[key]
		if !ok {
			i = len(out)
			index[key] = i
			out = append(out, pipeline.Outcome{Group: g.name, Status: status, Treatment: g.treatments[status]})
		}
		out[i].Recipients = append(out[i].Recipients, r)
	}
	d := pipeline.Decision{Action: pipeline.ActionAccept, Outcomes: out}
	rejected := 0
	for _, o := range out {
		switch o.Action {
		case pipeline.ActionTempFail:
			return pipeline.Decision{Action: pipeline.ActionTempFail, Reply: o.Reply, Outcomes: out}
		case pipeline.ActionReject:
			rejected++
		}
	}
	if rejected == len(out) && len(out) > 0 {
		d.Action, d.Reply = pipeline.ActionReject, out[0].Reply
	}
	return d
}
