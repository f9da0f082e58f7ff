// Package policy decides what happens to a message: recipient and sender
// groups with inherited settings, white and black lists, and per status the
// action (deliver, reject, drop, quarantine) with its modifiers (subject
// mark, headers, copies, redirection, part removal, notifications). It also
// renders the copies those modifiers call for.
package policy

import (
	"errors"
	"fmt"
	"net/mail"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/gatewatch/gatewatch/pipeline"
)

// Config is the policy section.
type Config struct {
	Lists   Lists    `yaml:"lists"`
	Default Settings `yaml:"default"`
	Groups  []Group  `yaml:"groups"`
}

// Lists give the statuses trusted and blacklisted before any stage runs;
// a black list wins over a white one.
type Lists struct {
	SendersWhite    []string `yaml:"senders_white"` // address patterns
	SendersBlack    []string `yaml:"senders_black"`
	RecipientsWhite []string `yaml:"recipients_white"`
	RecipientsBlack []string `yaml:"recipients_black"`
	ClientsWhite    []string `yaml:"clients_white"` // CIDR
	ClientsBlack    []string `yaml:"clients_black"`
	// WhiteSkips are the stages trusted mail does not go through.
	WhiteSkips []string `yaml:"white_skips"`
}

// Settings are what a group decides; a group inherits every setting of the
// default it does not set itself.
type Settings struct {
	Checks  map[string]bool   `yaml:"checks"`  // stage -> runs
	Actions map[string]Action `yaml:"actions"` // status -> action
	Headers map[string]string `yaml:"headers"` // added to every copy of the group
}

// Group is a named set of recipients and/or senders with its own settings.
type Group struct {
	Name       string   `yaml:"name"`
	Recipients []string `yaml:"recipients"` // patterns; empty: any
	Senders    []string `yaml:"senders"`    // patterns; empty: any
	Settings   `yaml:",inline"`
}

// Action is what to do with a message of one status.
type Action struct {
	Do             string            `yaml:"do"`              // deliver (default), reject, tempfail, drop, quarantine
	Reply          string            `yaml:"reply"`           // text of the reject / tempfail reply
	QuarantineCopy bool              `yaml:"quarantine_copy"` // also keep a copy in quarantine
	MarkSubject    string            `yaml:"mark_subject"`    // prefix for the subject
	Headers        map[string]string `yaml:"headers"`         // header fields to add
	CopyTo         []string          `yaml:"copy_to"`         // BCC copies to these addresses
	RedirectTo     []string          `yaml:"redirect_to"`     // deliver to these instead of the recipients
	RemoveParts    bool              `yaml:"remove_parts"`    // replace the parts the stages flagged by a notice
	Notify         []string          `yaml:"notify"`          // sender, recipients, admin
}

// DefaultGroup names the settings that apply when no group matches.
const DefaultGroup = "default"

// Stages are the stage names checks may name: the scanners of the
// pipeline, present or to come.
func Stages() []string { return []string{"antispam", "antivirus", "contentfilter"} }

var (
	groupName  = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)
	headerName = regexp.MustCompile(`^[!-9;-~]+$`) // RFC 5322 ftext
)

