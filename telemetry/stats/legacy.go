package stats

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"time"
)

// WriteText writes the snapshot as name=value lines: first the replaced
// product's statistic names where a figure has one (mta_*, time_*), then
// every figure under its own name, family members as name{label="value"}.
// A value never contains "=", so readers split each line at its last "=".
func (snap Snapshot) WriteText(w io.Writer, started time.Time) error {
	bw := bufio.NewWriter(w)
	line := func(name string, v any) { fmt.Fprintf(bw, "%s=%v\n", name, v) }

	line("time_initialized", started.Unix())
	line("time_initialized_iso", started.UTC().Format(time.RFC3339))
	sums := map[string]uint64{}
	var order []string
	for _, smp := range snap.Samples {
		d := smp.Desc
		if d.Legacy != "" && d.Legacy != "time_initialized" {
			if _, seen := sums[d.Legacy]; !seen {
				order = append(order, d.Legacy)
			}
			sums[d.Legacy] += smp.Value
		}
		if smp.Label != "" && d.LegacyEach != "" {
			line(fmt.Sprintf(d.LegacyEach, smp.Label), smp.Value)
		}
	}
	for _, name := range order {
		line(name, sums[name])
	}
	for _, smp := range snap.Samples {
		if smp.Label == "" {
			line(smp.Desc.Name, smp.Value)
			continue
		}
		line(fmt.Sprintf("%s{%s=%s}", smp.Desc.Name, smp.Desc.Label, strconv.Quote(smp.Label)), smp.Value)
	}
	for _, h := range snap.Histograms {
		suffix := ""
		if h.Label != "" {
			suffix = fmt.Sprintf("{%s=%s}", h.Desc.Label, strconv.Quote(h.Label))
		}
		line(h.Desc.Name+"_count"+suffix, h.Value.Count)
		line(h.Desc.Name+"_sum"+suffix, strconv.FormatFloat(h.Value.Sum, 'f', 6, 64))
	}
	return bw.Flush()
}
