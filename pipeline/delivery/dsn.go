package delivery

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/emersion/go-message/textproto"

	"github.com/gatewatch/gatewatch/pipeline"
)

// maxReturnedContent bounds how much of the original message a DSN carries
// when RET=FULL (or unspecified): larger messages are returned as headers
// only, as RFC 3461 permits.
const maxReturnedContent = 1 << 20

// dsnReport is one recipient's entry in a delivery status notification.
type dsnReport struct {
	rcpt   pipeline.Recipient
	action string // failed, relayed, delivered (RFC 3464 2.3.3)
	reply  pipeline.Reply
	remote string // next hop host:port that gave the reply, "" if none did
}

// buildDSN writes an RFC 3464 multipart/report for the sender of orig.
func buildDSN(hostname string, orig pipeline.Meta, content io.ReaderAt, reports []dsnReport, now time.Time) ([]byte, error) {
	boundary := fmt.Sprintf("%s.%d/%s", orig.ID, now.UnixNano(), hostname)
	failedAny := false
	for _, r := range reports {
		if r.action == "failed" {
			failedAny = true
		}
	}
	subject := "Delivery Status Notification (Success)"
	if failedAny {
		subject = "Undelivered Mail Returned to Sender"
	}
	var b bytes.Buffer
	h := func(k, v string) { fmt.Fprintf(&b, "%s: %s\r\n", k, v) }
	h("From", fmt.Sprintf("Mail Delivery System <MAILER-DAEMON@%s>", hostname))
	h("To", "<"+orig.Envelope.From+">")
	h("Subject", subject)
	h("Date", now.Format(time.RFC1123Z))
	h("Message-ID", fmt.Sprintf("<%s.dsn@%s>", orig.ID, hostname))
	h("Auto-Submitted", "auto-replied") // RFC 3834: no auto-replies to this
	h("MIME-Version", "1.0")
	h("Content-Type", fmt.Sprintf("multipart/report; report-type=delivery-status;\r\n\tboundary=\"%s\"", boundary))
	b.WriteString("\r\nThis is a MIME-encapsulated delivery status notification.\r\n")

	// Part 1: for people.
	fmt.Fprintf(&b, "\r\n--%s\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Description: Notification\r\n\r\n", boundary)
	fmt.Fprintf(&b, "This is the mail gateway at %s.\r\n\r\n", hostname)
	if failedAny {
		b.WriteString("Your message could not be delivered to one or more recipients.\r\n")
		b.WriteString("The reasons are listed below; the message, or its header, is attached.\r\n\r\n")
	} else {
		b.WriteString("Your message was delivered or handed on, as you asked to be told.\r\n\r\n")
	}
	for _, r := range reports {
		fmt.Fprintf(&b, "<%s>: %s", r.rcpt.Addr, r.action)
		if r.reply.Code != 0 {
			fmt.Fprintf(&b, ": %s", oneLine(r.reply.String()))
		}
		if r.remote != "" {
			fmt.Fprintf(&b, " (from %s)", r.remote)
		}
		b.WriteString("\r\n")
	}

	// Part 2: for programs (RFC 3464 2.2, 2.3).
	fmt.Fprintf(&b, "\r\n--%s\r\nContent-Type: message/delivery-status\r\nContent-Description: Delivery report\r\n\r\n", boundary)
	h("Reporting-MTA", "dns; "+hostname)
	h("X-Gatewatch-Queue-ID", orig.ID)
	if orig.Envelope.EnvID != "" {
		h("Original-Envelope-Id", xtextSafe(orig.Envelope.EnvID))
	}
	h("Arrival-Date", orig.Received.Format(time.RFC1123Z))
	for _, r := range reports {
		b.WriteString("\r\n")
		h("Final-Recipient", addrType(r.rcpt.Addr)+"; "+r.rcpt.Addr)
		if r.rcpt.ORcpt != "" {
			t := r.rcpt.ORcptType
			if t == "" {
				t = "rfc822"
			}
			h("Original-Recipient", t+"; "+xtextSafe(r.rcpt.ORcpt))
		}
		h("Action", r.action)
		h("Status", dsnStatus(r))
		if r.remote != "" {
			host, _, _ := strings.Cut(r.remote, ":")
			h("Remote-MTA", "dns; "+host)
		}
		if r.reply.Code != 0 {
			h("Diagnostic-Code", "smtp; "+oneLine(r.reply.String()))
		}
		h("Last-Attempt-Date", now.Format(time.RFC1123Z))
	}

	// Part 3: the original, whole or its header (RET, RFC 3461 4.3).
	full := orig.Envelope.Ret != "HDRS" && orig.Size <= maxReturnedContent
	if full {
		fmt.Fprintf(&b, "\r\n--%s\r\nContent-Type: message/rfc822\r\nContent-Description: Returned message\r\n\r\n", boundary)
		if _, err := io.Copy(&b, io.NewSectionReader(content, 0, orig.Size)); err != nil {
			return nil, fmt.Errorf("copy returned message: %w", err)
		}
	} else {
		fmt.Fprintf(&b, "\r\n--%s\r\nContent-Type: text/rfc822-headers\r\nContent-Description: Returned message header\r\n\r\n", boundary)
		hdr, err := textproto.ReadHeader(bufio.NewReader(io.NewSectionReader(content, 0, orig.Size)))
		if err != nil && err != io.EOF {
			return nil, fmt.Errorf("read returned header: %w", err)
		}
		if err := textproto.WriteHeader(&b, hdr); err != nil {
			return nil, fmt.Errorf("write returned header: %w", err)
		}
	}
	if !bytes.HasSuffix(b.Bytes(), []byte("\r\n")) {
		b.WriteString("\r\n")
	}
	fmt.Fprintf(&b, "\r\n--%s--\r\n", boundary)
	return b.Bytes(), nil
}

// dsnStatus is the Status field: the next hop's enhanced code when it gave
// one, else one derived from the action.
func dsnStatus(r dsnReport) string {
	if r.action != "failed" {
		return "2.0.0"
	}
	if c := r.reply.Enhanced[0]; c == 4 || c == 5 {
		return r.reply.Status()
	}
	if r.reply.Code >= 500 {
		return "5.0.0"
	}
	return "4.0.0"
}

func addrType(addr string) string {
	for i := 0; i < len(addr); i++ {
		if addr[i] >= 0x80 {
			return "utf-8" // RFC 6533
		}
	}
	return "rfc822"
}

// oneLine folds a multi-line reply into one header-safe line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// xtextSafe keeps a client-supplied value from breaking the report's
// header syntax.
func xtextSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
}
