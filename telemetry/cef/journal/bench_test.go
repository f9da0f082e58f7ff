package journal

import (
	"bytes"
	"testing"
)

// BenchmarkAppend measures the channel writer's path: batches of 64 records
// of about 300 bytes (a CEF line), with the default bound, segment size and
// periodic sync, and a cursor that never catches up so that rotation and
// the bound's deletions are part of the steady state.
func BenchmarkAppend(b *testing.B) {
	const batch = 64
	j := openT(b, Options{Dir: b.TempDir()}, "siem")
	recs := make([][]byte, batch)
	for i := range recs {
		recs[i] = bytes.Repeat([]byte{'a' + byte(i%26)}, 300)
	}
	b.SetBytes(batch * 300)
	b.ResetTimer()
	for b.Loop() {
		if _, err := j.Append(recs...); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "records/s")
}
