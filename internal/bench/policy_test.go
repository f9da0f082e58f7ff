package bench

import (
	"fmt"
	"os"
	"slices"
	"testing"

	"github.com/gatewatch/gatewatch/pipeline"
	"github.com/gatewatch/gatewatch/pipeline/policy"
)

// BenchmarkPolicyCost relays in process with the telemetry spine under
// three policies, rotating their order for five rounds, and compares the
// process CPU time per message with the bare policy (every stage's
// suggestion taken as is): the policy engine with the default
// configuration (the message is queued as received), and a policy that
// marks every message's subject and adds a header (each message rendered
// into a copy with its own ID).
func BenchmarkPolicyCost(b *testing.B) {
	const rounds = 5
	deliverAll := func(a policy.Action) policy.Config {
		all := map[string]policy.Action{}
		for _, st := range pipeline.Statuses() {
			all[st] = a
		}
		return policy.Config{Default: policy.Settings{Actions: all}}
	}
	engine := func(cfg policy.Config) pipeline.Policy {
		e, err := policy.New(cfg)
		if err != nil {
			b.Fatal(err)
		}
		return e
	}
	variants := []struct {
		name   string
		policy pipeline.Policy
	}{
		{"strict", pipeline.StrictPolicy{}},
		{"engine", engine(deliverAll(policy.Action{Do: "deliver"}))},
		{"marking", engine(deliverAll(policy.Action{Do: "deliver", MarkSubject: "[checked]", Headers: map[string]string{"X-Checked": "yes"}}))},
	}
	cpu := make([][]float64, len(variants))
	for r := 0; r < rounds; r++ {
		for k := range variants {
			i := (k + r) % len(variants) // no variant always runs first
			v := variants[i]
			b.Run(fmt.Sprintf("round=%d/policy=%s", r, v.name), func(b *testing.B) {
				if c := relayWithPolicy(b, spine, v.policy); b.N > 1 {
					cpu[i] = append(cpu[i], c)
				}
			})
		}
	}
	if len(cpu[0]) != rounds {
		return
	}
	med := make([]float64, len(variants))
	for i := range variants {
		if len(cpu[i]) != rounds {
			return
		}
		slices.Sort(cpu[i])
		med[i] = cpu[i][rounds/2]
	}
	b.ReportMetric(100*(med[1]/med[0]-1), "engine_cpu_%")
	b.ReportMetric(100*(med[2]/med[0]-1), "marking_cpu_%")
	fmt.Fprintf(os.Stderr, "\npolicy (median of %d rounds, µs CPU/message): strict %.1f, engine %.1f (%+.1f%%), marking %.1f (%+.1f%%)\n\n",
		rounds, med[0]/1e3, med[1]/1e3, 100*(med[1]/med[0]-1), med[2]/1e3, 100*(med[2]/med[0]-1))
}
