package spool

import (
	"testing"
)

// commitOne spools one message; it reports failures with b.Error so it may
// run on RunParallel goroutines.
func commitOne(b *testing.B, sp *Spool, content []byte) bool {
	d, err := sp.NewDraft(sp.NewID(), 1)
	if err != nil {
		b.Error(err)
		return false
	}
	if _, err := d.Write(content); err != nil {
		d.Abort()
		b.Error(err)
		return false
	}
	if err := d.Commit(sampleMeta(1)); err != nil {
		b.Error(err)
		return false
	}
	return true
}

func reportCommit(b *testing.B, sp *Spool, fsyncsBefore uint64) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	b.ReportMetric(float64(sp.syncer.fsyncs()-fsyncsBefore)/float64(b.N), "dirfsyncs/msg")
}

// BenchmarkCommit measures Draft+Commit of a 5 KiB message from many
// goroutines at once: the directory fsyncs are shared (group commit).
func BenchmarkCommit(b *testing.B) {
	e := newEnv(b)
	content := testContent(5 << 10)
	b.SetBytes(int64(len(content)))
	b.SetParallelism(8) // 8 × GOMAXPROCS concurrent receptions
	before := e.sp.syncer.fsyncs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if !commitOne(b, e.sp, content) {
				return
			}
		}
	})
	b.StopTimer()
	reportCommit(b, e.sp, before)
}

// BenchmarkCommitSerial is one reception at a time: every Commit pays its
// own file fsync and directory fsync.
func BenchmarkCommitSerial(b *testing.B) {
	e := newEnv(b)
	content := testContent(5 << 10)
	b.SetBytes(int64(len(content)))
	before := e.sp.syncer.fsyncs()
	b.ResetTimer()
	for range b.N {
		if !commitOne(b, e.sp, content) {
			return
		}
	}
	b.StopTimer()
	reportCommit(b, e.sp, before)
}
