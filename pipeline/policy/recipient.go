package policy

import "github.com/gatewatch/gatewatch/pipeline"

// AtRecipient is what the lists decide for one recipient before any
// content is seen: a blacklisted client, sender or recipient whose group
// refuses or defers blacklisted mail gets that reply now, at RCPT, where
// an MTA in front of us (milter mode) can refuse just this recipient.
// refuse is false when the content has to be seen first.
func (e *Engine) AtRecipient(clientIP, sender, rcpt string) (t pipeline.Treatment, refuse bool) {
	c := e.cur.Load()
	m := &pipeline.Message{Meta: pipeline.Meta{Client: pipeline.Client{IP: clientIP}, Envelope: pipeline.Envelope{From: sender}}}
	if c.listStatus(m, rcpt) != pipeline.StatusBlacklisted {
		return pipeline.Treatment{}, false
	}
	t = c.groupOf(sender, rcpt).treatments[pipeline.StatusBlacklisted]
	return t, t.Action == pipeline.ActionReject || t.Action == pipeline.ActionTempFail
}
