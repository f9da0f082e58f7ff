package clamd

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"
)

// maxReplyLen bounds what is read as one reply, so that a peer that is not
// clamd cannot make the gateway buffer without end. Real replies are a
// signature name plus a few words.
const maxReplyLen = 4096

// Client talks to one clamd. It is safe for concurrent use.
type Client struct {
	cfg   Config
	ep    endpoint
	slots chan struct{} // one token per connection open to clamd
}

// New checks cfg and returns a client; it does not contact clamd, so the
// gateway can start while clamd is still loading its databases.
func New(cfg Config) (*Client, error) {
	ep, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	return &Client{cfg: cfg, ep: ep, slots: make(chan struct{}, cfg.Connections)}, nil
}

// Ping reports whether clamd answers.
func (c *Client) Ping(ctx context.Context) error {
	return c.expect(ctx, "PING", "PONG")
}

// Reload makes clamd re-read its databases. clamd answers before it has
// finished, so success means only that the reload has begun.
func (c *Client) Reload(ctx context.Context) error {
	return c.expect(ctx, "RELOAD", "RELOADING")
}

// Version returns clamd's engine and database versions.
func (c *Client) Version(ctx context.Context) (Version, error) {
	reply, err := c.exchange(ctx, "VERSION", nil)
	if err != nil {
		return Version{}, err
	}
	return parseVersion(reply)
}

func (c *Client) expect(ctx context.Context, cmd, want string) error {
	reply, err := c.exchange(ctx, cmd, nil)
	if err != nil {
		return err
	}
	if reply != want {
		return fmt.Errorf("clamd %s at %s: got %q, want %q", cmd, c.ep, reply, want)
	}
	return nil
}

// exchange sends one command on a new connection, lets body write any
// payload, and returns clamd's reply without its NUL.
func (c *Client) exchange(ctx context.Context, cmd string, body func(io.Writer) error) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	reply, err := c.exchangeConn(ctx, cmd, body)
	if err != nil {
		ctxErr := ctx.Err()
		if ctxErr == nil && errors.Is(err, os.ErrDeadlineExceeded) {
			// The socket deadline is the context's own and may expire a
			// moment before the context's timer fires.
			ctxErr = context.DeadlineExceeded
		}
		if ctxErr != nil && !errors.Is(err, ctxErr) {
			err = fmt.Errorf("%w (%w)", err, ctxErr)
		}
		return "", fmt.Errorf("clamd %s at %s: %w", cmd, c.ep, err)
	}
	return reply, nil
}

func (c *Client) exchangeConn(ctx context.Context, cmd string, body func(io.Writer) error) (string, error) {
	select {
	case c.slots <- struct{}{}:
		defer func() { <-c.slots }()
	case <-ctx.Done():
		return "", fmt.Errorf("waiting for a free connection: %w", ctx.Err())
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, c.ep.network, c.ep.addr)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		if err := conn.SetDeadline(dl); err != nil {
			return "", err
		}
	}
	// A deadline does not cover cancellation; moving the deadline into the
	// past wakes any blocked read or write at once.
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	cw := &connWriter{conn: conn}
	w := bufio.NewWriterSize(cw, chunkSize+chunkHeader)
	if _, err := w.WriteString("z" + cmd + "\x00"); err != nil {
		return "", err
	}
	if body != nil {
		if err := body(w); err != nil {
			return "", withReply(conn, cw, err)
		}
	}
	if err := w.Flush(); err != nil {
		return "", withReply(conn, cw, err)
	}
	return readReply(conn)
}

// readReply reads one NUL-terminated reply. A reply cut off by EOF is an
// error rather than a short verdict: clamd always terminates its replies.
func readReply(conn net.Conn) (string, error) {
	r := bufio.NewReader(io.LimitReader(conn, maxReplyLen))
	line, err := r.ReadString(0)
	if err != nil {
		if errors.Is(err, io.EOF) {
			return "", fmt.Errorf("connection closed before a complete reply (got %q)", line)
		}
		return "", fmt.Errorf("reading the reply: %w", err)
	}
	return strings.TrimSuffix(line, "\x00"), nil
}

// withReply adds clamd's own explanation to a failed upload when clamd sent
// one before closing: its reply ("... ERROR") says why, the write error only
// that the connection broke. Errors reading the object are returned as they
// are, since clamd has not failed.
func withReply(conn net.Conn, cw *connWriter, err error) error {
	if cw.err == nil {
		return err
	}
	reply, rerr := readReply(conn)
	if rerr != nil {
		return err
	}
	if _, perr := parseReply(reply); perr != nil {
		return fmt.Errorf("%w (sending: %w)", perr, err)
	}
	return err
}

// connWriter remembers whether a write to clamd failed, to tell a broken
// connection apart from a failing object reader.
type connWriter struct {
	conn net.Conn
	err  error
}

func (w *connWriter) Write(p []byte) (int, error) {
	n, err := w.conn.Write(p)
	if err != nil && w.err == nil {
		w.err = err
	}
	return n, err
}
