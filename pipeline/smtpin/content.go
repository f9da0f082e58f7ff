package smtpin

import (
	"bytes"
	"io"
)

// contentWriter passes message content on with every line ending as CRLF
// (a bare LF becomes CRLF, as RFC 5321 requires on the wire), notes what the
// receiver must refuse or record (NUL bytes, 8-bit bytes), and keeps the
// header section, up to a bound, for parsing.
type contentWriter struct {
	dst       io.Writer
	headerMax int

	in         int64 // bytes received from the client
	prevCR     bool
	nul        bool
	eightBit   bool
	bareLF     int
	header     []byte
	headerDone bool
	headerOver bool
}

var crlf = []byte("\r\n")

func (w *contentWriter) Write(p []byte) (int, error) {
	total := len(p)
	w.in += int64(total)
	for len(p) > 0 {
		seg := p
		if i := bytes.IndexByte(p, '\n'); i >= 0 {
			seg = p[:i+1]
		}
		p = p[len(seg):]
		w.inspect(seg)
		last := len(seg) - 1
		if seg[last] == '\n' && !(last > 0 && seg[last-1] == '\r' || last == 0 && w.prevCR) {
			w.bareLF++
			if err := w.emit(seg[:last]); err != nil {
				return 0, err
			}
			if err := w.emit(crlf); err != nil {
				return 0, err
			}
		} else if err := w.emit(seg); err != nil {
			return 0, err
		}
		w.prevCR = seg[last] == '\r'
	}
	return total, nil
}

func (w *contentWriter) inspect(seg []byte) {
	if !w.nul && bytes.IndexByte(seg, 0) >= 0 {
		w.nul = true
	}
	if !w.eightBit {
		for _, b := range seg {
			if b >= 0x80 {
				w.eightBit = true
				break
			}
		}
	}
}

func (w *contentWriter) emit(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	if _, err := w.dst.Write(b); err != nil {
		return err
	}
	if w.headerDone {
		return nil
	}
	if len(w.header)+len(b) > w.headerMax {
		w.headerOver, w.headerDone = true, true
		return nil
	}
	w.header = append(w.header, b...)
	if b[len(b)-1] == '\n' && (bytes.Equal(w.header, crlf) || bytes.HasSuffix(w.header, []byte("\r\n\r\n"))) {
		w.headerDone = true
	}
	return nil
}
