package cef

import (
	"net"
	"net/netip"
	"strconv"
	"strings"

	"github.com/gatewatch/gatewatch/telemetry"
)

// The product as the records name it.
const (
	Vendor  = "Gatewatch"
	Product = "Gatewatch Mail Gateway"
)

// Device names the gateway in every record.
type Device struct {
	Version string // Device Version of the header
	Host    string // dvchost
	ID      string // deviceExternalId: the gateway's SMTP name
}

// Formatter writes events as CEF text (the syslog MSG part).
type Formatter struct {
	prefix   []byte // the header up to the signature ID: the same in every record
	host, id string
	maxBytes int
}

// minScaledLimit keeps values readable when a record is shrunk to fit.
const minScaledLimit = 32

// NewFormatter creates a formatter; maxBytes bounds a record's CEF text
// (0: no bound). Values are shortened, longest limits first, until the
// record fits, so an oversized record is never cut mid-field.
func NewFormatter(d Device, maxBytes int) *Formatter {
	p := []byte("CEF:0|")
	p = appendHeader(p, Vendor)
	p = append(p, '|')
	p = appendHeader(p, Product)
	p = append(p, '|')
	p = appendHeader(p, fit(d.Version, 31))
	p = append(p, '|')
	return &Formatter{prefix: p, host: d.Host, id: d.ID, maxBytes: maxBytes}
}

// Append appends the CEF text of ev to dst.
func (f *Formatter) Append(dst []byte, ev *telemetry.Event) []byte {
	start := len(dst)
	for scale := 1; ; scale *= 2 {
		dst = f.append(dst[:start], ev, scale)
		if f.maxBytes <= 0 || len(dst)-start <= f.maxBytes || scale >= 128 {
			return dst
		}
	}
}

// extension writes key=value pairs separated by spaces.
type extension struct {
	b     []byte
	scale int
	first bool
}

func (x *extension) sep() {
	if !x.first {
		x.b = append(x.b, ' ')
	}
	x.first = false
}

func (x *extension) str(key, value string, max int) {
	if value == "" {
		return
	}
	if max > 0 && x.scale > 1 {
		max = max / x.scale
		if max < minScaledLimit {
			max = minScaledLimit
		}
	}
	x.sep()
	x.b = append(x.b, key...)
	x.b = append(x.b, '=')
	x.b = appendValue(x.b, value, max)
}

// custom writes a labelled custom key: its label first, then the value.
func (x *extension) custom(key, label, value string, max int) {
	if value == "" {
		return
	}
	x.sep()
	x.b = append(x.b, key...)
	x.b = append(x.b, "Label="...)
	x.b = appendValue(x.b, label, maxText)
	x.str(key, value, max)
}

func (x *extension) num(key string, v int64) {
	if v == 0 {
		return
	}
	x.sep()
	x.b = append(x.b, key...)
	x.b = append(x.b, '=')
	x.b = strconv.AppendInt(x.b, v, 10)
}

func (x *extension) customNum(key, label string, v int64) {
	if v == 0 {
		return
	}
	x.sep()
	x.b = append(x.b, key...)
	x.b = append(x.b, "Label="...)
	x.b = appendValue(x.b, label, maxFlexLbl)
	x.num(key, v)
}

func (f *Formatter) append(dst []byte, ev *telemetry.Event, scale int) []byte {
	spec := ev.Type.Spec()
	dst = append(dst, f.prefix...)
	dst = strconv.AppendInt(dst, int64(ev.Type.SignatureID()), 10)
	dst = append(dst, '|')
	dst = appendHeader(dst, fit(spec.CEFName, 512))
	dst = append(dst, '|')
	dst = strconv.AppendInt(dst, int64(spec.Severity), 10)
	dst = append(dst, '|')

	x := extension{b: dst, scale: scale, first: true}
	if !ev.Time.IsZero() {
		x.num("rt", ev.Time.UnixMilli())
	}
	x.str("dvchost", f.host, maxHost)
	x.str("deviceExternalId", f.id, maxExtID)
	category, _, _ := strings.Cut(spec.Name, ".")
	x.str("cat", category, maxText)
	x.str("deviceEventCategory", ev.Category, maxText)
	x.str("externalId", ev.QueueID, maxID)
	x.str("oldFileId", ev.Parent, maxText)
	if a, err := netip.ParseAddr(ev.ClientIP); err == nil && a.Unmap().Is4() {
		x.str("src", a.Unmap().String(), 0)
	} else if err == nil {
		x.custom("c6a2", "Source IPv6 Address", a.String(), 0)
	}
	x.num("spt", int64(ev.ClientPort))
	x.str("shost", ev.Helo, maxText)
	x.str("suser", ev.Sender, maxText)
	x.str("duser", ev.Recipient, maxText)
	x.str("dpriv", ev.Group, maxText)
	if ev.Remote != "" {
		host, port, err := net.SplitHostPort(ev.Remote)
		if _, perr := strconv.ParseUint(port, 10, 16); err != nil || perr != nil {
			host, port = ev.Remote, "" // not host:port: a local destination such as dir://
		}
		if a, err := netip.ParseAddr(host); err == nil && a.Unmap().Is4() {
			x.str("dst", a.Unmap().String(), 0)
		} else if err == nil {
			x.custom("c6a3", "Destination IPv6 Address", a.String(), 0)
		} else {
			x.str("dhost", host, maxText)
		}
		if p, err := strconv.ParseUint(port, 10, 16); err == nil {
			x.num("dpt", int64(p))
		}
	}
	if len(ev.Attachments) > 0 {
		x.str("fname", strings.Join(ev.Attachments, ", "), maxText)
	}
	x.num("fsize", ev.Size)
	x.str("fileHash", ev.Hash, maxText)
	x.str("app", ev.Mode, maxShort)
	x.str("fileId", ev.MTAQueueID, maxText)
	x.str("act", ev.Action, maxShort)
	x.str("outcome", ev.Outcome, maxShort)
	reason := string(ev.Reason)
	if reason == "" {
		reason = ev.Threat // an object record's reason is what it was flagged for
	}
	x.str("reason", reason, maxText)
	x.str("msg", ev.Text, maxText)
	x.str("destinationServiceName", ev.Channel, maxText)
	x.custom("cs1", "Subject", ev.Subject, maxCustom)
	x.custom("cs2", "MessageId", ev.MessageID, maxCustom)
	x.custom("cs3", "Verdicts", ev.Verdicts, maxCustom)
	x.custom("cs4", "Route", ev.Route, maxCustom)
	x.custom("cs5", "SessionId", ev.SessionID, maxCustom)
	x.custom("cs6", "Stage", ev.Stage, maxCustom)
	x.customNum("cn1", "Recipients", int64(ev.Recipients))
	x.customNum("cn2", "ReplyCode", int64(ev.Code))
	countLabel := spec.CountLabel
	if countLabel == "" {
		countLabel = defaultCountLabel
	}
	x.customNum("cn3", countLabel, ev.Count)
	if ev.Err != "" {
		x.custom("flexString1", "Error", ev.Err, maxText)
	}
	x.custom("flexString2", "EnhancedStatusCode", ev.Status, maxText)
	x.customNum("flexNumber1", "Threshold", ev.Threshold)
	x.customNum("flexNumber2", "Attempt", int64(ev.Attempt))
	if ev.Duration != 0 {
		x.sep()
		x.b = append(x.b, "cfp1Label=DurationMs cfp1="...)
		x.b = strconv.AppendFloat(x.b, float64(ev.Duration)/1e6, 'f', 3, 64)
	}
	return x.b
}
