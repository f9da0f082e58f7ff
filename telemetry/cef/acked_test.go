package cef

import (
	"io"
	"net"
	"testing"
	"time"
)

// TestAckedBytesCountsDataOnly pins down the kernel figure the exactly-once
// logic rests on: after n bytes were read by the peer, bytes_acked is n,
// not n+1 for the SYN; and it is still readable after the peer closed.
func TestAckedBytesCountsDataOnly(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan int64, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			got <- -1
			return
		}
		n, _ := io.CopyN(io.Discard, c, 12345)
		c.Close()
		got <- n
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	tc := c.(*net.TCPConn)
	if err := tuneStream(tc, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write(make([]byte, 12345)); err != nil {
		t.Fatal(err)
	}
	if n := <-got; n != 12345 {
		t.Fatalf("peer read %d bytes", n)
	}
	// The peer closed: our read sees EOF once its FIN arrived.
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("read after peer close: %v, want EOF", err)
	}
	acked, err := ackedBytes(tc)
	if err != nil {
		t.Fatal(err)
	}
	if acked != 12345 {
		t.Errorf("bytes_acked = %d, want exactly the 12345 bytes written", acked)
	}
}
