//go:build !linux

package cef

import (
	"errors"
	"net"
	"syscall"
	"time"
)

// errNoAckCount: without tcpi_bytes_acked a sender can only count what it
// wrote; a broken connection may then lose what was in flight.
var errNoAckCount = errors.New("acknowledged byte count not available on this system")

func ackedBytes(syscall.Conn) (uint64, error) { return 0, errNoAckCount }

func tuneStream(c *net.TCPConn, _ time.Duration) error {
	return c.SetKeepAlive(true)
}
