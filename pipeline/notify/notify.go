// Package notify tells people about what the policy did to a message: the
// sender, the recipients or the administrator get a short text message,
// rendered from a template and queued in the spool like a DSN. Notifying is
// best effort: nothing here can hold up or fail the message it is about.
package notify

import (
	"errors"
	"fmt"
	"io/fs"
	"net/mail"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gatewatch/gatewatch/pipeline"
	"github.com/gatewatch/gatewatch/pipeline/spool"
	"github.com/gatewatch/gatewatch/telemetry"
)

// defaultRatePerHour is how many notifications one address gets per hour
// when the configuration does not say.
const defaultRatePerHour = 20

// Config is the notify section of the configuration.
type Config struct {
	Admin       string `yaml:"admin"`         // administrator address; "" sends no admin notifications
	From        string `yaml:"from"`          // From: address; "" is postmaster@<hostname>
	Templates   string `yaml:"templates"`     // directory of sender.tmpl, recipients.tmpl, admin.tmpl overriding the shipped ones
	RatePerHour int    `yaml:"rate_per_hour"` // notifications per destination address per hour; 0 is 20
}

// Validate checks the section; errors name the key.
func (c Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("notify.%s: %s", key, fmt.Sprintf(format, args...)))
	}
	if c.Admin != "" && !plainAddress(c.Admin) {
		bad("admin", "%q is not a plain address (user@domain)", c.Admin)
	}
	if c.From != "" && !plainAddress(c.From) {
		bad("from", "%q is not a plain address (user@domain)", c.From)
	}
	if c.RatePerHour < 0 {
		bad("rate_per_hour", "%d: must not be negative (0 means %d)", c.RatePerHour, defaultRatePerHour)
	}
	return errors.Join(errs...)
}

// plainAddress reports whether s is a bare user@domain, the only form that
// can go both into an envelope and, unchanged, into a header field.
func plainAddress(s string) bool {
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address == s && !strings.ContainsAny(s, "<> \t\r\n")
}

func (c Config) rate() int {
	if c.RatePerHour == 0 {
		return defaultRatePerHour
	}
	return c.RatePerHour
}

// Deps are what the notifier works with.
type Deps struct {
	Spool    *spool.Spool
	Emit     telemetry.Emitter
	Hostname string           // the gateway's SMTP name
	Shipped  fs.FS            // the shipped templates: configs.NotifyTemplates()
	Now      func() time.Time // nil is time.Now
}

// Notifier queues notifications. It is safe for concurrent use.
type Notifier struct {
	d     Deps
	cur   atomic.Pointer[setup]
	limit *limiter
}

// setup is what Reload replaces as a whole, so that a notification is
// rendered with one configuration and its templates, never a mix.
type setup struct {
	cfg   Config
	from  string
	tmpls templates
}

