package pipeline

import (
	"context"
	"fmt"
)

// Action is what should happen to a message.
type Action uint8

const (
	ActionAccept     Action = iota // spool and deliver
	ActionReject                   // 5xx at end of DATA
	ActionTempFail                 // 4xx at end of DATA: the client retries
	ActionDiscard                  // accept and drop (counted)
	ActionQuarantine               // accept and keep in quarantine instead of delivering
)

func (a Action) String() string {
	switch a {
	case ActionAccept:
		return "accept"
	case ActionReject:
		return "reject"
	case ActionTempFail:
		return "tempfail"
	case ActionDiscard:
		return "discard"
	case ActionQuarantine:
		return "quarantine"
	}
	return fmt.Sprintf("action(%d)", uint8(a))
}

// MarshalText writes the action's name, for the spool and the logs.
func (a Action) MarshalText() ([]byte, error) {
	if a > ActionQuarantine {
		return nil, fmt.Errorf("unknown action %d", uint8(a))
	}
	return []byte(a.String()), nil
}

// UnmarshalText reads an action's name.
func (a *Action) UnmarshalText(b []byte) error {
	for _, c := range []Action{ActionAccept, ActionReject, ActionTempFail, ActionDiscard, ActionQuarantine} {
		if c.String() == string(b) {
			*a = c
			return nil
		}
	}
	return fmt.Errorf("unknown action %q", b)
}

// Verdict is one stage's finding about a message.
type Verdict struct {
	Stage  string  `json:"stage"`
	Status string  `json:"status"`           // e.g. clean, spam, virus, banned, error
	Score  float64 `json:"score,omitempty"`  // stage-specific score
	Detail string  `json:"detail,omitempty"` // e.g. the signature name
	// Suggest is what the stage would do on its own; the policy decides.
	Suggest Action `json:"suggest"`
	// Parts are the MIME parts the finding is about ("2", "2.1": 1-based
	// positions in the multipart tree), for a policy that removes them.
	Parts []string `json:"parts,omitempty"`
	// Headers are fields the stage wants on top of the message whatever
	// the policy does with it (the scanner moves them to Meta.Headers).
	Headers []HeaderField `json:"-"`
}

// Stage is one content check run at end of DATA, before the message is
// spooled. A stage that cannot decide returns an error; the message then
// gets a temporary failure unless the policy says otherwise.
type Stage interface {
	Name() string
	Scan(ctx context.Context, m *Message) (Verdict, error)
}

// Reply is an SMTP reply: code, enhanced status code (RFC 3463) and text.
type Reply struct {
	Code     int
	Enhanced [3]int
	Text     string
}

func (r Reply) String() string {
	return fmt.Sprintf("%d %d.%d.%d %s", r.Code, r.Enhanced[0], r.Enhanced[1], r.Enhanced[2], r.Text)
}

// Status is the enhanced code as text, e.g. "5.7.1".
func (r Reply) Status() string {
	return fmt.Sprintf("%d.%d.%d", r.Enhanced[0], r.Enhanced[1], r.Enhanced[2])
}

// Decision is the policy's answer for a scanned message.
type Decision struct {
	Action Action
	Reply  Reply // the reply to give when the action refuses the message
	// Outcomes split the recipients by what happens to their copy. Empty:
	// Action applies to every recipient and the content stays as it is.
	Outcomes []Outcome
}

// Policy decides which stages run on a message and, from their verdicts,
// what happens to it.
type Policy interface {
	// Runs reports whether stage must scan m for at least one recipient.
	Runs(m *Message, stage string) bool
	Decide(m *Message, stageErrs []error) Decision
}
