package spool

import (
	"errors"
	"fmt"
	"strconv"
)

// A spool file is
//
//	line 1, 80 bytes: "GWSPOOL1 content=%012d meta=%08d crc=%08x n=%06d" padded, "\n"
//	line 2, mutable:  "attempts=%06d next=%013d status=<one byte per recipient>\n"
//	the content       (content bytes)
//	the meta JSON     (meta bytes)
//
// Line 1 is written last, once the sizes and the CRC-32C of content+meta are
// known, so a file cut short anywhere fails to verify. Line 2 has a fixed
// length for a given recipient count and is rewritten in place as recipients
// get their final outcome; it is outside the checksum.

const (
	magic        = "GWSPOOL1"
	headLen      = 80
	mutablePre   = "attempts=000000 next=0000000000000 status="
	maxRecipents = 999999
)

// Recipient outcomes as stored in line 2.
const (
	RcptPending   byte = 'P'
	RcptDelivered byte = 'D'
	RcptFailed    byte = 'F'
)

// ErrCorrupt marks a spool file that cannot be trusted.
var ErrCorrupt = errors.New("spool file corrupt")

// head is line 1.
type head struct {
	contentLen int64
	metaLen    int64
	crc        uint32
	rcpts      int
}

func (h head) encode() []byte {
	s := fmt.Sprintf("%s content=%012d meta=%08d crc=%08x n=%06d", magic, h.contentLen, h.metaLen, h.crc, h.rcpts)
	b := make([]byte, headLen)
	copy(b, s)
	for i := len(s); i < headLen-1; i++ {
		b[i] = ' '
	}
	b[headLen-1] = '\n'
	return b
}

func decodeHead(b []byte) (head, error) {
	var h head
	if len(b) < headLen || b[headLen-1] != '\n' || string(b[:len(magic)]) != magic {
		return h, fmt.Errorf("%w: bad header line", ErrCorrupt)
	}
	// Fixed offsets: "GWSPOOL1 content=" is 17 bytes, then 12 digits, ...
	field := func(from, n int, base int) (int64, error) {
		v, err := strconv.ParseInt(string(b[from:from+n]), base, 64)
		if err != nil || v < 0 {
			return 0, fmt.Errorf("%w: bad header field at %d", ErrCorrupt, from)
		}
		return v, nil
	}
	const (
		contentAt = len(magic) + len(" content=")
		metaAt    = contentAt + 12 + len(" meta=")
		crcAt     = metaAt + 8 + len(" crc=")
		nAt       = crcAt + 8 + len(" n=")
	)
	if string(b[contentAt-9:contentAt]) != " content=" || string(b[metaAt-6:metaAt]) != " meta=" ||
		string(b[crcAt-5:crcAt]) != " crc=" || string(b[nAt-3:nAt]) != " n=" {
		return h, fmt.Errorf("%w: bad header layout", ErrCorrupt)
	}
	var err error
	if h.contentLen, err = field(contentAt, 12, 10); err != nil {
		return h, err
	}
	if h.metaLen, err = field(metaAt, 8, 10); err != nil {
		return h, err
	}
	crc, err := field(crcAt, 8, 16)
	if err != nil {
		return h, err
	}
	h.crc = uint32(crc)
	n, err := field(nAt, 6, 10)
	if err != nil {
		return h, err
	}
	h.rcpts = int(n)
	return h, nil
}

// State is line 2: what delivery has done so far.
type State struct {
	Attempts int
	Next     int64  // unix milliseconds of the next attempt; 0 = now
	Rcpts    []byte // one of RcptPending, RcptDelivered, RcptFailed per recipient
}

func mutableLen(rcpts int) int { return len(mutablePre) + rcpts + 1 }

func (s State) encode() []byte {
	// Clamp to the field widths: a longer line would overwrite the content.
	b := fmt.Appendf(nil, "attempts=%06d next=%013d status=", min(max(s.Attempts, 0), 999999), min(max(s.Next, 0), 9999999999999))
	b = append(b, s.Rcpts...)
	return append(b, '\n')
}

func decodeState(b []byte, rcpts int) (State, error) {
	var s State
	if len(b) != mutableLen(rcpts) || b[len(b)-1] != '\n' ||
		string(b[:9]) != "attempts=" || string(b[15:21]) != " next=" || string(b[34:42]) != " status=" {
		return s, fmt.Errorf("%w: bad state line", ErrCorrupt)
	}
	a, err := strconv.Atoi(string(b[9:15]))
	if err != nil || a < 0 {
		return s, fmt.Errorf("%w: bad attempts", ErrCorrupt)
	}
	next, err := strconv.ParseInt(string(b[21:34]), 10, 64)
	if err != nil || next < 0 {
		return s, fmt.Errorf("%w: bad next attempt time", ErrCorrupt)
	}
	st := b[len(mutablePre) : len(b)-1]
	for _, c := range st {
		if c != RcptPending && c != RcptDelivered && c != RcptFailed {
			return s, fmt.Errorf("%w: bad recipient status %q", ErrCorrupt, c)
		}
	}
	s.Attempts, s.Next, s.Rcpts = a, next, append([]byte(nil), st...)
	return s, nil
}
