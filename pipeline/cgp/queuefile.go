package cgp

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// Envelope is what CGP's queue file says about the message.
type Envelope struct {
	From       string // return-path; "" for the null sender
	Recipients []string
	ClientIP   string // from the source line when present
	QueueID    string // CGP's own message ID when present, for the events
}

// ParseQueueFile splits a CGP queue file into its envelope and the message.
// The envelope is every line before the first empty one; each must be a
// letter alone or a letter and a blank, which is what tells a queue file
// from a bare RFC 5322 message. P, R and S lines are read, other letters
// are skipped. The message is returned as it is in the file, line ends
// unchanged. ParseQueueFile leaves QueueID empty: CGP names the file, not
// the envelope, after the message; Serve fills it in from the FILE path.
func ParseQueueFile(data []byte) (Envelope, []byte, error) {
	var env Envelope
	sawFrom := false
	rest := data
	for n := 1; ; n++ {
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			return Envelope{}, nil, errors.New("cgp: queue file has no empty line after the envelope")
		}
		line := bytes.TrimSuffix(rest[:i], []byte{'\r'})
		rest = rest[i+1:]
		if len(line) == 0 {
			return env, rest, nil
		}
		if err := env.parseLine(line, &sawFrom); err != nil {
			return Envelope{}, nil, fmt.Errorf("cgp: queue file envelope line %d: %w", n, err)
		}
	}
}

func (env *Envelope) parseLine(line []byte, sawFrom *bool) error {
	c := line[0]
	isLetter := c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z'
	if !isLetter || len(line) > 1 && line[1] != ' ' {
		return fmt.Errorf("%.40q is not an envelope line", line)
	}
	switch c {
	case 'P':
		if *sawFrom {
			return errors.New("second return-path (P) line")
		}
		*sawFrom = true
		addr, _, err := bracketed(line[1:])
		if err != nil {
			return fmt.Errorf("return-path (P): %w", err)
		}
		env.From = addr
	case 'R':
		addr, _, err := bracketed(line[1:])
		if err != nil {
			return fmt.Errorf("recipient (R): %w", err)
		}
		if addr == "" {
			return errors.New("recipient (R): empty address")
		}
		env.Recipients = append(env.Recipients, addr)
	case 'S':
		if env.ClientIP == "" {
			env.ClientIP = sourceIP(line[1:])
		}
	}
	return nil
}

// bracketed returns the address between the first '<' and its '>', and
// what follows. A '>' inside a quoted local part does not end the address.
// Control characters are refused: an address is later put into events and
// logs, where a line break would forge a record.
func bracketed(b []byte) (string, []byte, error) {
	i := bytes.IndexByte(b, '<')
	if i < 0 {
		return "", nil, errors.New("no <address>")
	}
	inQuote, escaped := false, false
	for j := i + 1; j < len(b); j++ {
		c := b[j]
		switch {
		case c < 0x20 || c == 0x7f:
			return "", nil, errors.New("control character in address")
		case escaped:
			escaped = false
		case c == '\\' && inQuote:
			escaped = true
		case c == '"':
			inQuote = !inQuote
		case c == '>' && !inQuote:
			return strings.TrimSpace(string(b[i+1 : j])), b[j+1:], nil
		}
	}
	return "", nil, errors.New("unterminated <address>")
}

// sourceIP reads "[ip]" from a source line ("S SMTP [192.0.2.1]", or with
// the authenticated user first: "S <user@example.com> SMTP [192.0.2.1]").
// CGP writes [0.0.0.0] for messages it made itself (DSN, RULE, ...): that
// is no client, so it gives "". What does not parse is left out too; the
// IP is a hint for the judge, not worth failing the message.
func sourceIP(b []byte) string {
	if bytes.IndexByte(b, '<') >= 0 && bytes.IndexByte(b, '<') < bytes.IndexByte(b, '[') {
		_, after, err := bracketed(b)
		if err != nil {
			return ""
		}
		b = after
	}
	open := bytes.IndexByte(b, '[')
	if open < 0 {
		return ""
	}
	end := bytes.IndexByte(b[open:], ']')
	if end < 0 {
		return ""
	}
	s := string(b[open+1 : open+end])
	if len(s) > 5 && strings.EqualFold(s[:5], "IPv6:") {
		s = s[5:]
	}
	ip, err := netip.ParseAddr(s)
	if err != nil || ip.IsUnspecified() {
		return ""
	}
	return ip.Unmap().String()
}
