package sigupdate

import (
	"fmt"
	"io"
)

const (
	defaultMaxFileBytes = 512 << 20
	defaultMaxTotal     = 2 << 30
)

// limits enforces Options' byte bounds while reading, so a source cannot
// fill the disk by sending more than it announced or than we allow.
type limits struct {
	perFile int64
	total   int64
	left    int64 // of total, for the files still to come
}

func newLimits(opt Options) *limits {
	l := &limits{perFile: opt.MaxFileBytes, total: opt.MaxTotal}
	if l.perFile <= 0 {
		l.perFile = defaultMaxFileBytes
	}
	if l.total <= 0 {
		l.total = defaultMaxTotal
	}
	l.left = l.total
	return l
}

// file bounds one file by the per-file limit only; the index is not part
// of the installed set's total.
func (l *limits) file(name string, r io.Reader) io.Reader {
	return &capped{r: r, left: l.perFile,
		err: fmt.Errorf("%s is larger than the %d-byte per-file limit", name, l.perFile)}
}

// setFile bounds one file of the set by both limits; call done with what
// was read to charge it to the total.
func (l *limits) setFile(name string, r io.Reader) io.Reader {
	return &capped{r: l.file(name, r), left: l.left,
		err: fmt.Errorf("the set is larger than the %d-byte total limit (at %s)", l.total, name)}
}

func (l *limits) done(n int64) { l.left -= n }

// capped passes at most left bytes and fails, rather than truncating
// silently, when the reader has more.
type capped struct {
	r    io.Reader
	left int64
	err  error
	over bool
}

func (c *capped) Read(p []byte) (int, error) {
	if c.over {
		return 0, c.err
	}
	// One byte past the limit is enough to tell "exactly at the limit"
	// from "over it".
	if int64(len(p)) > c.left+1 {
		p = p[:c.left+1]
	}
	n, err := c.r.Read(p)
	if int64(n) > c.left {
		c.over = true
		n = int(c.left)
		c.left = 0
		return n, c.err
	}
	c.left -= int64(n)
	return n, err
}
