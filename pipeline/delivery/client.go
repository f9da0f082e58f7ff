package delivery

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/gatewatch/gatewatch/pipeline"
)

// smtpClient is the delivery side's SMTP client. go-smtp's client sends one
// command per round trip, cannot upgrade to TLS only when offered, and
// forgets the server's extensions after RSET; on a relay those cost a round
// trip per recipient and wrong bounces after a dropped kept connection. This
// one pipelines MAIL, RCPT and DATA (RFC 2920) when the next hop offers it,
// upgrades with STARTTLS when offered, and keeps the EHLO answer for the
// life of the connection.
type smtpClient struct {
	conn    net.Conn
	r       *bufio.Reader
	w       *bufio.Writer
	ext     map[string]string // EHLO keywords (upper case) and their parameters
	tls     bool
	timeout Timeouts
	buf     []byte // for reading message content
}

// errTLSFailed marks a STARTTLS that did not work out; the caller may try
// again without TLS.
var errTLSFailed = errors.New("STARTTLS failed")

// replyError is a reply of the wrong class where the conversation cannot
// go on (greeting, EHLO, STARTTLS).
type replyError struct{ reply pipeline.Reply }

func (e *replyError) Error() string { return e.reply.String() }

// maxReplyLines bounds a multi-line reply (an EHLO answer is about a dozen).
const maxReplyLines = 100

// newSMTPClient greets a next hop over conn, says EHLO as hostname and, with
// wantTLS, upgrades when STARTTLS is offered (opportunistic: the
// certificate is not verified, as Postfix's "may" level).
func newSMTPClient(conn net.Conn, hostname, serverName string, wantTLS bool, t Timeouts) (*smtpClient, error) {
	c := &smtpClient{conn: conn, timeout: t}
	c.r, c.w = bufio.NewReaderSize(conn, 4096), bufio.NewWriterSize(conn, 32<<10)
	c.deadline(t.Command)
	greet, err := c.readReply()
	if err != nil {
		return nil, fmt.Errorf("greeting: %w", err)
	}
	if greet.Code != 220 {
		return nil, fmt.Errorf("greeting: %w", &replyError{greet})
	}
	if err := c.hello(hostname); err != nil {
		return nil, err
	}
	if _, ok := c.ext["STARTTLS"]; !ok || !wantTLS {
		return c, nil
	}
	r, err := c.cmd("STARTTLS")
	if err != nil || r.Code != 220 {
		if err == nil {
			err = &replyError{r}
		}
		return nil, fmt.Errorf("%w: %v", errTLSFailed, err)
	}
	tc := tls.Client(conn, &tls.Config{ServerName: serverName, InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}) //nolint:gosec // opportunistic TLS: encryption without authentication
	if err := tc.Handshake(); err != nil {
		return nil, fmt.Errorf("%w: %v", errTLSFailed, err)
	}
	c.conn, c.tls = tc, true
	c.r.Reset(tc)
	c.w.Reset(tc)
	if err := c.hello(hostname); err != nil {
		return nil, fmt.Errorf("%w: EHLO after STARTTLS: %v", errTLSFailed, err)
	}
	return c, nil
}

func (c *smtpClient) deadline(d time.Duration) { _ = c.conn.SetDeadline(time.Now().Add(d)) }

// hello says EHLO (HELO when EHLO is refused) and records the extensions.
func (c *smtpClient) hello(name string) error {
	r, err := c.cmd("EHLO " + name)
	if err != nil {
		return fmt.Errorf("EHLO: %w", err)
	}
	c.ext = map[string]string{}
	if r.Code == 250 {
		lines := strings.Split(r.Text, "\n")
		for _, l := range lines[1:] {
			k, v, _ := strings.Cut(strings.TrimSpace(l), " ")
			if k != "" {
				c.ext[strings.ToUpper(k)] = v
			}
		}
		return nil
	}
	if r, err = c.cmd("HELO " + name); err != nil {
		return fmt.Errorf("HELO: %w", err)
	}
	if r.Code != 250 {
		return fmt.Errorf("HELO: %w", &replyError{r})
	}
	return nil
}

// has reports whether the next hop offered an extension.
func (c *smtpClient) has(ext string) bool {
	_, ok := c.ext[ext]
	return ok
}

// maxSize is the next hop's SIZE limit, 0 when it gives none.
func (c *smtpClient) maxSize() int64 {
	n, _ := strconv.ParseInt(c.ext["SIZE"], 10, 64)
	return n
}

