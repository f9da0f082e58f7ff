package cef

import (
	"strconv"

	"github.com/gatewatch/gatewatch/telemetry/cef/journal"
)

// framer turns stored records into what one target receives: its syslog
// header (RFC 5424 with the record's sequence number, or RFC 3164) and its
// framing (octet counting, newline, or none for datagrams).
type framer struct {
	header  syslogHeader
	format  string
	framing string // "" for datagrams
	body    []byte // scratch
}

func (f *framer) append(dst []byte, rec journal.Record) ([]byte, error) {
	st, err := decodeStored(rec.Data)
	if err != nil {
		return dst, err
	}
	body := f.body[:0]
	if f.format == FormatRFC3164 {
		body = f.header.append3164(body, st.time, st.severity)
		body = appendPrintable(body, st.cef)
	} else {
		body = f.header.append5424(body, st.time, st.severity, st.msgID, rec.Seq)
		body = append(body, st.cef...)
	}
	f.body = body
	switch f.framing {
	case FramingOctet:
		dst = strconv.AppendInt(dst, int64(len(body)), 10)
		dst = append(dst, ' ')
		dst = append(dst, body...)
	case FramingNewline:
		dst = append(dst, body...)
		dst = append(dst, '\n')
	default:
		dst = append(dst, body...)
	}
	return dst, nil
}

// appendPrintable copies text, replacing control characters other than TAB
// by U+FFFD: BSD syslog (RFC 3164) carries printable text, and its parsers
// refuse a message with control characters in it. RFC 5424 records keep
// them.
func appendPrintable(dst, text []byte) []byte {
	for _, c := range text {
		if c < 0x20 && c != '\t' || c == 0x7f {
			dst = append(dst, "\uFFFD"...)
			continue
		}
		dst = append(dst, c)
	}
	return dst
}
