package bayes

import (
	"bytes"
	"strings"
)

// field is one header field: lower-case name, unfolded value.
type field struct {
	name, value string
}

// splitMessage separates the header block from the body at the first empty
// line. Without an empty line the whole message is header.
func splitMessage(msg []byte) (hdr, body []byte) {
	switch {
	case bytes.HasPrefix(msg, []byte("\n")):
		return nil, msg[1:]
	case bytes.HasPrefix(msg, []byte("\r\n")):
		return nil, msg[2:]
	}
	end, skip := -1, 0
	if i := bytes.Index(msg, []byte("\n\n")); i >= 0 {
		end, skip = i+1, 1
	}
	if i := bytes.Index(msg, []byte("\n\r\n")); i >= 0 && (end < 0 || i+1 < end) {
		end, skip = i+1, 2
	}
	if end < 0 {
		return msg, nil
	}
	return msg[:end], msg[end+skip:]
}

// parseHeader reads header fields leniently: a line that is not a field
// (spam is often malformed) is skipped instead of ending the header, because
// the fields after it are still evidence. Only the first maxHeaderBytes and
// maxHeaderFields are read.
func parseHeader(hdr []byte) []field {
	if len(hdr) > maxHeaderBytes {
		hdr = hdr[:maxHeaderBytes]
	}
	var fields []field
	var cur *strings.Builder // value of the field being read, nil between fields
	var name string
	for len(hdr) > 0 {
		line := hdr
		if i := bytes.IndexByte(hdr, '\n'); i >= 0 {
			line, hdr = hdr[:i], hdr[i+1:]
		} else {
			hdr = nil
		}
		line = bytes.TrimRight(line, "\r")
		if len(line) > 0 && (line[0] == ' ' || line[0] == '\t') {
			if cur != nil {
				cur.WriteByte(' ')
				cur.Write(bytes.TrimSpace(line))
			}
			continue
		}
		if cur != nil {
			fields = append(fields, field{name: name, value: cur.String()})
			cur = nil
			if len(fields) >= maxHeaderFields {
				return fields
			}
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 || !validFieldName(line[:colon]) {
			continue
		}
		name = strings.ToLower(string(line[:colon]))
		cur = &strings.Builder{}
		cur.Write(bytes.TrimSpace(line[colon+1:]))
	}
	if cur != nil {
		fields = append(fields, field{name: name, value: cur.String()})
	}
	return fields
}

// validFieldName applies RFC 5322's field-name syntax: printable ASCII
// without space or colon. It keeps an mbox "From " line or a stray body line
// from being read as a field.
func validFieldName(b []byte) bool {
	for _, c := range b {
		if c <= ' ' || c > '~' {
			return false
		}
	}
	return true
}

// firstValue returns the value of the first field called name.
func firstValue(fields []field, name string) (string, bool) {
	for _, f := range fields {
		if f.name == name {
			return f.value, true
		}
	}
	return "", false
}