// cmd sends one command and reads its reply.
func (c *smtpClient) cmd(line string) (pipeline.Reply, error) {
	c.deadline(c.timeout.Command)
	if _, err := c.w.WriteString(line + "\r\n"); err != nil {
		return pipeline.Reply{}, err
	}
	if err := c.w.Flush(); err != nil {
		return pipeline.Reply{}, err
	}
	return c.readReply()
}

// readReply reads one reply; lines after the first are joined with "\n".
// The enhanced status code (RFC 3463), when the text starts with one of the
// reply's class, is taken out of the text.
func (c *smtpClient) readReply() (pipeline.Reply, error) {
	var r pipeline.Reply
	var lines []string
	for n := 0; ; n++ {
		if n == maxReplyLines {
			return r, errors.New("reply has too many lines")
		}
		l, err := c.r.ReadSlice('\n')
		if err != nil {
			if errors.Is(err, bufio.ErrBufferFull) {
				err = errors.New("reply line too long")
			}
			return r, err
		}
		s := strings.TrimRight(string(l), "\r\n")
		if len(s) < 3 || (len(s) > 3 && s[3] != ' ' && s[3] != '-') {
			return r, fmt.Errorf("malformed reply line %q", s)
		}
		code, err := strconv.Atoi(s[:3])
		if err != nil || code < 200 || code > 599 {
			return r, fmt.Errorf("malformed reply code in %q", s)
		}
		if n > 0 && code != r.Code {
			return r, fmt.Errorf("reply code changed within a reply: %q", s)
		}
		r.Code = code
		text := ""
		if len(s) > 4 {
			text = s[4:]
		}
		if n == 0 {
			if enh, rest, ok := parseEnhanced(text, code/100); ok {
				r.Enhanced, text = enh, rest
			}
		} else if enh, rest, ok := parseEnhanced(text, code/100); ok && enh == r.Enhanced {
			text = rest
		}
		lines = append(lines, text)
		if len(s) == 3 || s[3] == ' ' {
			break
		}
	}
	if r.Enhanced == [3]int{} {
		r.Enhanced = [3]int{r.Code / 100, 0, 0}
	}
	r.Text = strings.Join(lines, "\n")
	return r, nil
}

// parseEnhanced takes "x.y.z " off the front of a reply text.
func parseEnhanced(text string, class int) ([3]int, string, bool) {
	var e [3]int
	head, rest, _ := strings.Cut(text, " ")
	parts := strings.Split(head, ".")
	if len(parts) != 3 {
		return e, text, false
	}
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || n > 999 || len(p) > 3 {
			return e, text, false
		}
		e[i] = n
	}
	if e[0] != class {
		return e, text, false
	}
	return e, rest, true
}

// transaction is what the next hop answered to one message.
type transaction struct {
	mail  pipeline.Reply
	rcpts []pipeline.Reply // one per recipient, in order; zero when never sent
	data  pipeline.Reply   // the final reply after the content; zero when not reached
	// answered is set once the next hop replied to anything of this
	// transaction: a failure before that says nothing about the message. A
	// 421 in place of the MAIL reply does not count: it is a kept
	// connection's idle timeout that was waiting in the socket.
	answered bool
}

// envelopeLine builds MAIL FROM with the parameters the next hop supports.
func (c *smtpClient) mailLine(env pipeline.Envelope, size int64, eightBit bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "MAIL FROM:<%s>", env.From)
	if c.has("SIZE") {
		fmt.Fprintf(&b, " SIZE=%d", size)
	}
	if eightBit && c.has("8BITMIME") {
		b.WriteString(" BODY=8BITMIME")
	}
	if env.SMTPUTF8 && c.has("SMTPUTF8") {
		b.WriteString(" SMTPUTF8")
	}
	if c.has("DSN") {
		if env.Ret != "" {
			b.WriteString(" RET=" + env.Ret)
		}
		if env.EnvID != "" {
			b.WriteString(" ENVID=" + xtext(env.EnvID))
		}
	}
	return b.String()
}

func (c *smtpClient) rcptLine(r pipeline.Recipient) string {
	var b strings.Builder
	fmt.Fprintf(&b, "RCPT TO:<%s>", r.Addr)
	if c.has("DSN") {
		if len(r.Notify) > 0 {
			b.WriteString(" NOTIFY=" + strings.Join(r.Notify, ","))
		}
		if r.ORcpt != "" {
			t := strings.ToLower(r.ORcptType)
			if t == "" {
				t = "rfc822"
			}
			b.WriteString(" ORCPT=" + t + ";" + xtext(r.ORcpt))
		}
	}
	return b.String()
}

