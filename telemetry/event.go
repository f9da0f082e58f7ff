// Package telemetry is Gatewatch's event model: the catalog of every event
// type, the Event record the stages emit, and the bus that updates
// telemetry/stats and fans events out to the log, CEF and trap channels.
package telemetry

import (
	"strconv"
	"strings"
	"time"
)

// Event is one thing that happened. Stages fill only the fields that apply;
// every channel names the fields the same way (see Fields).
type Event struct {
	Type Type
	Time time.Time

	QueueID    string // the message's queue ID, the one ID that follows it everywhere
	SessionID  string
	ClientIP   string
	ClientPort int
	Helo       string
	Sender     string
	Recipient  string // one recipient, or all of them comma-separated (message.completed)
	Recipients int    // how many recipients the event covers
	Size       int64  // bytes

	// Message details, on the records that describe a whole message.
	Subject     string   // Subject header, decoded (RFC 2047)
	MessageID   string   // Message-ID header
	Attachments []string // attachment file names, decoded
	Hash        string   // SHA-256 of the object an event is about, hex
	Threat      string   // the threat a scanner named, or the attachment rule that matched
	Verdicts    string   // every scan stage's verdict, e.g. "antivirus=clean, antispam=spam(7.5)"
	Action      string   // what was done with the message: accept, reject, tempfail, discard, quarantine, delete
	Outcome     string   // how it ended: delivered, bounced, partial, refused, discarded, quarantined, deleted
	Parent      string   // queue ID of the message this one is a copy of (policy split, release, DSN)
	Group       string   // policy group that decided
	Category    string   // quarantine category, archive kind, notification kind or store

	Mode       string // how the message reached us when not over SMTP: milter, cgp
	MTAQueueID string // the queue ID of the MTA that holds the message (milter, cgp modes)

	Route  string // route name (low-cardinality label)
	Remote string // next hop address
	Stage  string // scan stage name
	Reason Reason // low-cardinality reason code
	Code   int    // SMTP reply code given or received
	Status string // enhanced status code, e.g. "5.7.1"
	Text   string // human-readable detail: reply text, error, action

	Channel   string // telemetry channel name (log, cef, traps, ...)
	Count     int64  // a number the event reports (events dropped, queue size, ...)
	Threshold int64  // the limit Count was held against, for threshold events
	Attempt   int
	Duration  time.Duration
	Err       string // error text when something failed
}

// Reason is a low-cardinality cause, used as a metric label and in CEF's
// reason key.
type Reason string

// Refusal reasons: why a connection, recipient or message was refused.
const (
	ReasonBlockedClient        Reason = "blocked_client"
	ReasonConnectionLimit      Reason = "connection_limit"
	ReasonConnectionPerIPLimit Reason = "connection_per_ip_limit"
	ReasonRelayDenied          Reason = "relay_denied"
	ReasonSenderRouting        Reason = "sender_routing"
	ReasonBadAddress           Reason = "bad_address"
	ReasonRecipientsLimit      Reason = "recipients_limit"
	ReasonMessagesPerSession   Reason = "messages_per_session_limit"
	ReasonMessageSize          Reason = "message_size_limit"
	ReasonHopsLimit            Reason = "hops_limit"
	ReasonMalformed            Reason = "malformed"
	ReasonTimeout              Reason = "timeout"
	ReasonScanReject           Reason = "scan_reject"
	ReasonScanTempfail         Reason = "scan_tempfail"
	ReasonSpoolError           Reason = "spool_error"
)

// Send-failure reasons: why an outgoing transaction failed for good.
const (
	ReasonRejected   Reason = "rejected" // the next hop answered 5xx
	ReasonExpired    Reason = "expired"  // the queue lifetime ended
	ReasonNo8BitMIME Reason = "8bitmime" // 8-bit content, next hop lacks 8BITMIME
	ReasonNoRoute    Reason = "no_route" // no route matches the recipient
	// ReasonMessageSize also serves when the next hop's SIZE is too small.
)

// Suppression reasons: why a notification about a message was not sent.
const (
	ReasonNullSender    Reason = "null_sender"    // the sender is the null reverse-path
	ReasonAutoSubmitted Reason = "auto_submitted" // automatic or bulk mail (RFC 3834): no replies
	ReasonRateLimited   Reason = "rate_limited"   // the address had its notifications for the hour
)