// Validate checks the section; errors name the key.
func (c Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("policy.%s: %s", key, fmt.Sprintf(format, args...)))
	}
	masks := func(key string, list []string) {
		for i, p := range list {
			if _, err := pipeline.CompileMask(p); err != nil {
				bad(fmt.Sprintf("%s[%d]", key, i), "%v", err)
			}
		}
	}
	masks("lists.senders_white", c.Lists.SendersWhite)
	masks("lists.senders_black", c.Lists.SendersBlack)
	masks("lists.recipients_white", c.Lists.RecipientsWhite)
	masks("lists.recipients_black", c.Lists.RecipientsBlack)
	prefixes := func(key string, list []string) {
		for i, s := range list {
			if _, err := pipeline.ParsePrefix(s); err != nil {
				bad(fmt.Sprintf("%s[%d]", key, i), "%v", err)
			}
		}
	}
	prefixes("lists.clients_white", c.Lists.ClientsWhite)
	prefixes("lists.clients_black", c.Lists.ClientsBlack)
	for i, st := range c.Lists.WhiteSkips {
		if !slices.Contains(Stages(), st) {
			bad(fmt.Sprintf("lists.white_skips[%d]", i), "%q: want one of %s", st, strings.Join(Stages(), ", "))
		}
	}
	// The default must say what to do with every status.
	for _, st := range pipeline.Statuses() {
		if _, ok := c.Default.Actions[st]; !ok {
			bad("default.actions", "no action for status %q (the default must cover every status: %s)", st, strings.Join(pipeline.Statuses(), ", "))
		}
	}
	c.Default.validate("default", bad)
	names := map[string]bool{DefaultGroup: true}
	for i, g := range c.Groups {
		key := fmt.Sprintf("groups[%d]", i)
		switch {
		case !groupName.MatchString(g.Name):
			bad(key+".name", "%q: lower-case letters, digits, _ and -, up to 63 (it labels metrics)", g.Name)
		case names[g.Name]:
			bad(key+".name", "%q is used twice (or is the default group's name)", g.Name)
		}
		names[g.Name] = true
		if len(g.Recipients) == 0 && len(g.Senders) == 0 {
			bad(key, "a group needs recipients or senders patterns")
		}
		masks(key+".recipients", g.Recipients)
		masks(key+".senders", g.Senders)
		g.Settings.validate(key, bad)
	}
	return errors.Join(errs...)
}

func (s Settings) validate(key string, bad func(key, format string, args ...any)) {
	for _, st := range sortedKeys(s.Checks) {
		if !slices.Contains(Stages(), st) {
			bad(key+".checks."+st, "unknown stage: want one of %s", strings.Join(Stages(), ", "))
		}
	}
	for _, st := range sortedKeys(s.Actions) {
		if !pipeline.KnownStatus(st) {
			bad(key+".actions."+st, "unknown status: want one of %s", strings.Join(pipeline.Statuses(), ", "))
			continue
		}
		s.Actions[st].validate(key+".actions."+st, bad)
	}
	validateHeaders(key+".headers", s.Headers, bad)
}

func (a Action) validate(key string, bad func(key, format string, args ...any)) {
	if _, err := dispositionOf(a.Do); err != nil {
		bad(key+".do", "%v", err)
	}
	if strings.ContainsAny(a.Reply, "\r\n") || len(a.Reply) > 400 {
		bad(key+".reply", "one line of at most 400 characters")
	}
	if a.Reply != "" && a.Do != "reject" && a.Do != "tempfail" {
		bad(key+".reply", "only reject and tempfail send a reply")
	}
	if strings.ContainsAny(a.MarkSubject, "\r\n") {
		bad(key+".mark_subject", "one line")
	}
	validateHeaders(key+".headers", a.Headers, bad)
	for field, list := range map[string][]string{"copy_to": a.CopyTo, "redirect_to": a.RedirectTo} {
		for i, addr := range list {
			if _, err := mail.ParseAddress(addr); err != nil || strings.ContainsAny(addr, "<> ") {
				bad(fmt.Sprintf("%s.%s[%d]", key, field, i), "%q is not a plain address (user@domain)", addr)
			}
		}
	}
	if len(a.RedirectTo) > 0 && a.Do != "" && a.Do != "deliver" {
		bad(key+".redirect_to", "only a delivered copy can be redirected")
	}
	for i, n := range a.Notify {
		if n != pipeline.NotifySender && n != pipeline.NotifyRecipients && n != pipeline.NotifyAdmin {
			bad(fmt.Sprintf("%s.notify[%d]", key, i), "%q: want sender, recipients or admin", n)
		}
	}
}

func validateHeaders(key string, h map[string]string, bad func(key, format string, args ...any)) {
	for _, name := range sortedKeys(h) {
		if !headerName.MatchString(name) {
			bad(key+"."+name, "not a header field name")
		}
		if strings.ContainsAny(h[name], "\r\n") {
			bad(key+"."+name, "the value must be one line")
		}
	}
}

func dispositionOf(do string) (pipeline.Action, error) {
	switch do {
	case "", "deliver":
		return pipeline.ActionAccept, nil
	case "reject":
		return pipeline.ActionReject, nil
	case "tempfail":
		return pipeline.ActionTempFail, nil
	case "drop":
		return pipeline.ActionDiscard, nil
	case "quarantine":
		return pipeline.ActionQuarantine, nil
	}
	return 0, fmt.Errorf("%q: want deliver, reject, tempfail, drop or quarantine", do)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
