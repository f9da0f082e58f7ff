package objects

import (
	"bytes"
	"fmt"
	"io"
	"math"
)

// ratioFloor is the size below which a member is never called a bomb:
// small text compresses far better than MaxRatio, and costs nothing.
const ratioFloor = 1 << 20

// archive yields the members of a container one at a time; next returns
// io.EOF after the last one.
type archive interface {
	next() (member, error)
}

type member struct {
	name     string
	format   string    // names the decoder in problems found reading r
	r        io.Reader // nil when the member cannot be read; status says why
	hint     int64     // declared size, only to size the buffer
	ratioCap int64     // bytes it may unpack to before it is a bomb; 0: no cap
	status   Status
	detail   string
}

type format int

const (
	notArchive format = iota
	formatZip
	formatGzip
	formatBzip2
	formatTar
)

// sniff tells an archive by its content: names and declared types are
// the sender's to choose.
func sniff(data []byte) format {
	switch {
	case bytes.HasPrefix(data, []byte("PK\x03\x04")):
		return formatZip
	case bytes.HasPrefix(data, []byte{0x1f, 0x8b}):
		return formatGzip
	case len(data) >= 4 && bytes.HasPrefix(data, []byte("BZh")) && '1' <= data[3] && data[3] <= '9':
		return formatBzip2
	case len(data) >= 262 && bytes.Equal(data[257:262], []byte("ustar")):
		return formatTar
	}
	return notArchive
}

// open prepares the members of o if it is an archive, flagging o when it
// cannot be opened, or may not be because it is nested too deep.
func (w *walker) open(o *Object) archive {
	f := sniff(o.Data)
	if f == notArchive || w.lim.SkipArchives {
		return nil
	}
	if o.Depth >= w.lim.MaxDepth {
		o.flag(StatusSuspicious, fmt.Sprintf("archive nested deeper than MaxDepth (%d)", w.lim.MaxDepth))
		return nil
	}
	var (
		a      archive
		status Status
		detail string
	)
	switch f {
	case formatZip:
		a, status, detail = w.openZip(o.Data)
	case formatTar:
		a, status, detail = w.openTar(o.Data)
	case formatGzip:
		a, status, detail = w.openGzip(o)
	case formatBzip2:
		a = w.openBzip2(o)
	}
	o.flag(status, detail)
	return a
}

// ratioCap is how much a member packed into packed bytes may unpack to.
func (w *walker) ratioCap(packed int64) int64 {
	if packed > math.MaxInt64/int64(w.lim.MaxRatio) {
		return 0
	}
	return max(packed*int64(w.lim.MaxRatio), ratioFloor)
}

// unpack hands over the members of parent, each one level deeper.
func (w *walker) unpack(parent *Object, a archive, sep string) error {
	for {
		m, err := a.next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			o := &Object{Path: parent.Path, Part: parent.Part, Name: parent.Name, Depth: parent.Depth}
			o.flag(StatusCorrupted, err.Error())
			return w.bare(o)
		}
		o := &Object{Path: parent.Path + sep + m.name, Part: parent.Part, Name: m.name, Depth: parent.Depth + 1}
		if err := w.admit(o); err != nil {
			closeMember(m)
			return err
		}
		o.flag(m.status, m.detail)
		spent := false
		if m.r != nil {
			spent = w.take(o, labelled{r: m.r, label: m.format}, m.hint, m.ratioCap)
			closeMember(m)
		}
		if err := w.deliver(o, spent, false, true); err != nil {
			return err
		}
	}
}

func closeMember(m member) {
	if c, ok := m.r.(io.Closer); ok {
		// Decompressors only return buffers to their pools on Close.
		_ = c.Close()
	}
}

// labelled says which decoder failed: "unexpected EOF" alone does not.
type labelled struct {
	r     io.Reader
	label string
}

func (l labelled) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	if err != nil && err != io.EOF {
		err = fmt.Errorf("%s: %w", l.label, err)
	}
	return n, err
}
