package objects

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/emersion/go-message"
	// File names come in every charset; without the tables only UTF-8 and
	// US-ASCII encoded words decode.
	_ "github.com/emersion/go-message/charset"
	"github.com/emersion/go-message/textproto"
)

// maxMultipartNesting bounds multiparts inside multiparts, which hold no
// object themselves and so escape MaxObjects, but each cost a reader.
const maxMultipartNesting = 64

// scope is where in the message tree an entity sits.
type scope struct {
	prefix string // Path of the enclosing forwarded message and "/", or ""
	top    string // Part in the outermost message, once inside a forwarded one
	nums   []int  // part numbers within the current message
	depth  int
}

func (s scope) number() string {
	if len(s.nums) == 0 {
		return "1"
	}
	parts := make([]string, len(s.nums))
	for i, n := range s.nums {
		parts[i] = strconv.Itoa(n)
	}
	return strings.Join(parts, ".")
}

func (s scope) child(i int) scope {
	s.nums = append(s.nums[:len(s.nums):len(s.nums)], i)
	return s
}

func (s scope) object() *Object {
	part := s.top
	if part == "" {
		part = s.number()
	}
	return &Object{Path: s.prefix + s.number(), Part: part, Depth: s.depth}
}

// message walks one RFC 5322 message: the one given to Walk or one
// forwarded inside it. go-message's own Walk is not used: it stops at
// message/rfc822 parts and converts text to UTF-8, which would alter the
// very bytes a signature has to match.
func (w *walker) message(r io.Reader, prefix, top string, depth int) error {
	sc := scope{prefix: prefix, top: top, depth: depth}
	br := bufio.NewReader(r)
	h, err := textproto.ReadHeader(br)
	if err != nil {
		// Whatever follows is still scanned: a header only this parser
		// rejects must not hide a body.
		o := sc.object()
		o.flag(StatusCorrupted, "message header: "+err.Error())
		return w.raw(o, br, false)
	}
	return w.entity(h, br, sc)
}

func (w *walker) entity(h textproto.Header, body io.Reader, sc scope) error {
	mh := message.Header{Header: h}
	mt, params, _ := mh.ContentType()
	mt = strings.ToLower(mt)
	switch {
	case strings.HasPrefix(mt, "multipart/"):
		return w.multipart(mh, body, params["boundary"], sc)
	case mt == "message/rfc822" || mt == "message/global":
		return w.forwarded(mh, body, sc)
	}
	return w.leaf(mh, body, sc)
}

func (w *walker) multipart(h message.Header, body io.Reader, boundary string, sc scope) error {
	switch {
	case boundary == "":
		return w.leafFlagged(h, body, sc, StatusCorrupted, "multipart without boundary")
	case len(sc.nums) >= maxMultipartNesting:
		return w.leafFlagged(h, body, sc, StatusSuspicious,
			fmt.Sprintf("multipart nested deeper than %d", maxMultipartNesting))
	}
	mr := textproto.NewMultipartReader(body, boundary)
	for i := 1; ; i++ {
		p, err := mr.NextPart()
		// Only a bare io.EOF means the closing boundary was seen.
		if err == io.EOF {
			if i == 1 {
				// RFC 2046 wants a part at least; whatever sits in
				// the preamble is not scanned, so say so.
				o := sc.object()
				o.flag(StatusCorrupted, "multipart without parts")
				return w.bare(o)
			}
			return nil
		}
		if err != nil {
			o := sc.object()
			o.flag(StatusCorrupted, "multipart: "+err.Error())
			return w.bare(o)
		}
		if err := w.entity(p.Header, p, sc.child(i)); err != nil {
			return err
		}
	}
}

// forwarded walks a message/rfc822 part as a message of its own, one
// level deeper, its parts numbered under the part's own number.
func (w *walker) forwarded(h message.Header, body io.Reader, sc scope) error {
	if sc.depth >= w.lim.MaxDepth {
		return w.leafFlagged(h, body, sc, StatusSuspicious,
			fmt.Sprintf("message nested deeper than MaxDepth (%d)", w.lim.MaxDepth))
	}
	dec, problem := transferDecoder(h.Get("Content-Transfer-Encoding"), body)
	if problem != "" {
		return w.leafFlagged(h, body, sc, StatusCorrupted, problem)
	}
	outer := sc.object()
	return w.message(dec, outer.Path+"/", outer.Part, sc.depth+1)
}

func (w *walker) leaf(h message.Header, body io.Reader, sc scope) error {
	return w.leafFlagged(h, body, sc, StatusOK, "")
}

// leafFlagged reads a part as one object, noting status on it up front.
func (w *walker) leafFlagged(h message.Header, body io.Reader, sc scope, status Status, detail string) error {
	o := sc.object()
	o.Name = fileName(h)
	if o.Name != "" {
		o.Path += ":" + o.Name
	}
	mt, _, _ := h.ContentType()
	o.Declared = strings.ToLower(mt)
	o.flag(status, detail)
	cte := h.Get("Content-Transfer-Encoding")
	dec, problem := transferDecoder(cte, body)
	if problem != "" {
		o.flag(StatusCorrupted, problem)
	}
	text := strings.HasPrefix(o.Declared, "text/") || isUUEncoding(cte)
	if err := w.admit(o); err != nil {
		return err
	}
	spent := w.take(o, dec, 0, 0)
	return w.deliver(o, spent, text, o.Name != "")
}

// raw reads the rest of r as the data of o.
func (w *walker) raw(o *Object, r io.Reader, named bool) error {
	if err := w.admit(o); err != nil {
		return err
	}
	spent := w.take(o, r, 0, 0)
	return w.deliver(o, spent, true, named)
}

// bare hands over an object that has no bytes: a note about a problem.
func (w *walker) bare(o *Object) error {
	if err := w.admit(o); err != nil {
		return err
	}
	return w.fn(o)
}

func fileName(h message.Header) string {
	if _, params, err := h.ContentDisposition(); err == nil || params != nil {
		if name := params["filename"]; name != "" {
			return name
		}
	}
	if _, params, err := h.ContentType(); err == nil || params != nil {
		return params["name"]
	}
	return ""
}
