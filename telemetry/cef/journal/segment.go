package journal

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

const (
	headerLen = 8
	// maxRecordLen keeps every length representable in an int on 32-bit
	// platforms as well as in the 4-byte length field.
	maxRecordLen = math.MaxInt32 - headerLen
	// indexStride is how many records lie between two remembered offsets:
	// enough to find any record with a handful of small reads, without an
	// entry per record in memory.
	indexStride = 32
	// maxSeq bounds sequence numbers read from disk, so that base+count
	// arithmetic on damaged or hostile values cannot overflow.
	maxSeq    = 1 << 62
	segSuffix = ".seg"
	segDigits = 20
)

// castagnoli is the CRC-32C table; it is never written after initialisation.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func checksum(b []byte) uint32 { return crc32.Checksum(b, castagnoli) }

// segment is one segment file. base, path and f never change after
// creation; the other fields are guarded by Journal.mu.
type segment struct {
	base  uint64 // sequence number of the first record
	path  string
	f     *os.File
	ord   uint64  // records stored in the journal before this segment
	at    int64   // bytes stored in the journal before this segment
	count uint64  // records in this segment
	size  int64   // bytes in this segment
	index []int64 // index[k] is the offset of record k*indexStride
	refs  int     // readers using f outside the lock
	gone  bool    // no longer part of the journal; f closes with the last ref
}

func (s *segment) end() uint64 { return s.base + s.count }

// start is the position of the segment's first record.
func (s *segment) start() pos { return pos{ord: s.ord, at: s.at} }

// stop is the position just after the segment's last record.
func (s *segment) stop() pos { return pos{ord: s.ord + s.count, at: s.at + s.size} }

// retire takes the segment out of the journal; the caller holds Journal.mu.
// A reader still using the descriptor closes it in release.
func (s *segment) retire() {
	s.gone = true
	if s.refs == 0 {
		_ = s.f.Close() // read-only from here on, and the file is being deleted
	}
}

// release ends a use of f begun with refs++; the caller holds Journal.mu.
func (s *segment) release() {
	s.refs--
	if s.gone && s.refs == 0 {
		_ = s.f.Close()
	}
}

func segName(base uint64) string { return fmt.Sprintf("%0*d%s", segDigits, base, segSuffix) }

func parseSegName(name string) (uint64, bool) {
	digits, ok := strings.CutSuffix(name, segSuffix)
	if !ok || len(digits) != segDigits {
		return 0, false
	}
	for _, r := range digits {
		if r < '0' || r > '9' {
			return 0, false
		}
	}
	base, err := strconv.ParseUint(digits, 10, 64)
	if err != nil || base < 1 || base > maxSeq {
		return 0, false
	}
	return base, true
}

func createSegment(dir string, base uint64) (*segment, error) {
	path := filepath.Join(dir, segName(base))
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return nil, fmt.Errorf("journal: create segment: %w", err)
	}
	return &segment{base: base, path: path, f: f}, nil
}

func appendRecord(buf, data []byte) []byte {
	var h [headerLen]byte
	binary.LittleEndian.PutUint32(h[0:4], uint32(len(data)))
	binary.LittleEndian.PutUint32(h[4:8], checksum(data))
	return append(append(buf, h[:]...), data...)
}

// CorruptError describes a damaged record or cursor file: the file and the
// byte offset where the damage starts.
type CorruptError struct {
	File   string
	Offset int64
	Reason string
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("journal: %s at offset %d: %s", e.File, e.Offset, e.Reason)
}

// scanResult is what a segment file holds up to its first bad record.
type scanResult struct {
	count  uint64
	size   int64 // bytes of intact records: where the file is to be cut
	index  []int64
	reason string // why the scan stopped before the end of the file
}