// RefusalReasons lists every refusal reason, for metric presets.
func RefusalReasons() []string {
	return []string{string(ReasonBlockedClient), string(ReasonConnectionLimit), string(ReasonConnectionPerIPLimit),
		string(ReasonRelayDenied), string(ReasonSenderRouting), string(ReasonBadAddress), string(ReasonRecipientsLimit),
		string(ReasonMessagesPerSession), string(ReasonMessageSize), string(ReasonHopsLimit), string(ReasonMalformed),
		string(ReasonTimeout), string(ReasonScanReject), string(ReasonScanTempfail), string(ReasonSpoolError)}
}

// SendFailureReasons lists every send-failure reason, for metric presets.
func SendFailureReasons() []string {
	return []string{string(ReasonRejected), string(ReasonExpired), string(ReasonNo8BitMIME), string(ReasonMessageSize), string(ReasonNoRoute)}
}

// Outcomes of message.completed: how a message left the queue.
const (
	OutcomeDelivered = "delivered" // every recipient delivered
	OutcomeBounced   = "bounced"   // every recipient failed
	OutcomePartial   = "partial"   // some delivered, some failed
	OutcomeDiscarded = "discarded" // accepted and dropped by the policy
	OutcomeDeleted   = "deleted"   // removed from the queue by an operator
	// OutcomeQuarantined: kept in quarantine instead of being delivered.
	OutcomeQuarantined = "quarantined"
)

// Outcomes lists every outcome of message.completed, for metric presets.
func Outcomes() []string {
	return []string{OutcomeDelivered, OutcomeBounced, OutcomePartial, OutcomeDiscarded, OutcomeQuarantined, OutcomeDeleted}
}

// Field is one named value of an event, as every channel shows it. Numbers
// keep their type for channels that have one (JSON logs); Text always holds
// the value as text.
type Field struct {
	Name    string // log field name (JSON key)
	Text    string
	Num     float64
	Numeric bool
}

// Fields calls fn for each field the event has set, in a fixed order. The
// names are the ones the log and the README use; channels with their own
// vocabulary (CEF) map them.
func (ev *Event) Fields(fn func(Field)) {
	str := func(name, v string) {
		if v != "" {
			fn(Field{Name: name, Text: v})
		}
	}
	num := func(name string, v int64) {
		if v != 0 {
			fn(Field{Name: name, Text: strconv.FormatInt(v, 10), Num: float64(v), Numeric: true})
		}
	}
	str("queue_id", ev.QueueID)
	str("session_id", ev.SessionID)
	str("client_ip", ev.ClientIP)
	num("client_port", int64(ev.ClientPort))
	str("helo", ev.Helo)
	str("sender", ev.Sender)
	str("recipient", ev.Recipient)
	num("recipients", int64(ev.Recipients))
	num("size", ev.Size)
	str("subject", ev.Subject)
	str("message_id", ev.MessageID)
	if len(ev.Attachments) > 0 {
		str("attachments", strings.Join(ev.Attachments, ", "))
	}
	str("sha256", ev.Hash)
	str("threat", ev.Threat)
	str("verdicts", ev.Verdicts)
	str("action", ev.Action)
	str("outcome", ev.Outcome)
	str("parent_id", ev.Parent)
	str("group", ev.Group)
	str("category", ev.Category)
	str("mode", ev.Mode)
	str("mta_queue_id", ev.MTAQueueID)
	str("route", ev.Route)
	str("remote", ev.Remote)
	str("stage", ev.Stage)
	str("reason", string(ev.Reason))
	num("code", int64(ev.Code))
	str("status", ev.Status)
	str("text", ev.Text)
	str("channel", ev.Channel)
	num("count", ev.Count)
	num("threshold", ev.Threshold)
	num("attempt", int64(ev.Attempt))
	if ev.Duration != 0 {
		ms := float64(ev.Duration) / float64(time.Millisecond)
		fn(Field{Name: "duration_ms", Text: strconv.FormatFloat(ms, 'f', 3, 64), Num: ms, Numeric: true})
	}
	str("error", ev.Err)
}
