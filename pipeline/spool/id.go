package spool

import (
	"crypto/rand"
	"encoding/binary"
	"strings"
	"sync/atomic"
	"time"
)

// crockford is Crockford's base32: no I, L, O or U, so IDs read aloud well.
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// IDLen is the length of a queue ID.
const IDLen = 16

// timeChars is how many leading characters of an ID encode its time.
const timeChars = 11

// IDs makes queue IDs: 11 characters of microseconds since the epoch (55
// bits: they sort by arrival for the next thousand years) and 5 of a
// per-process counter started at a random value (unique among arrivals in
// the same microsecond; a spool has one owner, so no other process makes
// IDs for it at the same time).
type IDs struct {
	seq atomic.Uint32
}

// NewIDs creates an ID generator.
func NewIDs() *IDs {
	var b [4]byte
	_, _ = rand.Read(b[:])
	g := &IDs{}
	g.seq.Store(binary.BigEndian.Uint32(b[:]))
	return g
}

// New returns a fresh queue ID.
func (g *IDs) New() string {
	var b [IDLen]byte
	t := uint64(time.Now().UnixMicro())
	for i := timeChars - 1; i >= 0; i-- {
		b[i] = crockford[t&31]
		t >>= 5
	}
	n := g.seq.Add(1)
	for i := IDLen - 1; i >= timeChars; i-- {
		b[i] = crockford[n&31]
		n >>= 5
	}
	return string(b[:])
}

// ValidID reports whether s has the shape of a queue ID. Anything that
// reaches a file name must pass this first: it rules out path tricks.
func ValidID(s string) bool {
	if len(s) != IDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' && c != 'I' && c != 'L' && c != 'O' && c != 'U') {
			return false
		}
	}
	return true
}

// IDTime is when a queue ID was made (to the microsecond); ok is false for
// a string that is not a queue ID.
func IDTime(id string) (t time.Time, ok bool) {
	if !ValidID(id) {
		return time.Time{}, false
	}
	var us uint64
	for i := 0; i < timeChars; i++ {
		us = us<<5 | uint64(strings.IndexByte(crockford, id[i]))
	}
	return time.UnixMicro(int64(us)), true
}
