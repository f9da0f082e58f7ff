// Package objects takes a mail message apart into the objects an
// anti-virus engine has to see: every MIME leaf with its transfer encoding
// undone, uuencoded blocks hidden in text, forwarded messages and the
// members of archives, nested. A message is attacker-controlled, so every
// step is bounded by Limits and problems become flagged objects rather
// than errors: a scanner stage can then reject what it could not read.
package objects

import (
	"errors"
	"fmt"
	"io"
)

// Limits bound what one message may cost. Zero fields take the defaults.
type Limits struct {
	MaxDepth   int   // nesting of messages and archives (default 5)
	MaxObjects int   // objects per message (default 1000)
	MaxTotal   int64 // total bytes unpacked across the message (default 100 MiB)
	MaxObject  int64 // bytes of one object handed to scanners (default 25 MiB); larger ones are truncated and flagged
	MaxRatio   int   // unpacked/packed ratio of an archive member above which it is a bomb (default 100)
	// SkipArchives hands archives to the scanners whole, unopened: faster,
	// but only a scanner that unpacks by itself (clamd) sees inside, and
	// nothing inside is judged protected, corrupted or a bomb.
	SkipArchives bool
}

const (
	defaultMaxDepth   = 5
	defaultMaxObjects = 1000
	defaultMaxTotal   = 100 << 20
	defaultMaxObject  = 25 << 20
	defaultMaxRatio   = 100
)

func (l Limits) withDefaults() Limits {
	if l.MaxDepth <= 0 {
		l.MaxDepth = defaultMaxDepth
	}
	if l.MaxObjects <= 0 {
		l.MaxObjects = defaultMaxObjects
	}
	if l.MaxTotal <= 0 {
		l.MaxTotal = defaultMaxTotal
	}
	if l.MaxObject <= 0 {
		l.MaxObject = defaultMaxObject
	}
	if l.MaxRatio <= 0 {
		l.MaxRatio = defaultMaxRatio
	}
	return l
}

// Status says why an object could not be fully read; the policy decides
// what that means for the message.
type Status string

const (
	StatusOK         Status = ""           // fine so far
	StatusSuspicious Status = "suspicious" // a bomb, or a limit was exceeded
	StatusProtected  Status = "protected"  // encrypted, cannot be scanned
	StatusCorrupted  Status = "corrupted"  // broken archive or encoding
)

// Object is one thing to scan.
type Object struct {
	// Path names the object for people: MIME part numbers (1-based, as in
	// pipeline.Verdict.Parts), "/" into a forwarded message, ":" before the
	// file name, then "/" and archive member names:
	// "2/1:archive.zip/inner.tar.gz/inner.tar/eicar.com".
	Path string
	// Part is the part number in the outermost message that holds the
	// object ("1" for a single-part body): the unit a policy can remove.
	Part     string
	Name     string // file name (Content-Disposition, Content-Type name, archive member), decoded
	Declared string // declared media type (Content-Type), "" inside archives
	Size     int64  // bytes of Data
	Data     []byte // the bytes to scan, at most Limits.MaxObject
	Depth    int    // 0 for the parts of the message, +1 per forwarded message or archive
	Status   Status // why the object could not be fully read, if so
	Detail   string // what exactly, for records
}

// flag records the first problem found with o: later ones are usually
// consequences of it.
func (o *Object) flag(s Status, detail string) {
	if o.Status == StatusOK {
		o.Status, o.Detail = s, detail
	}
}

// Walk calls fn for every object of the message read from r, depth first,
// in order: a container (archive, text with uuencoded blocks) before what
// it holds. It returns no error for hostile input: problems become
// objects with a Status, and a limit reached ends the walk with a
// StatusSuspicious object. fn's error stops the walk and is returned as
// is; an error reading r is returned after the walk.
//
// fn must not keep o.Data beyond the call if it cares about memory: the
// limits only bound what Walk allocates.
func Walk(r io.Reader, lim Limits, fn func(*Object) error) error {
	src := &source{r: r}
	w := &walker{lim: lim.withDefaults(), fn: fn}
	err := w.message(src, "", "", 0)
	if errors.Is(err, errStop) {
		err = nil
	}
	if err != nil {
		return err
	}
	if src.err != nil {
		return fmt.Errorf("objects: reading message: %w", src.err)
	}
	return nil
}

// source remembers a failure of the message's own reader, which is the
// caller's problem, apart from failures of decoding it, which are the
// sender's.
type source struct {
	r   io.Reader
	err error
}

func (s *source) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err != nil && err != io.EOF && s.err == nil {
		s.err = err
	}
	return n, err
}
