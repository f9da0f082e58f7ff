package clamd

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

const (
	// chunkSize is the largest INSTREAM chunk sent. Larger chunks save
	// little once the socket buffers are full; smaller ones cost a header
	// and a read call in clamd each.
	chunkSize   = 64 << 10
	chunkHeader = 4 // big-endian length before each chunk
)

// Scan sends size bytes from r to clamd with INSTREAM and returns its
// verdict. Any failure, including a clamd "ERROR" reply or a broken
// connection, is an error and never a clean result.
func (c *Client) Scan(ctx context.Context, r io.Reader, size int64) (Result, error) {
	if size < 0 {
		return Result{}, fmt.Errorf("clamd: negative object size %d", size)
	}
	if size > c.cfg.MaxStream {
		return Result{}, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, size, c.cfg.MaxStream)
	}
	reply, err := c.exchange(ctx, "INSTREAM", func(w io.Writer) error {
		return writeStream(w, r, size)
	})
	if err != nil {
		return Result{}, err
	}
	res, err := parseReply(reply)
	if err != nil {
		return Result{}, fmt.Errorf("clamd INSTREAM at %s: %w", c.ep, err)
	}
	return res, nil
}

// writeStream frames exactly size bytes of r as INSTREAM chunks and ends the
// stream. An object shorter or longer than size is an error: scanning only
// a part would let whatever was left out pass unscanned.
func writeStream(w io.Writer, r io.Reader, size int64) error {
	buf := make([]byte, chunkHeader+min(size, chunkSize))
	for left := size; left > 0; {
		n := min(left, chunkSize)
		binary.BigEndian.PutUint32(buf, uint32(n))
		if _, err := io.ReadFull(r, buf[chunkHeader:chunkHeader+n]); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return fmt.Errorf("object ended %d bytes before its stated size %d", left, size)
			}
			return fmt.Errorf("reading the object: %w", err)
		}
		if _, err := w.Write(buf[:chunkHeader+n]); err != nil {
			return fmt.Errorf("sending the object: %w", err)
		}
		left -= n
	}
	var probe [1]byte
	if n, _ := io.ReadFull(r, probe[:]); n > 0 {
		return fmt.Errorf("object is longer than its stated size %d", size)
	}
	if _, err := w.Write(make([]byte, chunkHeader)); err != nil {
		return fmt.Errorf("ending the stream: %w", err)
	}
	return nil
}