// send runs one mail transaction. An error means the connection is gone;
// t holds the replies received until then.
func (c *smtpClient) send(env pipeline.Envelope, rcpts []pipeline.Recipient, content io.Reader, size int64, eightBit bool) (t transaction, err error) {
	t.rcpts = make([]pipeline.Reply, len(rcpts))
	accepted := 0
	c.deadline(c.timeout.Command)
	if c.has("PIPELINING") {
		c.w.WriteString(c.mailLine(env, size, eightBit) + "\r\n")
		for _, r := range rcpts {
			c.w.WriteString(c.rcptLine(r) + "\r\n")
		}
		c.w.WriteString("DATA\r\n")
		if err := c.w.Flush(); err != nil {
			return t, err
		}
		if t.mail, err = c.readReply(); err != nil {
			return t, err
		}
		t.answered = t.mail.Code != 421
		for i := range rcpts {
			if t.rcpts[i], err = c.readReply(); err != nil {
				return t, err
			}
			if t.rcpts[i].Code/100 == 2 {
				accepted++
			}
		}
		dataReply, err := c.readReply()
		if err != nil {
			return t, err
		}
		if t.mail.Code/100 != 2 || accepted == 0 || dataReply.Code != 354 {
			if dataReply.Code == 354 {
				// The next hop took DATA although nothing was accepted:
				// end the empty message at once (RFC 2920 3.1).
				if _, err := c.cmd("."); err != nil {
					return t, err
				}
			} else if t.mail.Code/100 == 2 && accepted > 0 {
				t.data = dataReply
			}
			return t, c.reset()
		}
	} else {
		if t.mail, err = c.cmd(c.mailLine(env, size, eightBit)); err != nil {
			return t, err
		}
		t.answered = t.mail.Code != 421
		if t.mail.Code/100 != 2 {
			return t, c.reset()
		}
		for i, r := range rcpts {
			if t.rcpts[i], err = c.cmd(c.rcptLine(r)); err != nil {
				return t, err
			}
			if t.rcpts[i].Code/100 == 2 {
				accepted++
			}
		}
		if accepted == 0 {
			return t, c.reset()
		}
		dataReply, err := c.cmd("DATA")
		if err != nil {
			return t, err
		}
		if dataReply.Code != 354 {
			t.data = dataReply
			return t, c.reset()
		}
	}
	c.deadline(c.timeout.Data)
	if c.buf == nil {
		c.buf = make([]byte, 32<<10)
	}
	if err := writeDotStuffed(c.w, content, c.buf); err != nil {
		return t, err
	}
	if err := c.w.Flush(); err != nil {
		return t, err
	}
	t.data, err = c.readReply()
	return t, err
}

// reset ends a transaction that did not get to the content.
func (c *smtpClient) reset() error {
	r, err := c.cmd("RSET")
	if err != nil {
		return err
	}
	if r.Code != 250 {
		return &replyError{r}
	}
	return nil
}

// close says QUIT (briefly) and closes the connection.
func (c *smtpClient) close() {
	_ = c.conn.SetDeadline(time.Now().Add(2 * time.Second))
	_, _ = c.w.WriteString("QUIT\r\n")
	if c.w.Flush() == nil {
		_, _ = c.readReply()
	}
	c.conn.Close()
}

// writeDotStuffed writes content with every line starting with "." doubled
// (RFC 5321 4.5.2), ends it with CRLF if it does not, and adds the final
// "."; buf is scratch space for reading.
func writeDotStuffed(w *bufio.Writer, content io.Reader, buf []byte) error {
	atLineStart := true
	var prev, prev2 byte // the last two bytes written
	for {
		n, rerr := content.Read(buf)
		p := buf[:n]
		for len(p) > 0 {
			if atLineStart && p[0] == '.' {
				if err := w.WriteByte('.'); err != nil {
					return err
				}
			}
			seg := p
			if i := bytes.IndexByte(p, '\n'); i >= 0 {
				seg = p[:i+1]
			}
			if _, err := w.Write(seg); err != nil {
				return err
			}
			if len(seg) >= 2 {
				prev2, prev = seg[len(seg)-2], seg[len(seg)-1]
			} else {
				prev2, prev = prev, seg[0]
			}
			atLineStart = prev == '\n'
			p = p[len(seg):]
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return rerr
		}
	}
	if prev != 0 && (prev2 != '\r' || prev != '\n') {
		if _, err := w.WriteString("\r\n"); err != nil {
			return err
		}
	}
	_, err := w.WriteString(".\r\n")
	return err
}

// xtext encodes a DSN parameter value (RFC 3461 4).
func xtext(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if ch < '!' || ch > '~' || ch == '+' || ch == '=' {
			fmt.Fprintf(&b, "+%02X", ch)
			continue
		}
		b.WriteByte(ch)
	}
	return b.String()
}
