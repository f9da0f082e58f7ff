package cef

import (
	"strings"
	"time"
	"unicode/utf16"

	"github.com/gatewatch/gatewatch/telemetry"
)

// hostilePieces are values an attacker controls (subject, addresses,
// attachment names) chosen to break a CEF record: separators, escapes,
// line breaks, a forged header, key=value look-alikes, NUL, bad UTF-8.
var hostilePieces = []string{
	`pipe|pipe \| back\slash \\ eq=eq \= trailing\`,
	"CR\rLF\nCRLF\r\nend",
	`CEF:0|Evil|Corp|1|2|forged|10|src=6.6.6.6`,
	`x suser=forged@evil.test act=deliver cs1=forged cs1Label=Subject`,
	"nul\x00inside",
	"non-ASCII: Grüße 日本語 😀 \u202eevil",
	"invalid \xff\xfe UTF-8",
	"tab\there and \x01 control",
}

// hostileEvent sets every text field the attacker can reach to tag+piece,
// so that a value showing up under the wrong key is caught.
func hostileEvent(typ telemetry.Type, piece string) telemetry.Event {
	return telemetry.Event{Type: typ, Time: time.UnixMilli(1795000000123),
		QueueID: "0Q1a2B3c4D", SessionID: "sess " + piece, ClientIP: "192.0.2.7", ClientPort: 40123,
		Helo: "helo " + piece, Sender: "sender " + piece, Recipient: "rcpt " + piece, Recipients: 2, Size: 4321,
		Subject: "subject " + piece, MessageID: "msgid " + piece, Attachments: []string{"file " + piece},
		Verdicts: "verdicts " + piece, Action: "accept", Outcome: "delivered",
		Route: "route " + piece, Remote: "198.51.100.9:25", Stage: "stage " + piece, Reason: telemetry.ReasonRejected,
		Code: 550, Status: "5.7.1", Text: "text " + piece, Channel: "cef:siem", Count: 7, Threshold: 5, Attempt: 3,
		Duration: 1500 * time.Microsecond, Err: "error " + piece,
		Parent: "parent " + piece, Group: "group " + piece, Category: "category " + piece, Hash: "hash " + piece,
		Mode: "mode " + piece, MTAQueueID: "mtaq " + piece}
}

// hostileFields maps extension keys to the event value they must carry.
func hostileFields(ev telemetry.Event) map[string]string {
	return map[string]string{
		"cs5": ev.SessionID, "shost": ev.Helo, "suser": ev.Sender, "duser": ev.Recipient,
		"cs1": ev.Subject, "cs2": ev.MessageID, "fname": strings.Join(ev.Attachments, ", "), "cs3": ev.Verdicts,
		"cs4": ev.Route, "cs6": ev.Stage, "msg": ev.Text, "flexString1": ev.Err,
		"oldFileId": ev.Parent, "dpriv": ev.Group, "deviceEventCategory": ev.Category, "fileHash": ev.Hash,
		"app": ev.Mode, "fileId": ev.MTAQueueID,
	}
}

// expectValue is what a value must read as after the trip, computed from
// the rules rather than by the formatter's code: U+FFFD for NUL and for
// each invalid byte; then the key's limit in UTF-16 units, cut with the
// marker. It returns the full value and whether it had to be cut.
func expectValue(s string, max int) (string, bool) {
	runes := []rune(s) // U+FFFD for each invalid byte
	for i, r := range runes {
		if r == 0 {
			runes[i] = '\uFFFD'
		}
	}
	clean := string(runes)
	return clean, max > 0 && len(utf16.Encode(runes)) > max
}

// units is the length of s in UTF-16 code units.
func units(s string) int { return len(utf16.Encode([]rune(s))) }

// checkValue reports whether got is what sent should read as under a limit
// of max units: the same, or a maximal prefix ended by the marker.
func checkValue(got, sent string, max int) bool {
	return checkCut(got, sent, max, true)
}

// checkShrunk is checkValue for records shrunk to fit their size bound:
// the prefix may be shorter than the key's own limit allows.
func checkShrunk(got, sent string, max int) bool {
	return checkCut(got, sent, max, false)
}

func checkCut(got, sent string, max int, maximal bool) bool {
	want, cut := expectValue(sent, max)
	if !cut {
		return got == want
	}
	prefix, ok := strings.CutSuffix(got, TruncationMarker)
	if !ok || !strings.HasPrefix(want, prefix) || units(got) > max {
		return false
	}
	if !maximal {
		return true
	}
	// Maximal: one more character would not have left room for the marker.
	next := []rune(want[len(prefix):])
	return len(next) > 0 && units(prefix)+units(string(next[0]))+len(TruncationMarker) > max
}
