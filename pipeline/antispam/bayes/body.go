package bayes

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"path"
	"strings"

	"github.com/emersion/go-message"
	// Registers every charset go-message can convert, so that bodies in
	// windows-1251, koi8-r, gb2312, ... are read as text, not as byte soup.
	_ "github.com/emersion/go-message/charset"
)

// errStop ends a MIME walk that has used up its budget.
var errStop = errors.New("bayes: budget used up")

// bodyTokens walks the MIME tree of the body and tokenizes its text parts.
// The structure itself (media types, charsets, encodings, attachment types)
// gives tokens too.
func bodyTokens(c *collector, fields []field, body []byte) {
	var h message.Header
	for _, name := range []string{"Content-Type", "Content-Transfer-Encoding"} {
		if v, ok := firstValue(fields, strings.ToLower(name)); ok {
			h.Set(name, v)
		}
	}
	e, err := message.New(h, bytes.NewReader(body))
	w := &walker{c: c, budget: maxBodyBytes, rootErr: err}
	// A malformed multipart body ends the walk with an error; the tokens
	// found up to there are kept, and that is all that can be done.
	_ = e.Walk(w.visit)
}

// walker carries the budgets of one MIME walk.
type walker struct {
	c       *collector
	budget  int   // decoded text bytes that may still be read
	parts   int   // parts visited so far
	rootErr error // decoding problem of the top-level entity, if any
}

func (w *walker) visit(at []int, part *message.Entity, err error) error {
	w.parts++
	if w.parts > maxParts || w.c.full() {
		return errStop
	}
	prefix := "part:"
	if at == nil {
		prefix, err = "ct:", w.rootErr
	}
	switch {
	case message.IsUnknownCharset(err):
		w.c.add(prefix + "unknown-charset")
	case message.IsUnknownEncoding(err):
		w.c.add(prefix + "unknown-encoding")
	}
	mt := mediaType(part.Header.Get("Content-Type"))
	w.c.add(prefix + mt)
	if _, params, perr := mime.ParseMediaType(part.Header.Get("Content-Type")); perr == nil && params["charset"] != "" {
		w.c.add(prefix + "charset:" + strings.ToLower(params["charset"]))
	}
	if cte := strings.ToLower(strings.TrimSpace(part.Header.Get("Content-Transfer-Encoding"))); cte != "" {
		w.c.add(prefix + "cte:" + cte)
	}
	if name := fileName(part.Header); name != "" {
		if ext := strings.ToLower(path.Ext(name)); ext != "" {
			w.c.add("part:ext:" + ext)
		} else {
			w.c.add("part:ext:none")
		}
	}
	if mt != "text/plain" && mt != "text/html" {
		// Other parts are attachments or containers; multipart children
		// come as further visits.
		return nil
	}
	if w.budget <= 0 {
		return nil
	}
	data, _ := io.ReadAll(io.LimitReader(part.Body, int64(w.budget)))
	w.budget -= len(data)
	if mt == "text/html" {
		htmlTokens(w.c, data)
	} else {
		textTokens(w.c, string(data))
	}
	return nil
}

// mediaType returns the lower-case media type of a Content-Type value,
// "text/plain" when there is none (RFC 2045's default). It reads the type
// even when the parameters are malformed, as they often are in spam.
func mediaType(v string) string {
	if i := strings.IndexByte(v, ';'); i >= 0 {
		v = v[:i]
	}
	v = strings.ToLower(strings.TrimSpace(v))
	if v == "" {
		return "text/plain"
	}
	return v
}

// fileName returns an attachment's file name from Content-Disposition or,
// as older mailers write it, the Content-Type name parameter.
func fileName(h message.Header) string {
	if _, params, err := h.ContentDisposition(); err == nil && params["filename"] != "" {
		return params["filename"]
	}
	if _, params, err := h.ContentType(); err == nil && params["name"] != "" {
		return params["name"]
	}
	return ""
}
