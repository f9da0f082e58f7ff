package cef

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gatewatch/gatewatch/telemetry"
	"github.com/gatewatch/gatewatch/telemetry/cef/journal"
	"github.com/gatewatch/gatewatch/telemetry/stats"
)

// Sender timings and batch sizes.
const (
	dialTimeout = 5 * time.Second
	minBackoff  = 100 * time.Millisecond
	maxBackoff  = 5 * time.Second
	// userTimeout: data unacknowledged this long breaks the connection, so
	// a receiver that vanished without a FIN or RST is noticed.
	userTimeout     = 30 * time.Second
	ackPoll         = 20 * time.Millisecond
	maxBatchRecords = 512
	maxBatchBytes   = 256 << 10
	// tlsChunk is one TLS record's worth of plaintext (dynamic record
	// sizing is off). A receiver decrypts whole TLS records only, so a
	// chunk that was acknowledged in full was taken in full: chunk
	// boundaries are where a broken TLS connection can resume exactly.
	tlsChunk = 16384
)

// sender delivers one target's records from the disk buffer, in order.
// Over TCP and TLS a record counts as delivered (and leaves the buffer)
// once the receiver's TCP stack acknowledged its last byte; a connection
// that breaks resumes at the first record that was not, so nothing is lost
// and nothing the receiver took is sent twice.
type sender struct {
	name     string // channel name: cef:<target>
	target   Target
	cursor   *journal.Cursor
	framer   framer
	tls      *tls.Config // TLS targets only
	emit     telemetry.Emitter
	sent     *stats.Counter
	dropped  *stats.Counter
	backlog  *stats.Gauge
	backlogB *stats.Gauge
	grace    time.Duration // how long a stop may take to hand over what is left
	stop     chan struct{}
	done     chan struct{}
}

// countingConn counts the bytes handed to the socket: with TLS these are
// the ciphertext bytes, the unit the kernel acknowledges.
type countingConn struct {
	net.Conn
	n atomic.Uint64
}

func (c *countingConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.n.Add(uint64(n))
	return n, err
}

// stream is one connection to a TCP or TLS target.
type stream struct {
	conn    net.Conn // what records are written to (TLS or plain)
	tcp     *net.TCPConn
	counted *countingConn
	pending []unit // written, not yet acknowledged, in order
	readErr chan error
}

// unit is what one acknowledgement point settles: the records up to seq
// next-1, written once end bytes had gone to the socket.
type unit struct {
	end  uint64
	next uint64
	n    uint64
}

func (s *sender) stopped() bool {
	select {
	case <-s.stop:
		return true
	default:
		return false
	}
}

// sleep waits d or until stopped; it reports whether to go on.
func (s *sender) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-s.stop:
		return false
	}
}

func (s *sender) announce(typ telemetry.Type, text string, err error) {
	ev := telemetry.Event{Type: typ, Channel: s.name, Remote: s.target.HostPort(), Text: text}
	if err != nil {
		ev.Err = err.Error()
	}
	s.emit.Emit(ev)
}

func (s *sender) run() {
	defer close(s.done)
	if s.target.Transport() == "udp" {
		s.runDatagrams()
		return
	}
	backoff := minBackoff
	down := false
	for !s.stopped() {
		st, err := s.dial()
		if err != nil {
			if !down {
				s.announce(telemetry.ChannelDisconnected, "cannot reach the syslog receiver; records wait in the disk buffer", err)
				down = true
			}
			if !s.sleep(backoff) {
				return
			}
			backoff = min(backoff*2, maxBackoff)
			continue
		}
		backoff = minBackoff
		down = false
		s.announce(telemetry.ChannelConnected, "connected to the syslog receiver", nil)
		err = s.session(st)
		if s.stopped() {
			return
		}
		s.announce(telemetry.ChannelDisconnected, "lost the syslog receiver; records wait in the disk buffer", err)
		down = true
		if !s.sleep(minBackoff) {
			return
		}
	}
}

