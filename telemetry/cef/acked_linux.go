package cef

import (
	"fmt"
	"net"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// ackedBytes is how many data bytes the peer's TCP stack has acknowledged
// on c (tcpi_bytes_acked, Linux 4.1+, counts the SYN too). It stays readable after the peer closed
// or reset the connection, until c itself is closed; that is what lets a
// broken connection resume at the first record the peer did not take.
func ackedBytes(c syscall.Conn) (uint64, error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return 0, fmt.Errorf("acked bytes: %w", err)
	}
	var info *unix.TCPInfo
	var serr error
	if err := raw.Control(func(fd uintptr) {
		info, serr = unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO)
	}); err != nil {
		return 0, fmt.Errorf("acked bytes: %w", err)
	}
	if serr != nil {
		return 0, fmt.Errorf("acked bytes: TCP_INFO: %w", serr)
	}
	if info.Bytes_acked == 0 {
		return 0, nil
	}
	return info.Bytes_acked - 1, nil // the SYN's sequence number
}

// tuneStream makes a dead peer show up as an error instead of a write that
// blocks forever: keepalives for an idle connection, and a user timeout
// for data that stays unacknowledged.
func tuneStream(c *net.TCPConn, userTimeout time.Duration) error {
	if err := c.SetKeepAlivePeriod(15 * time.Second); err != nil {
		return err
	}
	if err := c.SetKeepAlive(true); err != nil {
		return err
	}
	raw, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := raw.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_USER_TIMEOUT, int(userTimeout/time.Millisecond))
	}); err != nil {
		return err
	}
	return serr
}
