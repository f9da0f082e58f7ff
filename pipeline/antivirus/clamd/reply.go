package clamd

import (
	"fmt"
	"strings"
)

// Result is clamd's verdict on one object.
type Result struct {
	Infected bool
	Threat   string // signature name, e.g. "Win.Test.EICAR_HDB-1"; empty when clean
}

// sizeLimitReply is how clamd words a StreamMaxLength violation, in the rare
// case that the reply arrives before the connection is reset.
const sizeLimitReply = "INSTREAM size limit exceeded."

// parseReply interprets clamd's answer to INSTREAM, without its NUL. Anything
// that is not exactly a clean or an infected verdict is an error, so that a
// garbled or truncated reply can never pass a message as clean.
func parseReply(line string) (Result, error) {
	if msg, ok := strings.CutSuffix(line, " ERROR"); ok {
		if strings.TrimSpace(msg) == sizeLimitReply {
			return Result{}, fmt.Errorf("%w: clamd replied %q", ErrTooLarge, line)
		}
		return Result{}, fmt.Errorf("clamd: scan failed: %q", line)
	}
	verdict, ok := strings.CutPrefix(line, "stream: ")
	if !ok {
		return Result{}, fmt.Errorf("clamd: unexpected reply %q", line)
	}
	if verdict == "OK" {
		return Result{}, nil
	}
	threat, ok := strings.CutSuffix(verdict, " FOUND")
	threat = strings.TrimSpace(threat)
	if !ok || threat == "" || strings.ContainsAny(threat, "\x00\n") {
		return Result{}, fmt.Errorf("clamd: unexpected reply %q", line)
	}
	return Result{Infected: true, Threat: threat}, nil
}
