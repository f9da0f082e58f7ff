package cgp

import (
	"context"
	"fmt"
)

// Action is what CGP should do with one message.
type Action int

const (
	// ActionOK lets the message through, with Verdict.AddHeaders added.
	// It is the zero value, as it is for the gateway's own pipeline.Action.
	ActionOK Action = iota
	// ActionDiscard makes CGP drop the message without a bounce.
	ActionDiscard
	// ActionReject makes CGP refuse the message with Verdict.Text.
	ActionReject
	// ActionError reports that the message could not be judged.
	ActionError
)

func (a Action) String() string {
	switch a {
	case ActionOK:
		return "ok"
	case ActionDiscard:
		return "discard"
	case ActionReject:
		return "reject"
	case ActionError:
		return "error"
	}
	return fmt.Sprintf("action(%d)", int(a))
}

// Verdict is what the gateway decided for one message.
type Verdict struct {
	Action     Action   // ActionOK, ActionDiscard, ActionReject, ActionError
	Text       string   // for Reject and Error: the reason CGP shows / logs
	AddHeaders []string // "Name: value" fields to add (sent with ADDHEADER before OK)
}

// Judge scans one message. raw is the RFC 5322 message without CGP's
// envelope lines. Serve calls Judge from several goroutines at once.
type Judge interface {
	Judge(ctx context.Context, env Envelope, raw []byte) (Verdict, error)
}
