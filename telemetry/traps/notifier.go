package traps

import (
	"context"
	"time"

	"github.com/gatewatch/gatewatch/telemetry/mib"
)

// Notifier sends a notification through another party, the AgentX master
// agent (snmpd), which forwards it to its own trap2sink/informsink/trapsess
// receivers. vbs are the notification's varbinds after sysUpTime.0 and
// snmpTrapOID.0; the Notifier supplies those two from trapOID. It must
// not modify vbs, which the direct receivers' workers read at the same time.
type Notifier interface {
	Notify(ctx context.Context, trapOID mib.OID, vbs []mib.Varbind) error
}

// NotifierTarget labels the Notifier in the per-target counters.
const NotifierTarget = "agentx"

// notifierTarget delivers through a Notifier with its own worker, so that a
// master agent that does not answer holds up neither Handle nor the direct
// receivers.
type notifierTarget struct {
	n       Notifier
	timeout time.Duration
	ctx     context.Context // cancelled by abort
	cancel  context.CancelFunc
}

func newNotifierTarget(n Notifier, timeout time.Duration) *notifierTarget {
	ctx, cancel := context.WithCancel(context.Background())
	return &notifierTarget{n: n, timeout: timeout, ctx: ctx, cancel: cancel}
}

func (t *notifierTarget) deliver(n *notification) error {
	ctx, cancel := context.WithTimeout(t.ctx, t.timeout)
	defer cancel()
	return t.n.Notify(ctx, n.oid, n.vbs)
}

func (t *notifierTarget) abort() { t.cancel() }
func (t *notifierTarget) close() { t.cancel() }