// scanSegment checks the records of a segment file from the start. It stops
// at the first bad record or after limit records (the next segment's base
// says how many this one may hold). Only I/O failures are errors.
func scanSegment(f *os.File, fileSize int64, limit uint64) (scanResult, error) {
	r := bufio.NewReaderSize(io.NewSectionReader(f, 0, fileSize), 256<<10)
	var (
		res  scanResult
		h    [headerLen]byte
		data []byte
	)
	for res.size < fileSize {
		if res.count == limit {
			res.reason = "records overlap the next segment"
			break
		}
		left := fileSize - res.size
		if left < headerLen {
			res.reason = "torn record header"
			break
		}
		if _, err := io.ReadFull(r, h[:]); err != nil {
			return res, fmt.Errorf("journal: read %s at offset %d: %w", f.Name(), res.size, err)
		}
		n := int64(binary.LittleEndian.Uint32(h[0:4]))
		switch {
		case n == 0:
			res.reason = "zero record length"
		case n > maxRecordLen:
			res.reason = fmt.Sprintf("record length %d out of range", n)
		case n > left-headerLen:
			res.reason = fmt.Sprintf("record of %d bytes runs past the end of the file", n)
		}
		if res.reason != "" {
			break
		}
		if int64(cap(data)) < n {
			data = make([]byte, n)
		}
		data = data[:n]
		if _, err := io.ReadFull(r, data); err != nil {
			return res, fmt.Errorf("journal: read %s at offset %d: %w", f.Name(), res.size+headerLen, err)
		}
		if checksum(data) != binary.LittleEndian.Uint32(h[4:8]) {
			res.reason = "checksum mismatch"
			break
		}
		if res.count%indexStride == 0 {
			res.index = append(res.index, res.size)
		}
		res.count++
		res.size += headerLen + n
	}
	return res, nil
}

// skip returns the offset n records after the record at off; limit is the
// segment size. It reads only headers: the records were checked when they
// were written or opened.
func (s *segment) skip(off int64, n uint64, limit int64) (int64, error) {
	var h [headerLen]byte
	for ; n > 0; n-- {
		if off+headerLen > limit {
			return 0, &CorruptError{File: s.path, Offset: off, Reason: "record index past the end of the segment"}
		}
		if _, err := s.f.ReadAt(h[:], off); err != nil {
			return 0, fmt.Errorf("journal: read %s at offset %d: %w", s.path, off, err)
		}
		off += headerLen + int64(binary.LittleEndian.Uint32(h[0:4]))
	}
	if off > limit {
		return 0, &CorruptError{File: s.path, Offset: off, Reason: "record index past the end of the segment"}
	}
	return off, nil
}

// read returns records from offset off, of which avail bytes are published,
// the first having sequence number seq: at most maxRecs records and maxBytes of
// data, but at least one record. It also returns the bytes consumed. Each
// call reads into a fresh buffer, so the records stay valid whatever happens
// to the file later.
func (s *segment) read(off, avail int64, seq uint64, maxRecs, maxBytes int) ([]Record, int64, error) {
	want := avail
	if int64(maxBytes) < avail && int64(maxRecs) < avail/headerLen {
		want = min(avail, int64(maxBytes)+headerLen*int64(maxRecs))
	}
	want = max(want, min(avail, headerLen))
	buf := make([]byte, want)
	if _, err := s.f.ReadAt(buf, off); err != nil {
		return nil, 0, fmt.Errorf("journal: read %s at offset %d: %w", s.path, off, err)
	}
	recs := make([]Record, 0, min(maxRecs, 64))
	var (
		p       int64
		data    int
		reread  bool
		bufSize = int64(len(buf))
	)
	for len(recs) < maxRecs && p+headerLen <= bufSize {
		n := int64(binary.LittleEndian.Uint32(buf[p : p+4]))
		if n == 0 || n > avail-p-headerLen {
			return nil, 0, &CorruptError{File: s.path, Offset: off + p, Reason: fmt.Sprintf("bad record length %d", n)}
		}
		if p+headerLen+n > bufSize {
			if len(recs) > 0 || reread {
				break
			}
			// The first record alone is larger than the read-ahead.
			buf = make([]byte, headerLen+n)
			if _, err := s.f.ReadAt(buf, off); err != nil {
				return nil, 0, fmt.Errorf("journal: read %s at offset %d: %w", s.path, off, err)
			}
			bufSize, reread = int64(len(buf)), true
			continue
		}
		if len(recs) > 0 && int64(data)+n > int64(maxBytes) {
			break
		}
		d := buf[p+headerLen : p+headerLen+n : p+headerLen+n]
		if checksum(d) != binary.LittleEndian.Uint32(buf[p+4:p+8]) {
			return nil, 0, &CorruptError{File: s.path, Offset: off + p, Reason: "checksum mismatch"}
		}
		recs = append(recs, Record{Seq: seq + uint64(len(recs)), Data: d})
		data += int(n)
		p += headerLen + n
	}
	if len(recs) == 0 {
		return nil, 0, &CorruptError{File: s.path, Offset: off, Reason: "record could not be read"}
	}
	return recs, p, nil
}
