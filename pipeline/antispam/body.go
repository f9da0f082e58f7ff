package antispam

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"regexp"
	"strings"

	"github.com/emersion/go-message"
	"github.com/emersion/go-message/textproto"

	"github.com/gatewatch/gatewatch/pipeline"
	"github.com/gatewatch/gatewatch/pipeline/antispam/urls"
)

// Bounds on what the content checks read: a hostile message costs a
// bounded amount whatever its size.
const (
	maxTextBytes = 1 << 20
	maxParts     = 200
	maxDepth     = 10
)

// bodyFacts is what the content checks read from the decoded text parts.
type bodyFacts struct {
	text, html string
	htmlOnly   bool
	hidden     string // why some text is hidden, "" if none is
	hosts      []urls.Host
	mismatches []string // "shown -> target" for links that show one host and lead to another
	unreadable bool     // the MIME structure could not be read
}

var hiddenStyle = regexp.MustCompile(`(?i)(display\s*:\s*none|visibility\s*:\s*hidden|font-size\s*:\s*0(px|pt|em)?\s*[;"']|opacity\s*:\s*0(\.0+)?\s*[;"'])`)

// hiddenText finds a style that hides text. The pattern runs only on a
// window after each property name: over a whole page its backtracking
// would cost more than all the other checks together.
func hiddenText(html string) string {
	lower := strings.ToLower(html)
	for _, prop := range []string{"display", "visibility", "font-size", "opacity"} {
		for from := 0; ; {
			i := strings.Index(lower[from:], prop)
			if i < 0 {
				break
			}
			start := from + i
			end := min(len(lower), start+48)
			if loc := hiddenStyle.FindString(lower[start:end]); loc != "" {
				return strings.TrimSpace(loc)
			}
			from = start + len(prop)
		}
	}
	return ""
}

// rawMessage wraps a message read from a file for the body checks.
func rawMessage(raw []byte) *pipeline.Message {
	h, _ := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(raw)))
	return &pipeline.Message{Header: h, Content: bytes.NewReader(raw)}
}

// readBody decodes the text/plain and text/html parts (charsets to UTF-8,
// transfer encodings undone) and extracts the URLs.
func readBody(m *pipeline.Message) bodyFacts {
	var bf bodyFacts
	ent, err := m.MIME()
	if ent == nil || (err != nil && !message.IsUnknownCharset(err) && !message.IsUnknownEncoding(err)) {
		bf.unreadable = true
		return bf
	}
	var text, html strings.Builder
	parts := 0
	errStop := errors.New("stop")
	_ = ent.Walk(func(path []int, part *message.Entity, err error) error {
		parts++
		if part == nil || parts > maxParts || len(path) > maxDepth {
			return errStop
		}
		mt, _, _ := part.Header.ContentType()
		var dst *strings.Builder
		switch mt {
		case "text/plain", "":
			dst = &text
		case "text/html":
			dst = &html
		default:
			return nil
		}
		if disp, _, _ := part.Header.ContentDisposition(); disp == "attachment" {
			return nil
		}
		room := maxTextBytes - text.Len() - html.Len()
		if room <= 0 {
			return errStop
		}
		b, _ := io.ReadAll(io.LimitReader(part.Body, int64(room)))
		dst.Write(b)
		dst.WriteByte('\n')
		return nil
	})
	bf.text, bf.html = text.String(), html.String()
	bf.htmlOnly = strings.TrimSpace(bf.text) == "" && strings.TrimSpace(bf.html) != ""
	bf.hidden = hiddenText(bf.html)
	lim := urls.Limits{}
	bf.hosts = urls.FromText(bf.text, lim)
	if bf.html != "" {
		hs, mm := urls.FromHTML(bf.html, lim)
		seen := map[string]bool{}
		for _, h := range bf.hosts {
			seen[h.Name] = true
		}
		for _, h := range hs {
			if !seen[h.Name] {
				bf.hosts = append(bf.hosts, h)
				seen[h.Name] = true
			}
		}
		for _, x := range mm {
			bf.mismatches = append(bf.mismatches, x.Shown+" -> "+x.Target)
		}
	}
	return bf
}
