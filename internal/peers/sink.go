package peers

import (
	"bytes"
	"fmt"
	"net/mail"
	"net/textproto"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// SinkOptions configures an smtp-sink. The zero value is a sink that accepts
// everything and keeps nothing, which is what throughput tests want.
type SinkOptions struct {
	// Dump keeps every completed mail transaction in its own file, for tests
	// that assert on what arrived. It costs about a quarter of the sink's
	// throughput, so leave it off for load tests.
	Dump bool
	// HardReject lists SMTP commands answered with a 5xx (smtp-sink -f),
	// e.g. "RCPT" or ".".
	HardReject []string
	// SoftReject lists SMTP commands answered with a 4xx (smtp-sink -r).
	SoftReject []string
	// NoDSN stops the sink announcing DSN (smtp-sink -N).
	NoDSN bool
	// Extra holds further smtp-sink options, placed before the address.
	Extra []string
	// Backlog is the listen(2) backlog; 0 means 256.
	Backlog int
	// Port to listen on; 0 picks a free one. Set it to a stopped sink's Port
	// to bring "the same server" back, e.g. to test retries after an outage.
	Port int
}

// Sink is a running /usr/sbin/smtp-sink on 127.0.0.1.
type Sink struct {
	Addr string // "127.0.0.1:PORT", for the gateway's relay settings
	Port int
	Dir  string // private directory: the sink's log and, with Dump, dump/

	dumpDir string // "" unless SinkOptions.Dump
	// realDumpDir is dumpDir with symlinks resolved, as the kernel reports
	// the sink's open files.
	realDumpDir string
	proc        *process
}

// SinkMessage is one mail transaction as smtp-sink dumped it.
type SinkMessage struct {
	File string // path of the dump file, for failure messages

	// Envelope, from the records smtp-sink writes ahead of the message. The
	// values are the raw command arguments, e.g. "<a@example.org> SIZE=123".
	ClientAddr  string   // X-Client-Addr
	ClientProto string   // X-Client-Proto: SMTP, ESMTP or LMTP
	HeloArgs    string   // X-Helo-Args; empty if the client sent no HELO/EHLO
	MailArgs    string   // X-Mail-Args
	RcptArgs    []string // X-Rcpt-Args, one per RCPT command, in order

	// Raw is the message as the client sent it, starting at its first header
	// line, with dot-stuffing undone. smtp-sink drops every CR, so line ends
	// are LF (and a bare CR inside a line is lost).
	Raw    []byte
	Header mail.Header // headers of Raw, unfolded; keys in canonical form
	Body   []byte      // Raw after the first empty line; nil if there is none
}

// StartSink runs smtp-sink on a free (or the given) 127.0.0.1 port and stops
// it at cleanup.
func StartSink(t testing.TB, opts SinkOptions) *Sink {
	t.Helper()
	Require(t, SMTPSinkBin)
	dir := peerDir(t, "sink")
	port := opts.Port
	if port == 0 {
		port = FreePort(t)
	}
	backlog := opts.Backlog
	if backlog <= 0 {
		backlog = 256
	}
	s := &Sink{Addr: loopback(port), Port: port, Dir: dir}

	argv := []string{SMTPSinkBin}
	if os.Geteuid() == 0 {
		// smtp-sink refuses to run as root without -u; it binds first, then
		// switches user.
		argv = append(argv, "-u", "postfix")
	}
	if opts.Dump {
		s.dumpDir = filepath.Join(dir, "dump")
		if err := os.Mkdir(s.dumpDir, 0o755); err != nil {
			t.Fatalf("peers: %v", err)
		}
		if os.Geteuid() == 0 {
			giveToPostfix(t, s.dumpDir)
		}
		var err error
		if s.realDumpDir, err = filepath.EvalSymlinks(s.dumpDir); err != nil {
			t.Fatalf("peers: %v", err)
		}
		// smtp-sink appends a random hex id, giving one file per transaction.
		argv = append(argv, "-d", filepath.Join(s.dumpDir, "%Y%m%d%H%M%S."))
	}
	if len(opts.HardReject) > 0 {
		argv = append(argv, "-f", strings.Join(opts.HardReject, ","))
	}
	if len(opts.SoftReject) > 0 {
		argv = append(argv, "-r", strings.Join(opts.SoftReject, ","))
	}
	if opts.NoDSN {
		argv = append(argv, "-N")
	}
	argv = append(argv, opts.Extra...)
	argv = append(argv, s.Addr, strconv.Itoa(backlog))

	s.proc = startProcess(t, dir, "smtp-sink", argv)
	if err := dialUntil(s.Addr, 10*time.Second, s.proc.exited()); err != nil {
		t.Fatalf("peers: smtp-sink: %v\n%s", err, s.proc.describe())
	}
	return s
}

// Stop ends the sink now instead of at cleanup, e.g. to simulate an outage of
// the next hop. It returns once the process has gone and the port is free.
func (s *Sink) Stop(t testing.TB) {
	t.Helper()
	s.proc.stop(t)
}

// Messages returns every completed transaction dumped so far, ordered by file
// name. The names start with the second of the MAIL command followed by a
// random id, so the order is only chronological to the second: match
// messages by content, not by position. Transactions still in progress are
// left out; smtp-sink closes a dump before it answers the final "." with 250,
// so a message is here as soon as its client has seen that reply.
func (s *Sink) Messages(t testing.TB) []SinkMessage {
	t.Helper()
	msgs, _, err := s.scan()
	if err != nil {
		t.Fatalf("peers: %v", err)
	}
	return msgs
}

// WaitMessages polls until at least n transactions have been dumped
// completely and returns all of them, like Messages. It is for asynchronous
// clients such as Postfix or the gateway's own delivery. It fails the test
// after timeout.
func (s *Sink) WaitMessages(t testing.TB, n int, timeout time.Duration) []SinkMessage {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		msgs, files, err := s.scan()
		if err != nil {
			t.Fatalf("peers: %v", err)
		}
		if len(msgs) >= n {
			return msgs
		}
		if !time.Now().Before(deadline) {
			t.Fatalf("peers: smtp-sink %s: %d of %d messages after %v (dump files: %v)",
				s.Addr, len(msgs), n, timeout, files)
		}
		time.Sleep(pollInterval)
	}
}

