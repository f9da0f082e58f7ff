package pipeline

import (
	"context"
	"fmt"
	"time"

	"github.com/gatewatch/gatewatch/telemetry"
)

// Scanner runs the scan stages in order and asks the policy for a decision.
type Scanner struct {
	stages []Stage
	policy Policy
	emit   telemetry.Emitter
}

// NewScanner creates a scanner over stages (run in the given order).
func NewScanner(emit telemetry.Emitter, policy Policy, stages ...Stage) *Scanner {
	return &Scanner{stages: stages, policy: policy, emit: emit}
}

// Scan runs every stage on m, records their verdicts on m and returns the
// policy's decision.
func (s *Scanner) Scan(ctx context.Context, m *Message) Decision {
	var errs []error
	for _, st := range s.stages {
		if !s.policy.Runs(m, st.Name()) {
			continue
		}
		start := time.Now()
		v, err := st.Scan(ctx, m)
		v.Stage = st.Name()
		ev := telemetry.Event{Type: telemetry.ScanStageDone, QueueID: m.ID, Stage: v.Stage,
			Duration: time.Since(start), Text: v.Status}
		if err != nil {
			v.Status = "error"
			v.Suggest = ActionTempFail
			ev.Text = v.Status
			ev.Err = err.Error()
			errs = append(errs, fmt.Errorf("stage %s: %w", v.Stage, err))
		}
		m.Headers = append(m.Headers, v.Headers...)
		v.Headers = nil
		m.Verdicts = append(m.Verdicts, v)
		s.emit.Emit(ev)
	}
	return s.policy.Decide(m, errs)
}

// Runs implements Policy: every stage runs.
func (StrictPolicy) Runs(*Message, string) bool { return true }

// StrictPolicy follows the stages' suggestions, the most severe winning:
// reject over tempfail over discard over accept. A stage error is a
// temporary failure (the client retries), never a silent acceptance.
type StrictPolicy struct{}

// Decide implements Policy.
func (StrictPolicy) Decide(m *Message, stageErrs []error) Decision {
	worst := ActionAccept
	if len(stageErrs) > 0 {
		worst = ActionTempFail // whatever the verdicts say, a stage did not decide
	}
	var by Verdict
	for _, v := range m.Verdicts {
		if severity(v.Suggest) > severity(worst) {
			worst, by = v.Suggest, v
		}
	}
	switch worst {
	case ActionReject:
		return Decision{Action: ActionReject, Reply: Reply{554, [3]int{5, 7, 1}, fmt.Sprintf("Message refused: %s %s", by.Stage, by.Status)}}
	case ActionTempFail:
		text := "Temporary failure while scanning the message, try again later"
		if len(stageErrs) == 0 {
			text = fmt.Sprintf("Message deferred: %s %s, try again later", by.Stage, by.Status)
		}
		return Decision{Action: ActionTempFail, Reply: Reply{451, [3]int{4, 7, 1}, text}}
	}
	return Decision{Action: worst}
}

func severity(a Action) int {
	switch a {
	case ActionReject:
		return 3
	case ActionTempFail:
		return 2
	case ActionDiscard:
		return 1
	}
	return 0
}
