// Package smtpin is the receiver: the SMTP listener with its connection
// limits and client lists, the go-smtp backend with relay control and
// envelope checks, and the end-of-DATA path that scans and spools.
package smtpin

import (
	"errors"
	"fmt"
	"net"
	"net/mail"
	"time"

	"github.com/gatewatch/gatewatch/pipeline"
)

// Config is the smtp section of the configuration.
type Config struct {
	Listen           []string    `yaml:"listen"`
	Hostname         string      `yaml:"hostname"`
	Postmaster       string      `yaml:"postmaster"`
	ProtectedDomains []string    `yaml:"protected_domains"`
	RelayNetworks    []string    `yaml:"relay_networks"`
	TLS              TLSConfig   `yaml:"tls"`
	Clients          ClientLists `yaml:"clients"`
	Limits           Limits      `yaml:"limits"`
	Timeouts         Timeouts    `yaml:"timeouts"`
}

// TLSConfig enables STARTTLS when both files are set.
type TLSConfig struct {
	Cert string `yaml:"cert"`
	Key  string `yaml:"key"`
}

// ClientLists are client IP lists in CIDR notation (a bare address is a /32
// or /128). Blocked clients are refused at connect with 554 5.7.1; trusted
// clients are exempt from the per-IP connection limit and may use
// sender-specified routing, like relay_networks.
type ClientLists struct {
	Block []string `yaml:"block"`
	Trust []string `yaml:"trust"`
}

// Limits bound what one client can make the receiver do.
type Limits struct {
	MaxConnections        int   `yaml:"max_connections"`
	MaxConnectionsPerIP   int   `yaml:"max_connections_per_ip"`
	MaxMessageSize        int64 `yaml:"max_message_size"` // bytes, advertised in SIZE
	MaxRecipients         int   `yaml:"max_recipients"`
	MaxMessagesPerSession int   `yaml:"max_messages_per_session"`
	MaxLineLength         int   `yaml:"max_line_length"` // bytes per command or content line
	MaxHeaderSize         int   `yaml:"max_header_size"` // bytes of the header section
	MaxHops               int   `yaml:"max_hops"`        // Received: fields before a loop is assumed
}

// Timeouts are the budgets of each SMTP phase.
type Timeouts struct {
	Command time.Duration `yaml:"command"` // to receive one command line
	Data    time.Duration `yaml:"data"`    // to receive the whole content after DATA
	Write   time.Duration `yaml:"write"`   // to send one reply
}

// Validate checks the section. Every error names its key.
func (c Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("smtp.%s: %s", key, fmt.Sprintf(format, args...)))
	}
	if len(c.Listen) == 0 {
		bad("listen", "at least one host:port is needed")
	}
	for i, l := range c.Listen {
		if _, _, err := net.SplitHostPort(l); err != nil {
			bad(fmt.Sprintf("listen[%d]", i), "%q is not host:port", l)
		}
	}
	if c.Hostname == "" {
		bad("hostname", "must not be empty")
	}
	if _, err := mail.ParseAddress(c.Postmaster); c.Postmaster != "" && err != nil {
		bad("postmaster", "%q is not an address", c.Postmaster)
	}
	for i, p := range c.ProtectedDomains {
		if err := checkDomainPattern(p); err != nil {
			bad(fmt.Sprintf("protected_domains[%d]", i), "%v", err)
		}
	}
	for key, list := range map[string][]string{"relay_networks": c.RelayNetworks, "clients.block": c.Clients.Block, "clients.trust": c.Clients.Trust} {
		for i, n := range list {
			if _, err := pipeline.ParsePrefix(n); err != nil {
				bad(fmt.Sprintf("%s[%d]", key, i), "%v", err)
			}
		}
	}
	if (c.TLS.Cert == "") != (c.TLS.Key == "") {
		bad("tls", "set both cert and key, or neither")
	}
	l := c.Limits
	positive := map[string]int64{
		"limits.max_connections": int64(l.MaxConnections), "limits.max_connections_per_ip": int64(l.MaxConnectionsPerIP),
		"limits.max_message_size": l.MaxMessageSize, "limits.max_recipients": int64(l.MaxRecipients),
		"limits.max_messages_per_session": int64(l.MaxMessagesPerSession), "limits.max_hops": int64(l.MaxHops),
	}
	for key, v := range positive {
		if v <= 0 {
			bad(key, "must be greater than 0, got %d", v)
		}
	}
	if l.MaxLineLength < 1000 {
		bad("limits.max_line_length", "must be at least 1000 (RFC 5321), got %d", l.MaxLineLength)
	}
	if l.MaxHeaderSize < 1024 {
		bad("limits.max_header_size", "must be at least 1024, got %d", l.MaxHeaderSize)
	}
	if l.MaxRecipients > 999999 {
		bad("limits.max_recipients", "must be at most 999999")
	}
	if l.MaxMessageSize >= 1<<32 {
		bad("limits.max_message_size", "must be below 4 GiB")
	}
	for key, d := range map[string]time.Duration{"timeouts.command": c.Timeouts.Command, "timeouts.data": c.Timeouts.Data, "timeouts.write": c.Timeouts.Write} {
		if d <= 0 {
			bad(key, "must be a positive duration such as 5m")
		}
	}
	return errors.Join(errs...)
}
