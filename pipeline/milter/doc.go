// Package milter is Gatewatch behind another MTA: Postfix or Sendmail hand
// each message to it over the milter protocol (emersion/go-milter), and
// the same stages and policy that judge mail over SMTP decide what the MTA
// does with it.
//
// The mapping: the policy's lists refuse a recipient at RCPT with their
// reply; at end of message a refusal or deferral of every recipient is the
// SMTP reply the MTA gives, a recipient refused or dropped alone is
// removed from the envelope, quarantine is the MTA's own (Postfix: the hold
// queue), and a delivered copy gets the changes its treatment asks for
// (subject mark, header fields, parts replaced by a notice, redirect and
// BCC recipients). The milter protocol carries one message per transaction,
// so when policy groups give different recipients different changes, the
// changes of the largest group apply to all of them (the event says so).
// Notifications and quarantine copies of delivered mail are not made in
// this mode: the MTA owns the message.
package milter
