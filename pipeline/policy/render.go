package policy

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"mime"
	"strconv"
	"strings"

	"github.com/emersion/go-message/textproto"

	"github.com/gatewatch/gatewatch/pipeline"
)

// Render writes the copy of m that an outcome delivers or keeps, with
// queue ID id: its subject mark and header fields added, the X-Gatewatch-ID
// set to id (and the original's ID as X-Gatewatch-Parent-ID when they
// differ), the flagged parts replaced by a notice when the outcome removes
// parts. Everything else is copied byte for byte.
func Render(w io.Writer, m *pipeline.Message, t pipeline.Treatment, id string) error {
	br := bufio.NewReader(m.Reader())
	hdr, err := textproto.ReadHeader(br)
	if err != nil {
		return fmt.Errorf("render %s: header: %w", id, err)
	}
	// Raw, so the names keep the spelling the receiver gives them
	// (Set would write X-Gatewatch-Id).
	hdr.Del("X-Gatewatch-Parent-ID")
	hdr.Del("X-Gatewatch-ID")
	if id != m.ID {
		hdr.AddRaw([]byte("X-Gatewatch-Parent-ID: " + m.ID + "\r\n"))
	}
	hdr.AddRaw([]byte("X-Gatewatch-ID: " + id + "\r\n"))
	for _, f := range t.Headers {
		hdr.Add(f.Name, f.Value)
	}
	if t.MarkSubject != "" {
		mark := t.MarkSubject
		subject := hdr.Get("Subject")
		if !isASCII(mark) {
			// Space between two encoded words is not part of the text
			// (RFC 2047 6.2): the separating space travels encoded.
			if strings.HasPrefix(strings.TrimSpace(subject), "=?") {
				mark += " "
			}
			mark = mime.QEncoding.Encode("utf-8", mark)
		}
		if subject == "" {
			hdr.Set("Subject", mark)
		} else {
			hdr.Set("Subject", mark+" "+subject)
		}
	}
	flagged := map[string]bool{}
	if t.RemoveParts {
		for _, v := range m.Verdicts {
			for _, p := range v.Parts {
				flagged[p] = true
			}
		}
	}
	bw := bufio.NewWriter(w)
	mediaType, _, _ := mime.ParseMediaType(hdr.Get("Content-Type"))
	if flagged["1"] && !strings.HasPrefix(mediaType, "multipart/") {
		// The flagged part is the whole body.
		nh, text := removedNotice(hdr)
		for _, k := range []string{"Content-Type", "Content-Disposition", "Content-Transfer-Encoding"} {
			hdr.Set(k, nh.Get(k))
		}
		if err := textproto.WriteHeader(bw, hdr); err != nil {
			return fmt.Errorf("render %s: %w", id, err)
		}
		if _, err := io.WriteString(bw, text); err != nil {
			return fmt.Errorf("render %s: %w", id, err)
		}
		return bw.Flush()
	}
	if err := textproto.WriteHeader(bw, hdr); err != nil {
		return fmt.Errorf("render %s: %w", id, err)
	}
	if err := writeBody(bw, hdr, br, "", flagged); err != nil {
		return fmt.Errorf("render %s: %w", id, err)
	}
	return bw.Flush()
}

// removedNotice replaces a removed part.
func removedNotice(h textproto.Header) (textproto.Header, string) {
	var nh textproto.Header
	nh.Set("Content-Type", "text/plain; charset=utf-8")
	nh.Set("Content-Disposition", "inline")
	nh.Set("Content-Transfer-Encoding", "8bit")
	name := ""
	if _, params, err := mime.ParseMediaType(h.Get("Content-Disposition")); err == nil {
		name = params["filename"]
	}
	if name == "" {
		if _, params, err := mime.ParseMediaType(h.Get("Content-Type")); err == nil {
			name = params["name"]
		}
	}
	text := "A part of this message was removed by the mail gateway's policy.\r\n"
	if name != "" {
		text = fmt.Sprintf("The attachment %q was removed from this message by the mail gateway's policy.\r\n", name)
	}
	return nh, text
}

// writeBody copies the body of an entity with header h from r, replacing
// the parts of a multipart whose path (prefix + position) is flagged.
func writeBody(w io.Writer, h textproto.Header, r io.Reader, prefix string, flagged map[string]bool) error {
	mediaType, params, _ := mime.ParseMediaType(h.Get("Content-Type"))
	boundary := params["boundary"]
	if len(flagged) == 0 || !strings.HasPrefix(mediaType, "multipart/") || boundary == "" {
		_, err := io.Copy(w, r)
		return err
	}
	mr := textproto.NewMultipartReader(r, boundary)
	mw := textproto.NewMultipartWriter(w)
	if err := mw.SetBoundary(boundary); err != nil {
		return err
	}
	for i := 1; ; i++ {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("part %s%d: %w", prefix, i, err)
		}
		path := prefix + strconv.Itoa(i)
		if flagged[path] {
			nh, text := removedNotice(p.Header)
			pw, err := mw.CreatePart(nh)
			if err != nil {
				return err
			}
			if _, err := io.WriteString(pw, text); err != nil {
				return err
			}
			continue
		}
		pw, err := mw.CreatePart(p.Header)
		if err != nil {
			return err
		}
		if err := writeBody(pw, p.Header, p, path+".", flagged); err != nil {
			return err
		}
	}
	return mw.Close()
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
