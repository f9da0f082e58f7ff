package cgp

import (
	"errors"
	"fmt"
	"strings"
)

// interfaceVersion is the helper interface version answered to INTF; see
// the package documentation for what it promises.
const interfaceVersion = 3

// Request is one line CGP sent: "seq COMMAND argument".
type Request struct {
	Seq     string // CGP's sequence number, echoed in the response
	Command string // upper-cased: INTF, FILE, QUIT, ...
	Arg     string // the rest of the line, surrounding blanks removed
}

// maxSeq bounds the sequence number so a garbage line of digits is not
// echoed back whole.
const maxSeq = 32

// ParseRequest reads one request line: sequence number, command, argument.
// When the line starts with a sequence number but is otherwise malformed,
// the returned Request still carries Seq so the caller can answer it.
func ParseRequest(line string) (Request, error) {
	line = strings.TrimRight(line, "\r\n")
	seq, rest := cutField(strings.TrimLeft(line, " \t"))
	if seq == "" {
		return Request{}, errors.New("cgp: empty request")
	}
	if len(seq) > maxSeq || strings.Trim(seq, "0123456789") != "" {
		return Request{}, fmt.Errorf("cgp: request does not start with a sequence number: %.40q", line)
	}
	req := Request{Seq: seq}
	if i := strings.IndexFunc(line, isBadRequestChar); i >= 0 {
		return req, fmt.Errorf("cgp: request has control character %q", line[i])
	}
	cmd, rest := cutField(rest)
	if cmd == "" {
		return req, errors.New("cgp: request has no command")
	}
	if len(cmd) > 32 || strings.Trim(strings.ToUpper(cmd), "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != "" {
		return req, fmt.Errorf("cgp: malformed command %.40q", cmd)
	}
	req.Command = strings.ToUpper(cmd)
	req.Arg = strings.Trim(rest, " \t")
	return req, nil
}

// isBadRequestChar rejects the controls that cannot be part of a request
// line; tabs are accepted as blanks.
func isBadRequestChar(r rune) bool {
	return (r < 0x20 && r != '\t') || r == 0x7f
}

// cutField splits off the first blank-separated field of s.
func cutField(s string) (field, rest string) {
	s = strings.TrimLeft(s, " \t")
	if i := strings.IndexAny(s, " \t"); i >= 0 {
		return s[:i], s[i:]
	}
	return s, ""
}

// seqPrefix returns the sequence number a line starts with, or "", so even a
// line too long to parse can be answered.
func seqPrefix(line string) string {
	seq, rest := cutField(line)
	if rest == "" || len(seq) > maxSeq || strings.Trim(seq, "0123456789") != "" {
		return "" // no blank after it: the digits may run on past the prefix
	}
	return seq
}

// fileArg takes the path out of a FILE argument. CGP sends a bare relative
// path; a quoted string is decoded too. Anything after the path is ignored,
// so later protocol versions adding parameters do not break the helper.
func fileArg(arg string) (string, error) {
	var path string
	if strings.HasPrefix(arg, `"`) {
		p, _, err := unquote(arg)
		if err != nil {
			return "", fmt.Errorf("cgp: FILE: %w", err)
		}
		path = p
	} else {
		path, _ = cutField(arg)
	}
	if path == "" {
		return "", errors.New("cgp: FILE: missing file name")
	}
	if strings.ContainsFunc(path, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return "", errors.New("cgp: FILE: control character in file name")
	}
	return path, nil
}

// comment formats an information line: CGP ignores lines starting with
// "*" except for writing them to its log.
func comment(text string) string {
	line := "* gatewatch: "
	return line + textBody(text, maxResponseLine-1-len(line)) + "\n"
}

// textBody is cleanText cut to budget bytes, for comments, which need no
// quoting.
func textBody(s string, budget int) string {
	s = cleanText(s)
	if len(s) <= budget {
		return s
	}
	for budget > 3 && !utf8RuneStart(s[budget-3]) {
		budget--
	}
	return s[:budget-3] + "..."
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }

