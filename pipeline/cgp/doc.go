// Package cgp runs the gateway as a CommuniGate Pro (CGP) content
// filtering helper ("External Filter"): CGP starts the program, writes
// requests to its standard input and reads answers from its standard
// output, one text line each, and it sends the helper every message a
// Rule with the action "External filter <name>" applies to.
//
// # Protocol
//
// Every request is "seq COMMAND [argument]"; the answer starts with the
// same seq. Answers may come in any order, so messages are judged
// concurrently (Options.Concurrency at once).
//
//	seq INTF v     ->  seq INTF 3
//	seq FILE path  ->  seq OK
//	                   seq ADDHEADER "Name: value\eName2: value2" OK
//	                   seq DISCARD
//	                   seq REJECTED text
//	                   seq ERROR text
//	seq QUIT       ->  seq OK, once every request started before is answered
//	anything else  ->  seq ERROR "unknown command"
//
// Lines starting with "*" are information lines: CGP only logs them. The
// helper uses them for what a sequence number cannot carry (a line without
// one) and for the details of an ERROR (the OS error, the judge's error),
// so the ERROR text itself stays short and free of internals.
//
// INTF: CGP sends the interface version it speaks, the helper answers the
// one it implements. This package answers 3, read here as the version whose
// answers include "ADDHEADER fields OK", and nothing newer: CGP should then
// send FILE with a path only. In case it does not, a FILE argument may be a
// bare path or a CGP quoted string, and anything after the path is ignored.
//
// Texts (REJECTED, ERROR) are sent as an atom when they are letters and
// digits only, otherwise as a CGP quoted string: "..." with \" and \\,
// line breaks as \e and tabs as \t. Texts are made one line first: every
// control character becomes a blank. No response line is longer than the
// 4096 bytes CGP reads: texts are cut with "...", and an added header that
// does not fit is left out (the message still passes) with a comment line.
//
// All headers of a verdict go into one ADDHEADER answer, fields separated
// by \e, and the answer ends with the keyword OK on the same line: in CGP,
// ADDHEADER is itself the final answer to the request, so a separate
// "seq OK" after it would be a second answer to one sequence number. A
// field folded over several lines keeps its folding (a line break followed
// by a blank, sent as \e and the blank); a line break not followed by a
// blank would forge a new field, so it is replaced with a space. Fields
// without "Name:" are left out.
//
// A malformed line (no sequence number, no command, FILE without a path, a
// line over 64 KiB, a control character) gets "seq ERROR text", or a
// comment line when it has no sequence number, and the session goes on;
// empty lines are skipped.
//
// # Queue files
//
// A FILE request names a queue file, relative to CGP's base directory
// (Options.BaseDir). The file is CGP's envelope, an empty line, then the
// RFC 5322 message:
//
//	P I 17-09-2001 09:52:33 0000 ____ ____ <sender@example.org>
//	O T
//	S SMTP [192.0.2.10]
//	R W 17-09-2001 09:52:33 0000 ____ _FY_ <rcpt@example.net>
//
//	Received: ...
//
// Each envelope line is one letter, then a blank and the rest. The parser
// reads P (the return path: the address in <>, "" for <>), R (one
// recipient each, whatever its state flags) and S (the source: the client
// IP from "[...]", also after an authenticated "<user>"; [0.0.0.0], which
// CGP writes for messages it generated, gives no IP). Other letters are
// skipped. A line that is not of that form, a P or R line without
// "<address>", a second P line, a control character in an address or no
// empty line at all make the file malformed: that request gets an ERROR,
// the session goes on. Line ends may be LF or CRLF. The queue ID is the
// file name without ".msg", as CGP names queue files after its message
// number.
//
// # Errors and time
//
// A missing or unreadable file, a file over Options.MaxMessage, a
// malformed queue file, a judge error or panic and a request not answered
// within Options.Timeout (counted from the request: waiting for a judge
// slot, reading and judging) each give "seq ERROR text". A zero Verdict
// is ActionOK; an Action out of range gives ERROR.
//
// Assumed, not verified against a running CGP: ERROR means "this helper
// could not process the message" and CGP decides what then happens to it.
// Some published helpers answer FAILURE in that case; this package does
// not use FAILURE.
//
// When ctx ends, Serve returns without answering the requests in flight:
// CGP sends the pending requests again to the helper it restarts.
package cgp
