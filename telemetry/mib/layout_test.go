package mib

import (
	"testing"

	"github.com/gatewatch/gatewatch/telemetry"
)

// TestEveryTableIsInTheMIB: a family that names a table must find it in
// the layout, or its figures would be missing from the MIB unnoticed.
func TestEveryTableIsInTheMIB(t *testing.T) {
	for _, d := range telemetry.NewStats().Descs() {
		if d.Label == "" {
			continue
		}
		if _, ok := tableByKey(d.Table); !ok {
			t.Errorf("%s names table %q, which the MIB layout does not have", d.Name, d.Table)
		}
	}
}
