package cef

import (
	"encoding/binary"
	"errors"
	"time"
)

// A stored record is what the disk buffer keeps: the CEF text plus what
// any target's syslog header needs, so that each target can frame it its
// own way when it sends. Layout: 8 bytes time (Unix nanoseconds, little
// endian), 1 byte CEF severity, 1 byte MSGID length, MSGID, CEF text.
const storedFixed = 10

func appendStored(dst []byte, t time.Time, severity int, msgID string, cef []byte) []byte {
	if len(msgID) > 255 {
		msgID = msgID[:255]
	}
	dst = binary.LittleEndian.AppendUint64(dst, uint64(t.UnixNano()))
	dst = append(dst, byte(severity), byte(len(msgID)))
	dst = append(dst, msgID...)
	return append(dst, cef...)
}

type stored struct {
	time     time.Time
	severity int
	msgID    string
	cef      []byte
}

var errShortRecord = errors.New("stored record too short")

func decodeStored(b []byte) (stored, error) {
	if len(b) < storedFixed {
		return stored{}, errShortRecord
	}
	n := int(b[9])
	if len(b) < storedFixed+n {
		return stored{}, errShortRecord
	}
	return stored{
		time:     time.Unix(0, int64(binary.LittleEndian.Uint64(b))),
		severity: int(b[8]),
		msgID:    string(b[storedFixed : storedFixed+n]),
		cef:      b[storedFixed+n:],
	}, nil
}