func (s *sender) dial() (*stream, error) {
	// A stop does not wait for a receiver that swallows connection attempts.
	ctx, cancel := context.WithTimeout(context.Background(), dialTimeout)
	defer cancel()
	go func() {
		select {
		case <-s.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", s.target.HostPort())
	if err != nil {
		return nil, err
	}
	tcp := c.(*net.TCPConn)
	if err := tuneStream(tcp, userTimeout); err != nil {
		c.Close()
		return nil, fmt.Errorf("socket options: %w", err)
	}
	st := &stream{tcp: tcp, counted: &countingConn{Conn: c}, readErr: make(chan error, 1)}
	st.conn = st.counted
	if s.tls != nil {
		tc := tls.Client(st.counted, s.tls)
		if err := tc.HandshakeContext(ctx); err != nil {
			c.Close()
			return nil, fmt.Errorf("TLS handshake: %w", err)
		}
		st.conn = tc
	}
	go func() {
		// Receivers send nothing; reading tells when they hang up.
		_, err := io.Copy(io.Discard, st.conn)
		if err == nil {
			err = io.EOF
		}
		st.readErr <- err
	}()
	return st, nil
}

// session sends until the connection breaks or the sender is stopped.
func (s *sender) session(st *stream) error {
	s.cursor.Rewind()
	// A receiver that stopped reading blocks a write until the kernel
	// gives up (userTimeout): a stop must not wait that long.
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-s.stop:
			_ = st.conn.SetWriteDeadline(time.Now().Add(s.grace))
		case <-done:
		}
	}()
	ticker := time.NewTicker(ackPoll)
	defer ticker.Stop()
	var buf []byte
	for {
		select {
		case err := <-st.readErr:
			return s.broken(st, fmt.Errorf("receiver hung up: %w", err))
		case <-s.stop:
			return s.finish(st)
		default:
		}
		recs, err := s.cursor.Next(maxBatchRecords, maxBatchBytes)
		if err != nil {
			return s.broken(st, fmt.Errorf("disk buffer: %w", err))
		}
		if len(recs) == 0 {
			s.settle(st)
			select {
			case <-s.cursor.Ready():
			case <-ticker.C:
			case err := <-st.readErr:
				return s.broken(st, fmt.Errorf("receiver hung up: %w", err))
			case <-s.stop:
				return s.finish(st)
			}
			continue
		}
		if buf, err = s.write(st, recs, buf); err != nil {
			return s.broken(st, err)
		}
		s.settle(st)
	}
}

// write sends recs and notes where each acknowledgement point lies.
func (s *sender) write(st *stream, recs []journal.Record, buf []byte) ([]byte, error) {
	if s.tls != nil {
		return s.writeChunks(st, recs, buf)
	}
	// Plain TCP: every record's last byte is an acknowledgement point.
	buf = buf[:0]
	base := st.counted.n.Load()
	marks := make([]unit, 0, len(recs))
	for _, r := range recs {
		n := uint64(1)
		var err error
		if buf, err = s.framer.append(buf, r); err != nil {
			s.dropped.Inc() // undecodable: lost, counted, settled with its neighbours
			n = 0
		}
		marks = append(marks, unit{end: base + uint64(len(buf)), next: r.Seq + 1, n: n})
	}
	if _, err := st.conn.Write(buf); err != nil {
		return buf, fmt.Errorf("write: %w", err)
	}
	st.pending = append(st.pending, marks...)
	return buf, nil
}

// writeChunks sends recs over TLS in chunks of whole records of at most one
// TLS record each; a record bigger than that goes alone.
func (s *sender) writeChunks(st *stream, recs []journal.Record, buf []byte) ([]byte, error) {
	var one []byte
	buf = buf[:0]
	var n uint64
	send := func(last uint64) error {
		if len(buf) > 0 {
			if _, err := st.conn.Write(buf); err != nil {
				return fmt.Errorf("write: %w", err)
			}
		}
		st.pending = append(st.pending, unit{end: st.counted.n.Load(), next: last + 1, n: n})
		buf, n = buf[:0], 0
		return nil
	}
	for i, r := range recs {
		var err error
		if one, err = s.framer.append(one[:0], r); err != nil {
			s.dropped.Inc()
			one = one[:0]
		} else if len(buf) > 0 && len(buf)+len(one) > tlsChunk {
			if err := send(recs[i-1].Seq); err != nil {
				return buf, err
			}
		}
		buf = append(buf, one...)
		if err == nil {
			n++
		}
	}
	return buf, send(recs[len(recs)-1].Seq)
}

