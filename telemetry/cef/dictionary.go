package cef

// Key is one extension key of the records: what it carries and its length
// limit. The formatter writes exactly these keys, in this order (a test
// holds it to that), and the README's field dictionary is printed from
// this table, so the documentation cannot drift from the records.
type Key struct {
	Key   string // CEF extension key
	Label string // the <key>Label value sent with custom keys; "" for standard keys
	Max   int    // length limit in UTF-16 code units (CEF spec); 0 for numbers and addresses
	Field string // the event field it carries (log name)
	Doc   string
}

// Label of cn3 when the catalog gives none.
const defaultCountLabel = "Count"

// Standard limits from the CEF extension dictionary.
const (
	maxShort   = 63   // act, outcome
	maxID      = 40   // externalId
	maxHost    = 100  // dvchost
	maxExtID   = 255  // deviceExternalId
	maxText    = 1023 // most strings
	maxCustom  = 4000 // csN
	maxFlexLbl = 128  // flexString/flexNumber labels
)

// Dictionary returns the extension keys the records use, in record order.
func Dictionary() []Key {
	return []Key{
		{Key: "rt", Field: "time", Doc: "When the event happened, milliseconds since the Unix epoch."},
		{Key: "dvchost", Max: maxHost, Field: "", Doc: "Host name of the gateway (`telemetry.cef.hostname`, else the system's)."},
		{Key: "deviceExternalId", Max: maxExtID, Field: "", Doc: "The gateway's SMTP name (`smtp.hostname`): tells instances on one host apart."},
		{Key: "cat", Max: maxText, Field: "event", Doc: "Event group: the first part of the event name (message, session, delivery, config, telemetry, ...)."},
		{Key: "deviceEventCategory", Max: maxText, Field: "category", Doc: "Quarantine category (spam, virus, banned, policy), archive (received, sent), notification kind or store concerned."},
		{Key: "externalId", Max: maxID, Field: "queue_id", Doc: "Queue ID of the message: the same ID as in the 250 reply, the X-Gatewatch-ID header, the log and the traps."},
		{Key: "oldFileId", Max: maxText, Field: "parent_id", Doc: "Queue ID of the message a copy was split from (one copy per policy outcome); also in its X-Gatewatch-Parent-ID header."},
		{Key: "src", Field: "client_ip", Doc: "SMTP client address, when IPv4."},
		{Key: "c6a2", Label: "Source IPv6 Address", Field: "client_ip", Doc: "SMTP client address, when IPv6."},
		{Key: "spt", Field: "client_port", Doc: "SMTP client port."},
		{Key: "shost", Max: maxText, Field: "helo", Doc: "Name the client gave in HELO/EHLO (as claimed, not verified)."},
		{Key: "suser", Max: maxText, Field: "sender", Doc: "Envelope sender (MAIL FROM); absent for the null sender."},
		{Key: "duser", Max: maxText, Field: "recipient", Doc: "Envelope recipient, or all of them comma-separated on message records."},
		{Key: "dpriv", Max: maxText, Field: "group", Doc: "Policy group the recipients of the copy fell into (a configured name, never an address)."},
		{Key: "dst", Field: "remote", Doc: "Next hop address, when IPv4."},
		{Key: "c6a3", Label: "Destination IPv6 Address", Field: "remote", Doc: "Next hop address, when IPv6."},
		{Key: "dhost", Max: maxText, Field: "remote", Doc: "Next hop, when it is a name or a local destination."},
		{Key: "dpt", Field: "remote", Doc: "Next hop port."},
		{Key: "fname", Max: maxText, Field: "attachments", Doc: "Attachment file names, decoded, comma-separated."},
		{Key: "fsize", Field: "size", Doc: "Message size in bytes (the object's, on object records)."},
		{Key: "fileHash", Max: maxText, Field: "sha256", Doc: "SHA-256 of the object a scan flagged, hex."},
		{Key: "app", Max: maxShort, Field: "mode", Doc: "How the message reached the gateway when not over SMTP: milter, cgp."},
		{Key: "fileId", Max: maxText, Field: "mta_queue_id", Doc: "Queue ID (queue file name) of the MTA that holds the message, in milter and CommuniGate Pro modes."},
		{Key: "act", Max: maxShort, Field: "action", Doc: "What was done with the message: accept, reject, tempfail, discard, delete."},
		{Key: "outcome", Max: maxShort, Field: "outcome", Doc: "How it ended: delivered, bounced, partial, refused, discarded, deleted."},
		{Key: "reason", Max: maxText, Field: "reason", Doc: "Why it was refused or failed: a fixed code such as relay_denied, message_size_limit, rejected, expired; on object records the threat a scanner named or the attachment rule that matched (the log's `threat`)."},
		{Key: "msg", Max: maxText, Field: "text", Doc: "Human-readable detail: the reply text, the operator action, the delivery summary."},
		{Key: "destinationServiceName", Max: maxText, Field: "channel", Doc: "Telemetry channel concerned (agentx, traps, cef:<target>, log)."},
		{Key: "cs1", Label: "Subject", Max: maxCustom, Field: "subject", Doc: "Subject header, decoded (RFC 2047)."},
		{Key: "cs2", Label: "MessageId", Max: maxCustom, Field: "message_id", Doc: "Message-ID header."},
		{Key: "cs3", Label: "Verdicts", Max: maxCustom, Field: "verdicts", Doc: "Every scan stage's verdict: stage=status(score): detail, comma-separated."},
		{Key: "cs4", Label: "Route", Max: maxCustom, Field: "route", Doc: "Delivery route name."},
		{Key: "cs5", Label: "SessionId", Max: maxCustom, Field: "session_id", Doc: "SMTP session ID: ties the records of one connection together."},
		{Key: "cs6", Label: "Stage", Max: maxCustom, Field: "stage", Doc: "Scan stage."},
		{Key: "cn1", Label: "Recipients", Field: "recipients", Doc: "How many recipients the event covers."},
		{Key: "cn2", Label: "ReplyCode", Field: "code", Doc: "SMTP reply code given or received."},
		{Key: "cn3", Label: "*", Field: "count", Doc: "The figure the event reports; its label names it per event type (QueueSize, AgeSeconds, EventsDropped, Messages, ...)."},
		{Key: "flexString1", Label: "Error", Max: maxText, Field: "error", Doc: "Error text, when something failed."},
		{Key: "flexString2", Label: "EnhancedStatusCode", Max: maxText, Field: "status", Doc: "Enhanced status code (RFC 3463) given or received, e.g. 5.7.1."},
		{Key: "flexNumber1", Label: "Threshold", Field: "threshold", Doc: "The limit the figure was held against (threshold events)."},
		{Key: "flexNumber2", Label: "Attempt", Field: "attempt", Doc: "Delivery attempt number."},
		{Key: "cfp1", Label: "DurationMs", Field: "duration_ms", Doc: "Duration in milliseconds (session, delivery, whole stay in the gateway)."},
	}
}
