package cef

import (
	"errors"
	"fmt"
	"net"
	"strings"
)

// Config is the telemetry.cef section.
type Config struct {
	// Events picks the records: "outcomes" (default) sends one record per
	// message outcome (message.completed, message.refused, session.refused)
	// and every lifecycle event; "all" adds each step of each message.
	Events         string `yaml:"events"`
	Facility       string `yaml:"facility"`         // syslog facility name, e.g. local0
	Hostname       string `yaml:"hostname"`         // syslog HOSTNAME and dvchost; "" is the system's
	MaxRecordBytes int    `yaml:"max_record_bytes"` // bound on one record's CEF text

	File         string `yaml:"file"`           // local file sink; "" disables
	FileFormat   string `yaml:"file_format"`    // rfc5424 or rfc3164, one record per line
	FileMaxBytes int64  `yaml:"file_max_bytes"` // rotate past this size; 0 rotates only on SIGHUP
	FileKeep     int    `yaml:"file_keep"`      // rotated files kept (file.1 ... file.N)

	Targets        []Target `yaml:"targets"`
	BufferDir      string   `yaml:"buffer_dir"`       // disk buffer of the TCP/TLS targets
	BufferMaxBytes int64    `yaml:"buffer_max_bytes"` // beyond it the oldest records are dropped (counted)
}

// Target is one syslog receiver.
type Target struct {
	Name    string    `yaml:"name"`    // in stats as cef:<name>; "" derives it from the address
	Address string    `yaml:"address"` // udp://, tcp:// or tls://host:port
	Format  string    `yaml:"format"`  // rfc5424 (default) or rfc3164
	Framing string    `yaml:"framing"` // TCP/TLS: octet-counting (default for rfc5424) or newline
	TLS     TargetTLS `yaml:"tls"`
}

// TargetTLS is the TLS set-up of a target. Setting any of it on a tcp://
// address also turns TLS on.
type TargetTLS struct {
	CA         string `yaml:"ca"`          // PEM bundle the server's certificate must chain to; "" is the system pool
	Cert       string `yaml:"cert"`        // client certificate (PEM), for receivers that ask for one
	Key        string `yaml:"key"`         // its key
	ServerName string `yaml:"server_name"` // name to verify; "" is the address's host
}

func (t TargetTLS) set() bool { return t.CA != "" || t.Cert != "" || t.Key != "" || t.ServerName != "" }

// Transport of a target: "udp", "tcp" or "tls".
func (t Target) Transport() string {
	scheme, _, _ := strings.Cut(t.Address, "://")
	if scheme == "tcp" && t.TLS.set() {
		return "tls"
	}
	return scheme
}

// HostPort is the address without its scheme.
func (t Target) HostPort() string {
	_, hp, _ := strings.Cut(t.Address, "://")
	return hp
}

// ChannelName is the target's name in stats and events.
func (t Target) ChannelName() string {
	if t.Name != "" {
		return "cef:" + t.Name
	}
	return "cef:" + t.Transport() + "/" + t.HostPort()
}

func (t Target) format() string {
	if t.Format == "" {
		return FormatRFC5424
	}
	return t.Format
}

func (t Target) framing() string {
	switch {
	case t.Framing != "":
		return t.Framing
	case t.format() == FormatRFC3164:
		return FramingNewline
	}
	return FramingOctet
}

// WantsAll reports whether every event, steps included, makes a record.
func (c Config) WantsAll() bool { return c.Events == "all" }

// Enabled reports whether the channel has anywhere to send records.
func (c Config) Enabled() bool { return c.File != "" || len(c.Targets) > 0 }

// Validate checks the section; errors name the key under prefix.
func (c Config) Validate(prefix string) error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s.%s: %s", prefix, key, fmt.Sprintf(format, args...)))
	}
	if c.Events != "outcomes" && c.Events != "all" {
		bad("events", "%q: want outcomes or all", c.Events)
	}
	if _, ok := facilityCode(c.Facility); !ok {
		bad("facility", "%q: want a syslog facility name such as local0, mail or authpriv", c.Facility)
	}
	if c.MaxRecordBytes < 2048 || c.MaxRecordBytes > 65000 {
		bad("max_record_bytes", "%d: want 2048 to 65000", c.MaxRecordBytes)
	}
	if c.File != "" && c.FileFormat != FormatRFC5424 && c.FileFormat != FormatRFC3164 {
		bad("file_format", "%q: want rfc5424 or rfc3164", c.FileFormat)
	}
	if c.FileMaxBytes < 0 {
		bad("file_max_bytes", "%d must not be negative", c.FileMaxBytes)
	}
	if c.FileKeep < 0 || c.FileMaxBytes > 0 && c.FileKeep < 1 {
		bad("file_keep", "%d: want at least 1 when file_max_bytes rotates the file", c.FileKeep)
	}
	names := map[string]bool{}
	for i, t := range c.Targets {
		key := fmt.Sprintf("targets[%d]", i)
		hp := t.HostPort()
		switch tr := t.Transport(); {
		case !strings.Contains(t.Address, "://") || (tr != "udp" && tr != "tcp" && tr != "tls"):
			bad(key+".address", "%q: want udp://, tcp:// or tls://host:port", t.Address)
		default:
			if _, port, err := net.SplitHostPort(hp); err != nil || port == "" {
				bad(key+".address", "%q: not host:port", t.Address)
			}
			if tr == "udp" && t.TLS.set() {
				bad(key+".tls", "TLS needs a tcp:// or tls:// address")
			}
		}
		if f := t.format(); f != FormatRFC5424 && f != FormatRFC3164 {
			bad(key+".format", "%q: want rfc5424 or rfc3164", t.Format)
		}
		if f := t.Framing; f != "" && f != FramingOctet && f != FramingNewline {
			bad(key+".framing", "%q: want octet-counting or newline", f)
		}
		if (t.TLS.Cert == "") != (t.TLS.Key == "") {
			bad(key+".tls", "cert and key go together")
		}
		if n := t.ChannelName(); names[n] {
			bad(key+".name", "%q names two targets", n)
		} else {
			names[n] = true
		}
		if strings.ContainsAny(t.Name, "/\x00") || strings.Contains(t.Name, "..") {
			bad(key+".name", "%q: no '/', '..' or NUL (it names a file of the disk buffer)", t.Name)
		}
	}
	if len(c.Targets) > 0 && c.BufferDir == "" {
		bad("buffer_dir", "targets need a disk buffer directory")
	}
	if len(c.Targets) > 0 && c.BufferMaxBytes < 1<<20 {
		bad("buffer_max_bytes", "%d: want at least 1048576", c.BufferMaxBytes)
	}
	return errors.Join(errs...)
}
