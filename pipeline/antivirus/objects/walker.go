package objects

import (
	"fmt"
	"io"
)

// stopError ends a walk once a limit is reached; Walk swallows it. It is
// a constant so that no caller can replace it.
type stopError string

func (e stopError) Error() string { return string(e) }

const errStop stopError = "objects: walk stopped at a limit"

// walker carries the budgets of one Walk.
type walker struct {
	lim     Limits
	fn      func(*Object) error
	objects int   // objects admitted so far
	total   int64 // bytes handed out in Data so far
}

// admit counts o against MaxObjects before any of its bytes are read, so
// that a message of a million empty parts costs nothing to refuse. Past
// the limit it reports the fact in place of o and stops the walk.
func (w *walker) admit(o *Object) error {
	if w.objects < w.lim.MaxObjects {
		w.objects++
		return nil
	}
	over := &Object{Path: o.Path, Part: o.Part, Depth: o.Depth, Status: StatusSuspicious,
		Detail: fmt.Sprintf("more than MaxObjects (%d) objects", w.lim.MaxObjects)}
	if err := w.fn(over); err != nil {
		return err
	}
	return errStop
}

// take reads o's bytes from r within the budgets left and flags o if it
// had to stop early. ratioCap, if positive, is how much r may unpack to
// before it counts as a bomb. It reports whether MaxTotal is spent, after
// which the walk must end.
func (w *walker) take(o *Object, r io.Reader, hint, ratioCap int64) (spent bool) {
	limit, which := w.lim.MaxObject, "MaxObject"
	if left := w.lim.MaxTotal - w.total; left < limit {
		limit, which = left, "MaxTotal"
	}
	if ratioCap > 0 && ratioCap < limit {
		limit, which = ratioCap, "MaxRatio"
	}
	// One byte more than allowed tells a truncation from an exact fit.
	data, err := readAtMost(r, limit+1, hint)
	over := int64(len(data)) > limit
	if over {
		data = data[:limit]
	}
	o.Data, o.Size = data, int64(len(data))
	w.total += o.Size
	switch {
	case over && which == "MaxTotal":
		o.flag(StatusSuspicious, fmt.Sprintf("MaxTotal (%d bytes unpacked) reached", w.lim.MaxTotal))
		return true
	case over && which == "MaxRatio":
		o.flag(StatusSuspicious, fmt.Sprintf("unpacks to more than MaxRatio (%d) times its packed size", w.lim.MaxRatio))
	case over:
		o.flag(StatusSuspicious, fmt.Sprintf("truncated at MaxObject (%d bytes)", w.lim.MaxObject))
	case err != nil:
		o.flag(StatusCorrupted, err.Error())
	}
	return false
}

// readAtMost reads up to n bytes. The buffer starts from the declared
// size but no larger than initialCap: declared sizes are the sender's
// word, and the reads themselves are the proof.
func readAtMost(r io.Reader, n, hint int64) ([]byte, error) {
	const initialCap = 1 << 20
	size := min(max(hint+1, 512), n, initialCap)
	buf := make([]byte, 0, size)
	for int64(len(buf)) < n {
		if len(buf) == cap(buf) {
			// Doubling, not append's 1.25x for large slices: a 30 MiB
			// attachment then costs about 60 MiB of copies, not 200.
			grown := make([]byte, len(buf), min(2*int64(cap(buf)), n))
			copy(grown, buf)
			buf = grown
		}
		end := min(int64(cap(buf)), n)
		m, err := r.Read(buf[len(buf):end])
		buf = buf[:len(buf)+m]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
	return buf, nil
}

// deliver hands o to fn, then what it contains: archive members (o is
// opened first, so that a broken archive is flagged on o itself) and
// uuencoded blocks when o is text. named says whether member paths go
// after a file name ("/") or straight after a part number (":").
func (w *walker) deliver(o *Object, spent, text, named bool) error {
	var a archive
	if !spent {
		a = w.open(o)
		if text && o.Depth >= w.lim.MaxDepth && hasUU(o.Data) {
			o.flag(StatusSuspicious, fmt.Sprintf("uuencoded content nested deeper than MaxDepth (%d)", w.lim.MaxDepth))
			text = false
		}
	}
	if err := w.fn(o); err != nil {
		return err
	}
	if spent {
		return errStop
	}
	sep := "/"
	if !named {
		sep = ":"
	}
	if a != nil {
		if err := w.unpack(o, a, sep); err != nil {
			return err
		}
	}
	if text {
		return w.uudecode(o, sep)
	}
	return nil
}