// settle commits every record the receiver acknowledged.
func (s *sender) settle(st *stream) {
	if len(st.pending) == 0 {
		return
	}
	acked, err := ackedBytes(st.tcp)
	if err != nil {
		// Without the kernel's count, only what was written is known.
		acked = st.counted.n.Load()
	}
	i := 0
	var n uint64
	for i < len(st.pending) && st.pending[i].end <= acked {
		n += st.pending[i].n
		i++
	}
	if i == 0 {
		return
	}
	next := st.pending[i-1].next
	st.pending = append(st.pending[:0], st.pending[i:]...)
	_ = s.cursor.Commit(next) // an error here is the disk's; the journal reports it on sync
	s.sent.Add(n)
	s.updateBacklog()
}

func (s *sender) updateBacklog() {
	recs, bytes := s.cursor.Backlog()
	s.backlog.Set(int64(recs))
	s.backlogB.Set(bytes)
}

// broken settles what the receiver took before the connection ended (the
// kernel's count stays readable until the socket is closed) and closes it;
// the next session resends the rest.
func (s *sender) broken(st *stream, cause error) error {
	s.settle(st)
	st.pending = nil
	_ = st.tcp.Close()
	return cause
}

// finish hands over what it can within the grace period on a stop, waits
// for the receiver to acknowledge it, then closes the connection cleanly so
// that the receiver processes everything it read.
func (s *sender) finish(st *stream) error {
	deadline := time.Now().Add(s.grace)
	var buf []byte
	for time.Now().Before(deadline) {
		recs, err := s.cursor.Next(maxBatchRecords, maxBatchBytes)
		if err != nil || len(recs) == 0 {
			break
		}
		_ = st.conn.SetWriteDeadline(deadline)
		if buf, err = s.write(st, recs, buf); err != nil {
			return s.broken(st, err)
		}
		s.settle(st)
	}
	for len(st.pending) > 0 && time.Now().Before(deadline) {
		select {
		case err := <-st.readErr:
			return s.broken(st, err)
		case <-time.After(5 * time.Millisecond):
		}
		s.settle(st)
	}
	s.settle(st)
	if cw, ok := st.conn.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	} else {
		_ = st.tcp.CloseWrite()
	}
	select {
	case <-st.readErr:
	case <-time.After(time.Until(deadline) + 100*time.Millisecond):
	}
	return s.broken(st, errStopped)
}

var errStopped = errors.New("stopped")

// runDatagrams sends over UDP (RFC 5426): one record per datagram, best
// effort by nature. A datagram the receiver's host refused (ICMP port
// unreachable) is counted as dropped.
func (s *sender) runDatagrams() {
	var conn net.Conn
	for conn == nil {
		c, err := net.Dial("udp", s.target.HostPort())
		if err == nil {
			conn = c
			break
		}
		if !s.sleep(maxBackoff) {
			return
		}
	}
	defer conn.Close()
	s.announce(telemetry.ChannelConnected, "sending datagrams to the syslog receiver", nil)
	var buf []byte
	for {
		recs, err := s.cursor.Next(maxBatchRecords, maxBatchBytes)
		if err == nil && len(recs) == 0 {
			select {
			case <-s.cursor.Ready():
				continue
			case <-s.stop:
				return
			}
		}
		if err != nil {
			if !s.sleep(minBackoff) {
				return
			}
			continue
		}
		var ok uint64
		for _, r := range recs {
			var ferr error
			if buf, ferr = s.framer.append(buf[:0], r); ferr == nil {
				_, ferr = conn.Write(buf)
			}
			if ferr != nil {
				s.dropped.Inc()
				if !errors.Is(ferr, syscall.ECONNREFUSED) && !errors.Is(ferr, errShortRecord) {
					s.sleep(minBackoff)
				}
				continue
			}
			ok++
		}
		_ = s.cursor.Commit(recs[len(recs)-1].Seq + 1)
		s.sent.Add(ok)
		s.updateBacklog()
	}
}
