package agentx

import (
	"context"

	"github.com/posteo/go-agentx/pdu"

	"github.com/gatewatch/gatewatch/telemetry/mib"
)

// Notify sends a notification through the master (RFC 2741 §6.2.10): the
// varbinds are snmpTrapOID.0 = trapOID, then vbs; the master adds
// sysUpTime.0 and sends it to its trap and inform sinks. It returns once
// the master has answered, with an error if there is no registered
// session, no answer within the timeout or ctx, or the answer is an error.
func (s *Subagent) Notify(ctx context.Context, trapOID mib.OID, vbs []mib.Varbind) error {
	c := s.cur.Load()
	if c == nil {
		return ErrNotConnected
	}
	out := make([]outVarbind, 0, len(vbs)+1)
	out = append(out, outVarbind{
		name: mib.SnmpTrapOID(),
		typ:  pdu.VariableTypeObjectIdentifier,
		val:  mib.Value{Syntax: mib.ObjectIdentifier, OID: trapOID},
	})
	for _, vb := range vbs {
		out = append(out, valueVarbind(vb))
	}
	_, err := c.request(ctx, &notifyPacket{vbs: out})
	return err
}
