package objects

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
)

type tarArchive struct {
	tr *tar.Reader
}

// openTar checks the headers first, so that a truncated tar is flagged on
// the archive object itself, which goes out before its members. Members
// before the damage are still handed over.
func (w *walker) openTar(data []byte) (archive, Status, string) {
	status, detail := StatusOK, ""
	// Hiding the Seeker makes tar read over the skipped members: seeking
	// past the end of the data would not notice that they are cut short.
	check := tar.NewReader(struct{ io.Reader }{bytes.NewReader(data)})
	for n := 0; n <= w.lim.MaxObjects; n++ {
		_, err := check.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			status, detail = StatusCorrupted, fmt.Sprintf("tar: %v", err)
			break
		}
	}
	return &tarArchive{tr: tar.NewReader(bytes.NewReader(data))}, status, detail
}

func (a *tarArchive) next() (member, error) {
	for {
		h, err := a.tr.Next()
		if err == io.EOF {
			return member{}, io.EOF
		}
		if err != nil {
			return member{}, fmt.Errorf("tar: %w", err)
		}
		// Links, directories and devices carry no bytes of their own.
		if h.Typeflag == tar.TypeReg {
			return member{name: h.Name, format: "tar member", r: a.tr, hint: h.Size}, nil
		}
	}
}