// New loads the templates cfg names, renders each with sample data as
// Check does, and returns a notifier; errors read "<file>:<line>: <what>".
func New(cfg Config, d Deps) (*Notifier, error) {
	if d.Spool == nil || d.Emit == nil || d.Shipped == nil {
		return nil, errors.New("notify: spool, emitter and shipped templates are required")
	}
	if d.Hostname == "" {
		return nil, errors.New("notify: the gateway's hostname is required")
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	n := &Notifier{d: d, limit: newLimiter()}
	if err := n.Reload(cfg); err != nil {
		return nil, err
	}
	return n, nil
}

// Reload switches to cfg and its templates. On error the notifier keeps
// what it had. The rate limits carry over: a reload is no way around them.
func (n *Notifier) Reload(cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	t, err := loadTemplates(cfg.Templates, n.d.Shipped)
	if err != nil {
		return err
	}
	from := cfg.From
	if from == "" {
		from = "postmaster@" + n.d.Hostname
	}
	n.cur.Store(&setup{cfg: cfg, from: from, tmpls: t})
	return nil
}

// Notify queues, for each kind in o.Notify, one notification about m.
// copyID is the queue ID of the copy o concerns ("" when that is m itself).
// Failures are reported as events; the message's own path never sees them.
func (n *Notifier) Notify(m *pipeline.Message, o pipeline.Outcome, copyID string) {
	s := n.cur.Load()
	parent := copyID
	if parent == "" {
		parent = m.ID
	}
	data := newData(m, o, parent, n.d.Hostname)
	done := map[string]bool{}
	for _, kind := range o.Notify {
		if done[kind] {
			continue
		}
		done[kind] = true
		var to []string
		switch kind {
		case pipeline.NotifySender:
			if reason := senderSuppressed(m); reason != "" {
				n.suppressed(kind, parent, m.Envelope.From, reason)
				continue
			}
			to = []string{m.Envelope.From}
		case pipeline.NotifyRecipients:
			to = uniqueAddrs(o.Recipients)
		case pipeline.NotifyAdmin:
			if s.cfg.Admin == "" {
				continue
			}
			to = []string{s.cfg.Admin}
		default:
			continue // the policy's validation keeps other kinds out
		}
		to = n.withinRate(s, kind, parent, to)
		if len(to) == 0 {
			continue
		}
		n.send(s, kind, parent, data, to)
	}
}

// withinRate keeps the addresses that may get one more notification now
// and reports the others.
func (n *Notifier) withinRate(s *setup, kind, parent string, to []string) []string {
	now := n.d.Now()
	var kept []string
	for _, addr := range to {
		if n.limit.allow(addr, s.cfg.rate(), now) {
			kept = append(kept, addr)
		} else {
			n.suppressed(kind, parent, addr, telemetry.ReasonRateLimited)
		}
	}
	return kept
}

func (n *Notifier) suppressed(kind, parent, addr string, reason telemetry.Reason) {
	n.d.Emit.Emit(telemetry.Event{Type: telemetry.NotificationSuppressed, Parent: parent, Category: kind,
		Recipient: addr, Recipients: 1, Reason: reason})
}

// send renders and queues one notification.
func (n *Notifier) send(s *setup, kind, parent string, data *Data, to []string) {
	now := n.d.Now()
	id := n.d.Spool.NewID()
	msg := compose(s, kind, id, parent, data, to, now)
	if err := n.queue(id, msg, parent, to, now); err != nil {
		n.d.Emit.Emit(telemetry.Event{Type: telemetry.NotificationSuppressed, Parent: parent, Category: kind,
			Recipient: strings.Join(to, ","), Recipients: len(to), Reason: telemetry.ReasonSpoolError, Err: err.Error()})
		return
	}
	n.d.Emit.Emit(telemetry.Event{Type: telemetry.NotificationSent, QueueID: id, Parent: parent, Category: kind,
		Recipient: strings.Join(to, ","), Recipients: len(to), Size: int64(len(msg.content)), Subject: msg.subject,
		Text: msg.note})
}

// queue writes a rendered notification into the spool. The null sender
// makes sure a notification that cannot be delivered bounces nowhere.
func (n *Notifier) queue(id string, msg *rendered, parent string, to []string, now time.Time) error {
	draft, err := n.d.Spool.NewDraft(id, len(to))
	if err != nil {
		return fmt.Errorf("queue notification: %w", err)
	}
	if _, err := draft.Write(msg.content); err != nil {
		draft.Abort()
		return fmt.Errorf("queue notification: %w", err)
	}
	env := pipeline.Envelope{From: ""}
	for _, a := range to {
		env.Recipients = append(env.Recipients, pipeline.Recipient{Addr: a})
		if !isASCII(a) {
			env.SMTPUTF8 = true
		}
	}
	meta := pipeline.Meta{ID: id, Kind: pipeline.KindNotification, Parent: parent, Received: now, Envelope: env,
		EightBit: msg.eightBit, Subject: msg.subject, MessageID: msg.messageID}
	if err := draft.Commit(&meta); err != nil {
		return fmt.Errorf("queue notification: %w", err)
	}
	return nil
}

// senderSuppressed says why the sender of m must not be answered, or "".
// Automatic and bulk mail gets no automatic reply (RFC 3834 2, 5): the
// reply would go to a robot or a list, or start a loop.
func senderSuppressed(m *pipeline.Message) telemetry.Reason {
	if m.Envelope.From == "" {
		return telemetry.ReasonNullSender
	}
	if m.Kind != pipeline.KindMail {
		return telemetry.ReasonAutoSubmitted
	}
	if v := m.Header.Get("Auto-Submitted"); v != "" {
		kw, _, _ := strings.Cut(v, ";")
		if !strings.EqualFold(strings.TrimSpace(kw), "no") {
			return telemetry.ReasonAutoSubmitted
		}
	}
	if m.Header.Has("List-Id") {
		return telemetry.ReasonAutoSubmitted
	}
	switch strings.ToLower(strings.TrimSpace(m.Header.Get("Precedence"))) {
	case "bulk", "list", "junk":
		return telemetry.ReasonAutoSubmitted
	}
	return ""
}

// uniqueAddrs is the recipients' addresses, each once whatever its case.
func uniqueAddrs(rs []pipeline.Recipient) []string {
	seen := make(map[string]bool, len(rs))
	var out []string
	for _, r := range rs {
		k := strings.ToLower(r.Addr)
		if r.Addr == "" || seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, r.Addr)
	}
	return out
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