// errorLine formats "seq ERROR text".
func errorLine(seq, text string) string {
	prefix := seq + " ERROR "
	return prefix + textArg(text, maxResponseLine-1-len(prefix)) + "\n"
}

// Default texts, for verdicts that carry none.
const (
	defaultRejectText = "message rejected by gatewatch"
	defaultErrorText  = "gatewatch could not scan the message"
)

// verdictResponse formats the answer to one FILE request. Headers go into a
// single ADDHEADER response ending in OK, the form CGP documents: ADDHEADER
// is itself a final answer, so a separate OK line would be a stray second
// answer for the same sequence number.
func verdictResponse(seq string, v Verdict) string {
	switch v.Action {
	case ActionOK:
		const keyword, final = " ADDHEADER ", " OK"
		enc, dropped := encodeHeaders(v.AddHeaders, maxResponseLine-1-len(seq)-len(keyword)-len(final))
		var b strings.Builder
		for _, d := range dropped {
			b.WriteString(comment("request " + seq + ": header not added: " + d))
		}
		if enc == "" {
			b.WriteString(seq + " OK\n")
		} else {
			b.WriteString(seq + keyword + enc + final + "\n")
		}
		return b.String()
	case ActionDiscard:
		return seq + " DISCARD\n"
	case ActionReject:
		text := v.Text
		if cleanText(text) == "" {
			text = defaultRejectText
		}
		prefix := seq + " REJECTED "
		return prefix + textArg(text, maxResponseLine-1-len(prefix)) + "\n"
	case ActionError:
		text := v.Text
		if cleanText(text) == "" {
			text = defaultErrorText
		}
		return errorLine(seq, text)
	}
	return comment(fmt.Sprintf("request %s: judge returned unknown %v", seq, v.Action)) +
		errorLine(seq, "invalid verdict")
}

// encodeHeaders joins the fields into one CGP string, fields separated by
// \e, within budget bytes. A field that is malformed or does not fit is left
// out (and named in dropped): the message still passes, only unannotated,
// which is better than failing the message for an annotation.
func encodeHeaders(fields []string, budget int) (string, []string) {
	var kept []string
	var dropped []string
	enc := ""
	for _, f := range fields {
		norm, err := normalizeField(f)
		if err != nil {
			dropped = append(dropped, err.Error())
			continue
		}
		q := quote(strings.Join(append(kept[:len(kept):len(kept)], norm), "\n"))
		if len(q) > budget {
			dropped = append(dropped, fmt.Sprintf("%.60q does not fit in a %d-byte response line", f, maxResponseLine))
			continue
		}
		kept = append(kept, norm)
		enc = q
	}
	return enc, dropped
}

// normalizeField checks "Name: value" and settles its line breaks. A break
// followed by a blank is RFC 5322 folding and is kept (CGP receives it as
// \e); any other break would start a new, forged field, so the text after
// it is joined to the line with a space.
func normalizeField(f string) (string, error) {
	f = strings.ToValidUTF8(f, "\uFFFD")
	f = strings.ReplaceAll(f, "\r\n", "\n")
	f = strings.ReplaceAll(f, "\r", "\n")
	lines := strings.Split(f, "\n")
	var b strings.Builder
	for i, l := range lines {
		l = strings.Map(func(r rune) rune {
			if (r < 0x20 && r != '\t') || r == 0x7f {
				return ' '
			}
			return r
		}, l)
		switch {
		case i == 0:
			b.WriteString(l)
		case strings.TrimSpace(l) == "":
			// an empty continuation line would end the header block
		case l[0] == ' ' || l[0] == '\t':
			b.WriteString("\n" + l)
		default:
			b.WriteString(" " + l)
		}
	}
	out := strings.TrimRight(b.String(), " \t")
	name, _, ok := strings.Cut(out, ":")
	if !ok || name == "" || strings.ContainsFunc(name, func(r rune) bool { return r <= ' ' || r >= 0x7f }) {
		return "", fmt.Errorf("%.60q is not a \"Name: value\" field", f)
	}
	return out, nil
}
