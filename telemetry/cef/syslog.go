package cef

import (
	"strconv"
	"time"
)

// Syslog formats (the record header around the CEF text).
const (
	FormatRFC5424 = "rfc5424"
	FormatRFC3164 = "rfc3164"
)

// Stream framings (RFC 6587).
const (
	FramingOctet   = "octet-counting"
	FramingNewline = "newline"
)

// appName is the APP-NAME / TAG of every record.
const appName = "gatewatch"

// sdID is the structured-data element carrying the sequence number: RFC
// 5424's own "meta" element, which collectors already understand.
const sdID = "meta"

// maxSequenceID is where RFC 5424's sequenceId wraps back to 1.
const maxSequenceID = 2147483647

// syslogHeader writes the syslog header of a record.
type syslogHeader struct {
	facility int
	host     string // already sanitised
	pid      string
}

func newSyslogHeader(facility int, host string, pid int) syslogHeader {
	return syslogHeader{facility: facility, host: printable(host, 255), pid: strconv.Itoa(pid)}
}

// syslogSeverity maps a CEF severity (0-10) to a syslog one (RFC 5424
// table 2), along the usual Low/Medium/High/Very-High bands.
func syslogSeverity(cef int) int {
	switch {
	case cef >= 9:
		return 2 // critical
	case cef >= 7:
		return 3 // error
	case cef >= 5:
		return 4 // warning
	case cef >= 3:
		return 5 // notice
	}
	return 6 // informational
}

func (h syslogHeader) pri(dst []byte, cefSeverity int) []byte {
	dst = append(dst, '<')
	dst = strconv.AppendInt(dst, int64(h.facility*8+syslogSeverity(cefSeverity)), 10)
	return append(dst, '>')
}

// append5424 writes "<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD "
// (RFC 5424 section 6). seq 0 means no sequence number.
func (h syslogHeader) append5424(dst []byte, t time.Time, cefSeverity int, msgID string, seq uint64) []byte {
	dst = h.pri(dst, cefSeverity)
	dst = append(dst, '1', ' ')
	// At most six fractional digits (RFC 5424 6.2.3).
	dst = t.UTC().AppendFormat(dst, "2006-01-02T15:04:05.000000Z07:00")
	dst = append(dst, ' ')
	dst = append(dst, h.host...)
	dst = append(dst, ' ')
	dst = append(dst, appName...)
	dst = append(dst, ' ')
	dst = append(dst, h.pid...)
	dst = append(dst, ' ')
	dst = append(dst, printable(msgID, 32)...)
	if seq == 0 {
		return append(dst, " - "...)
	}
	dst = append(dst, " ["+sdID+" sequenceId=\""...)
	dst = strconv.AppendUint(dst, (seq-1)%maxSequenceID+1, 10)
	return append(dst, "\"] "...)
}

// append3164 writes "<PRI>Mmm dd hh:mm:ss HOSTNAME TAG[PID]: " (RFC 3164
// section 4.1, local time as BSD syslog has it).
func (h syslogHeader) append3164(dst []byte, t time.Time, cefSeverity int) []byte {
	dst = h.pri(dst, cefSeverity)
	dst = t.Local().AppendFormat(dst, time.Stamp)
	dst = append(dst, ' ')
	dst = append(dst, h.host...)
	dst = append(dst, ' ')
	dst = append(dst, appName...)
	dst = append(dst, '[')
	dst = append(dst, h.pid...)
	return append(dst, "]: "...)
}

// printable makes s a valid RFC 5424 header token: printable US-ASCII
// without spaces, at most max bytes, "-" when empty.
func printable(s string, max int) string {
	if s == "" {
		return "-"
	}
	b := []byte(s)
	if len(b) > max {
		b = b[:max]
	}
	for i, c := range b {
		if c < 33 || c > 126 {
			b[i] = '_'
		}
	}
	return string(b)
}

// Facilities by name (RFC 5424 table 1).
func facilityCode(name string) (int, bool) {
	names := []string{"kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron",
		"authpriv", "ftp", "ntp", "security", "console", "solaris-cron",
		"local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7"}
	for i, n := range names {
		if n == name {
			return i, true
		}
	}
	return 0, false
}