// scan parses the finished dumps and also returns the names of all dump
// files, finished or not, for failure messages.
//
// smtp-sink creates a dump under its final name at MAIL time, writes it
// through a 4 KiB buffer while DATA arrives, and on an aborted transaction
// deletes it before closing it. The contents alone cannot tell a finished
// dump from a flush that happens to end in an empty line, but the open file
// can: a dump that existed when the sink's open files were listed, and was
// not among them, is finished and will not change.
func (s *Sink) scan() ([]SinkMessage, []string, error) {
	if s.dumpDir == "" {
		return nil, nil, fmt.Errorf("smtp-sink %s was started without SinkOptions.Dump", s.Addr)
	}
	entries, err := os.ReadDir(s.dumpDir) // sorted by name
	if err != nil {
		return nil, nil, err
	}
	inProgress, err := s.proc.openFiles() // after ReadDir: see above
	if err != nil {
		return nil, nil, err
	}
	var msgs []SinkMessage
	var files []string
	for _, e := range entries {
		files = append(files, e.Name())
		path := filepath.Join(s.realDumpDir, e.Name())
		if inProgress[path] {
			continue
		}
		data, err := os.ReadFile(path)
		if os.IsNotExist(err) {
			continue // an aborted transaction, deleted meanwhile
		}
		if err != nil {
			return nil, nil, err
		}
		// Without the final empty line, the sink was killed mid-transaction.
		if !bytes.HasSuffix(data, []byte("\n\n")) {
			continue
		}
		m, err := parseDump(path, data)
		if err != nil {
			return nil, nil, err
		}
		msgs = append(msgs, m)
	}
	return msgs, files, nil
}

// parseDump splits a finished smtp-sink dump (see "DUMP FILE FORMAT" in
// smtp-sink(1)) into the envelope records and the message.
func parseDump(path string, data []byte) (SinkMessage, error) {
	m := SinkMessage{File: path}
	rest := data
	for {
		line, after, ok := bytes.Cut(rest, []byte("\n"))
		if !ok {
			return m, fmt.Errorf("%s: no smtp-sink Received header; not an smtp-sink dump?", path)
		}
		rest = after
		name, value, _ := strings.Cut(string(line), ": ")
		switch name {
		case "X-Client-Addr":
			m.ClientAddr = value
		case "X-Client-Proto":
			m.ClientProto = value
		case "X-Helo-Args":
			m.HeloArgs = value
		case "X-Mail-Args":
			m.MailArgs = value
		case "X-Rcpt-Args":
			m.RcptArgs = append(m.RcptArgs, value)
		case "Received":
			// smtp-sink's Received header is always three lines and ends its
			// own records; the client's message starts after it.
			for range 2 {
				if _, rest, ok = bytes.Cut(rest, []byte("\n")); !ok {
					return m, fmt.Errorf("%s: truncated smtp-sink Received header", path)
				}
			}
			// Drop the LF that smtp-sink keeps from the terminating ".\r\n".
			raw, ok := bytes.CutSuffix(rest, []byte("\n"))
			if !ok {
				return m, fmt.Errorf("%s: dump does not end with a line feed", path)
			}
			m.Raw = raw
			m.Header, m.Body = splitMessage(raw)
			return m, nil
		}
		// Anything else precedes the records only with smtp-sink -S.
	}
}

// splitMessage parses the header leniently, because tests also send
// deliberately malformed mail and still want to look at the rest of it.
func splitMessage(raw []byte) (mail.Header, []byte) {
	head, body, found := bytes.Cut(raw, []byte("\n\n"))
	switch {
	case bytes.HasPrefix(raw, []byte("\n")):
		head, body = nil, raw[1:]
	case !found:
		body = nil
	}
	header := mail.Header{}
	var lastKey string
	for line := range strings.Lines(string(head)) {
		line = strings.TrimSuffix(line, "\n")
		if line == "" {
			continue
		}
		if line[0] == ' ' || line[0] == '\t' {
			if vals := header[lastKey]; len(vals) > 0 {
				vals[len(vals)-1] += " " + strings.TrimSpace(line)
			}
			continue
		}
		key, value, ok := strings.Cut(line, ":")
		if !ok {
			lastKey = ""
			continue
		}
		lastKey = textproto.CanonicalMIMEHeaderKey(strings.TrimSpace(key))
		header[lastKey] = append(header[lastKey], strings.TrimSpace(value))
	}
	return header, body
}
