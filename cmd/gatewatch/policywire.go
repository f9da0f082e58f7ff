package main

import (
	"bytes"
	"fmt"
	"io"
	"net/mail"
	"os"
	"strings"
	"time"

	"github.com/gatewatch/gatewatch/configs"
	"github.com/gatewatch/gatewatch/pipeline"
	"github.com/gatewatch/gatewatch/pipeline/notify"
	"github.com/gatewatch/gatewatch/pipeline/policy"
	"github.com/gatewatch/gatewatch/pipeline/smtpin"
	"github.com/gatewatch/gatewatch/pipeline/spool"
	"github.com/gatewatch/gatewatch/pipeline/store"
	"github.com/gatewatch/gatewatch/telemetry"
)

// policySide is the decision side: the policy in force, the store for
// quarantine and archives, and the notifier.
type policySide struct {
	engine   *policy.Engine
	store    *store.Store
	notifier *notify.Notifier
	spool    *spool.Spool
}

func openPolicySide(cfg *Config, sp *spool.Spool, bus *telemetry.Bus) (*policySide, error) {
	engine, err := policy.New(cfg.Policy)
	if err != nil {
		return nil, err
	}
	st, err := store.Open(cfg.Store, bus, bus.Stats())
	if err != nil {
		return nil, err
	}
	n, err := notify.New(cfg.Notify, notify.Deps{Spool: sp, Emit: bus, Hostname: cfg.SMTP.Hostname, Shipped: configs.NotifyTemplates()})
	if err != nil {
		return nil, fmt.Errorf("notify.templates: %w", err)
	}
	return &policySide{engine: engine, store: st, notifier: n, spool: sp}, nil
}

// reload puts the new policy, retention and templates in force; on error
// the old ones stay.
func (p *policySide) reload(cfg *Config) error {
	if cfg.Store.Dir != p.storeDir() {
		return fmt.Errorf("store.dir cannot change on reload (restart to move the store)")
	}
	if err := p.notifier.Reload(cfg.Notify); err != nil {
		return fmt.Errorf("notify.templates: %w", err)
	}
	if err := p.engine.Reload(cfg.Policy); err != nil {
		return err
	}
	p.store.Reload(cfg.Store)
	return nil
}

func (p *policySide) storeDir() string { return p.store.Dir() }

// aftercare is what the receiver calls to carry out decisions.
func (p *policySide) aftercare(bounce func(m *pipeline.Message, rcpts []pipeline.Recipient, reply pipeline.Reply) error) smtpin.Aftercare {
	return smtpin.Aftercare{
		Quarantine: func(m *pipeline.Message, o pipeline.Outcome, id string) error {
			e := store.EntryOf(m, o.Recipients)
			e.ID, e.Box, e.Category, e.Status, e.Group = id, store.Quarantine, pipeline.CategoryOf(o.Status), o.Status, o.Group
			// With the stages' fields on top, so an operator sees why.
			return p.store.Put(e, io.MultiReader(bytes.NewReader(pipeline.HeaderBlock(m.Headers)), m.Reader()))
		},
		Withdraw: func(id string) { _, _ = p.store.Delete(id, "the gateway: the message was deferred") },
		ArchiveReceived: func(m *pipeline.Message) {
			if received, _ := p.store.Archives(); received {
				e := store.EntryOf(m, m.Envelope.Recipients)
				e.ID, e.Box, e.Parent = m.ID, store.Received, ""
				_ = p.store.Put(e, m.Reader()) // a failure is reported by the store; the mail goes on
			}
		},
		Bounce: bounce,
		Notify: p.notifier.Notify,
	}
}

// archiveSent keeps a delivered message in the sent archive when enabled.
func (p *policySide) archiveSent(meta pipeline.Meta, content io.Reader) {
	if _, sent := p.store.Archives(); !sent {
		return
	}
	e := store.Entry{ID: meta.ID, Box: store.Sent, Received: meta.Received, Parent: meta.Parent, ClientIP: meta.Client.IP,
		Helo: meta.Client.Helo, From: meta.Envelope.From, Subject: meta.Subject, MessageID: meta.MessageID,
		Reasons: pipeline.VerdictSummary(meta.Verdicts)}
	for _, r := range meta.Envelope.Recipients {
		e.Recipients = append(e.Recipients, r.Addr)
	}
	_ = p.store.Put(e, content)
}

// injectInto queues a released message in sp as it was stored, without
// scanning it again; its parent is the quarantine ID.
func injectInto(sp *spool.Spool) store.Inject {
	return func(e store.Entry, rcpts []string, content io.Reader) (string, error) {
		id := sp.NewID()
		d, err := sp.NewDraft(id, len(rcpts))
		if err != nil {
			return "", err
		}
		if _, err := io.Copy(d, content); err != nil {
			d.Abort()
			return "", fmt.Errorf("copy into the spool: %w", err)
		}
		meta := pipeline.Meta{Kind: pipeline.KindMail, Parent: e.ID, Received: time.Now(), Subject: e.Subject,
			MessageID: e.MessageID, Client: pipeline.Client{IP: e.ClientIP, Helo: e.Helo},
			Envelope: pipeline.Envelope{From: e.From}}
		for _, r := range rcpts {
			meta.Envelope.Recipients = append(meta.Envelope.Recipients, pipeline.Recipient{Addr: r})
		}
		if err := d.Commit(&meta); err != nil {
			return "", err
		}
		return id, nil
	}
}

// checkAddresses refuses anything but plain addresses for --to.
func checkAddresses(list []string) error {
	for _, a := range list {
		if _, err := mail.ParseAddress(a); err != nil || strings.ContainsAny(a, "<> ") {
			return fmt.Errorf("%q is not a plain address (user@domain)", a)
		}
	}
	return nil
}

// releasedBy names who asked, for the audit trail in the events.
func releasedBy(via string) string {
	u := os.Getenv("SUDO_USER")
	if u == "" {
		u = os.Getenv("USER")
	}
	if u == "" {
		return via
	}
	return u + " via " + via
}
