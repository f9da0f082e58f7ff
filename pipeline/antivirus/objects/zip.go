package objects

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
)

type zipArchive struct {
	w     *walker
	files []*zip.File
}

// openZip reads the central directory. A directory announcing more
// entries than MaxObjects is refused before archive/zip allocates one
// record per entry.
func (w *walker) openZip(data []byte) (archive, Status, string) {
	if n, ok := zipEntries(data); ok && n > w.lim.MaxObjects {
		return nil, StatusSuspicious, fmt.Sprintf("zip of %d entries, more than MaxObjects (%d)", n, w.lim.MaxObjects)
	}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	// Unsafe member names are no danger here: nothing is written to disk.
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		return nil, StatusCorrupted, fmt.Sprintf("zip: %v", err)
	}
	return &zipArchive{w: w, files: zr.File}, StatusOK, ""
}

// zipEntries reads the entry count of the end of central directory
// record, if there is one and it is not a zip64 one.
func zipEntries(data []byte) (int, bool) {
	const eocdLen, maxComment = 22, 0xffff
	tail := data[max(0, len(data)-eocdLen-maxComment):]
	i := bytes.LastIndex(tail, []byte("PK\x05\x06"))
	if i < 0 || len(tail)-i < eocdLen {
		return 0, false
	}
	n := binary.LittleEndian.Uint16(tail[i+10:])
	return int(n), n != 0xffff
}

func (a *zipArchive) next() (member, error) {
	for len(a.files) > 0 {
		f := a.files[0]
		a.files = a.files[1:]
		if strings.HasSuffix(f.Name, "/") && f.UncompressedSize64 == 0 {
			continue
		}
		return a.member(f), nil
	}
	return member{}, io.EOF
}

func (a *zipArchive) member(f *zip.File) member {
	m := member{name: f.Name, format: "zip member", hint: int64(min(f.UncompressedSize64, 1<<62))}
	if f.Flags&1 != 0 {
		m.status, m.detail = StatusProtected, "encrypted zip member"
		return m
	}
	packed, unpacked := f.CompressedSize64, f.UncompressedSize64
	ratio := uint64(a.w.lim.MaxRatio)
	// The declared sizes already tell a bomb before a byte is inflated;
	// lies are caught by the cap on the reads.
	if unpacked > ratioFloor && unpacked/max(packed, 1) > ratio {
		m.status = StatusSuspicious
		m.detail = fmt.Sprintf("zip member declares %d bytes packed in %d, more than MaxRatio (%d)", unpacked, packed, ratio)
		return m
	}
	rc, err := f.Open()
	if err != nil {
		m.status, m.detail = StatusCorrupted, fmt.Sprintf("zip member: %v", err)
		return m
	}
	m.r = rc
	m.ratioCap = a.w.ratioCap(int64(min(packed, 1<<62)))
	return m
}
