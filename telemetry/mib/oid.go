// Package mib is Gatewatch's SNMP view of itself: the GATEWATCH-MIB module
// (defined here from telemetry/stats and the event catalog, and written out
// as SMIv2 text), the standard MTA-MIB and NETWORK-SERVICES-MIB objects
// mapped from the same statistics, the values of all of them at one moment
// as a sorted list for the AgentX subagent, and the varbinds of each
// notification for the trap sender.
package mib

import (
	"fmt"
	"strconv"
	"strings"
)

// OID is an object identifier.
type OID []uint32

// ParseOID reads a dotted OID ("1.3.6.1" or ".1.3.6.1").
func ParseOID(s string) (OID, error) {
	s = strings.TrimPrefix(s, ".")
	if s == "" {
		return nil, fmt.Errorf("empty OID")
	}
	parts := strings.Split(s, ".")
	o := make(OID, len(parts))
	for i, p := range parts {
		n, err := strconv.ParseUint(p, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("OID %q: %w", s, err)
		}
		o[i] = uint32(n)
	}
	return o, nil
}

func (o OID) String() string {
	var b strings.Builder
	for i, n := range o {
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(strconv.FormatUint(uint64(n), 10))
	}
	return b.String()
}

// Append returns a new OID: o followed by sub.
func (o OID) Append(sub ...uint32) OID {
	out := make(OID, 0, len(o)+len(sub))
	return append(append(out, o...), sub...)
}

// HasPrefix reports whether p is o or an ancestor of o.
func (o OID) HasPrefix(p OID) bool {
	if len(p) > len(o) {
		return false
	}
	for i := range p {
		if o[i] != p[i] {
			return false
		}
	}
	return true
}

// Compare orders OIDs lexicographically by sub-identifier, as SNMP walks.
func Compare(a, b OID) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		switch {
		case a[i] < b[i]:
			return -1
		case a[i] > b[i]:
			return 1
		}
	}
	switch {
	case len(a) < len(b):
		return -1
	case len(a) > len(b):
		return 1
	}
	return 0
}

// Well-known OIDs.
func Enterprise() OID      { return OID{1, 3, 6, 1, 4, 1, 32473} } // RFC 5612's documentation number
func MTAMIB() OID          { return OID{1, 3, 6, 1, 2, 1, 28} }
func NetworkServices() OID { return OID{1, 3, 6, 1, 2, 1, 27} }
func SysUpTime() OID       { return OID{1, 3, 6, 1, 2, 1, 1, 3, 0} }
func SnmpTrapOID() OID     { return OID{1, 3, 6, 1, 6, 3, 1, 1, 4, 1, 0} }

// SMTPProtocol is {applTCPProtoID 25}, the mail protocol of every group.
func SMTPProtocol() OID { return OID{1, 3, 6, 1, 2, 1, 27, 4, 25} }

// Syntax is the type of a value on the wire.
type Syntax uint8

const (
	Integer Syntax = iota + 1
	OctetString
	ObjectIdentifier
	Counter32
	Gauge32 // also Unsigned32
	TimeTicks
	Counter64
)

func (s Syntax) String() string {
	switch s {
	case Integer:
		return "INTEGER"
	case OctetString:
		return "OCTET STRING"
	case ObjectIdentifier:
		return "OBJECT IDENTIFIER"
	case Counter32:
		return "Counter32"
	case Gauge32:
		return "Gauge32"
	case TimeTicks:
		return "TimeTicks"
	case Counter64:
		return "Counter64"
	}
	return "unknown"
}

// Value is one typed value.
type Value struct {
	Syntax Syntax
	Int    int64  // Integer
	Uint   uint64 // Counter32, Gauge32, TimeTicks, Counter64
	Str    string // OctetString
	OID    OID    // ObjectIdentifier
}

// Varbind is an OID with its value.
type Varbind struct {
	OID   OID
	Value Value
}

func counter64(v uint64) Value { return Value{Syntax: Counter64, Uint: v} }
func counter32(v uint64) Value { return Value{Syntax: Counter32, Uint: v & 0xffffffff} }
func gauge32(v uint64) Value {
	if v > 0xffffffff {
		v = 0xffffffff
	}
	return Value{Syntax: Gauge32, Uint: v}
}
func integer(v int64) Value    { return Value{Syntax: Integer, Int: v} }
func octets(s string) Value    { return Value{Syntax: OctetString, Str: s} }
func objectID(o OID) Value     { return Value{Syntax: ObjectIdentifier, OID: o} }
func timeTicks(v uint64) Value { return Value{Syntax: TimeTicks, Uint: v & 0xffffffff} }
