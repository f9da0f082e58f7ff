package objects

import (
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"fmt"
	"io"
	"strings"
)

// single is a compressed stream: one member, the decompressed bytes.
type single struct {
	m    member
	done bool
}

func (s *single) next() (member, error) {
	if s.done {
		return member{}, io.EOF
	}
	s.done = true
	return s.m, nil
}

func (w *walker) openGzip(o *Object) (archive, Status, string) {
	zr, err := gzip.NewReader(bytes.NewReader(o.Data))
	if err != nil {
		return nil, StatusCorrupted, fmt.Sprintf("gzip: %v", err)
	}
	name := zr.Name
	if name == "" {
		name = innerName(o.Name, [][2]string{{".gz", ""}, {".gzip", ""}, {".tgz", ".tar"}, {".z", ""}})
	}
	return &single{m: member{name: name, format: "gzip", r: zr, ratioCap: w.ratioCap(int64(len(o.Data)))}}, StatusOK, ""
}

// openBzip2 cannot check anything up front: bzip2 reports a bad stream on
// the first read, which flags the member.
func (w *walker) openBzip2(o *Object) archive {
	name := innerName(o.Name, [][2]string{{".bz2", ""}, {".bz", ""}, {".tbz2", ".tar"}, {".tbz", ".tar"}})
	zr := bzip2.NewReader(bytes.NewReader(o.Data))
	return &single{m: member{name: name, format: "bzip2", r: zr, ratioCap: w.ratioCap(int64(len(o.Data)))}}
}

// innerName guesses the name of what a compressed file holds from its
// own, the way gunzip would name it.
func innerName(outer string, suffixes [][2]string) string {
	lower := strings.ToLower(outer)
	for _, sr := range suffixes {
		suffix, repl := sr[0], sr[1]
		if strings.HasSuffix(lower, suffix) && len(outer) > len(suffix) {
			return outer[:len(outer)-len(suffix)] + repl
		}
	}
	return "content"
}
