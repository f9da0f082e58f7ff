package main

import (
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"
)

// TelemetryConfig configures the SNMP and CEF channels. The CEF keys are
// accepted and validated now so that configurations stay stable; the CEF
// exporter that consumes them is not part of this build yet (see README).
type TelemetryConfig struct {
	AgentX       AgentXConfig `yaml:"agentx"`
	Traps        []TrapTarget `yaml:"traps"`
	TrapLimit    TrapLimit    `yaml:"trap_limit"`
	SNMPEngineID string       `yaml:"snmp_engine_id"` // hex; "" derives one from the host name
	CEF          CEFConfig    `yaml:"cef"`
}

// AgentXConfig is the master agent to register with.
type AgentXConfig struct {
	Address      string        `yaml:"address"`       // unix:/path or tcp:host:port; "" disables
	Notify       bool          `yaml:"notify"`        // also send notifications through the master agent
	Timeout      time.Duration `yaml:"timeout"`       // AgentX session timeout
	PingInterval time.Duration `yaml:"ping_interval"` // liveness check of the master agent
}

// TrapLimit is the storm guard: per event type, at most Burst
// notifications per Interval; the rest are counted and reported.
type TrapLimit struct {
	Burst    int           `yaml:"burst"`
	Interval time.Duration `yaml:"interval"`
}

// TrapTarget is one trap or inform receiver.
type TrapTarget struct {
	Target    string `yaml:"target"` // host:port
	Version   string `yaml:"version"`
	Community string `yaml:"community"`
	Inform    bool   `yaml:"inform"`
	User      string `yaml:"user"`
	Auth      string `yaml:"auth"`
	AuthPass  string `yaml:"auth_pass"`
	Priv      string `yaml:"priv"`
	PrivPass  string `yaml:"priv_pass"`
}

// CEFConfig is the CEF-over-syslog channel.
type CEFConfig struct {
	File      string      `yaml:"file"`
	Targets   []CEFTarget `yaml:"targets"`
	BufferDir string      `yaml:"buffer_dir"`
}

// CEFTarget is one syslog receiver.
type CEFTarget struct {
	Address string       `yaml:"address"` // udp://, tcp:// or tls://host:port
	Format  string       `yaml:"format"`  // rfc5424 or rfc3164
	TLS     CEFTargetTLS `yaml:"tls"`
}

// CEFTargetTLS is the TLS trust for a target.
type CEFTargetTLS struct {
	CA   string `yaml:"ca"`
	Cert string `yaml:"cert"`
	Key  string `yaml:"key"`
}

// Validate checks the section; errors name the key.
func (c TelemetryConfig) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("telemetry.%s: %s", key, fmt.Sprintf(format, args...)))
	}
	if a := c.AgentX.Address; a != "" && !strings.HasPrefix(a, "unix:") && !strings.HasPrefix(a, "tcp:") {
		bad("agentx.address", "%q: want unix:/path or tcp:host:port", a)
	}
	if c.AgentX.Notify && c.AgentX.Address == "" {
		bad("agentx.notify", "needs agentx.address")
	}
	if c.AgentX.Timeout < time.Second || c.AgentX.Timeout > 255*time.Second {
		bad("agentx.timeout", "must be between 1s and 255s (AgentX carries it in whole seconds)")
	}
	if c.AgentX.PingInterval <= 0 {
		bad("agentx.ping_interval", "must be a positive duration such as 15s")
	}
	if c.TrapLimit.Burst < 1 || c.TrapLimit.Interval <= 0 {
		bad("trap_limit", "need burst >= 1 and a positive interval")
	}
	if id := c.SNMPEngineID; id != "" {
		b, err := hex.DecodeString(strings.TrimPrefix(strings.ToLower(id), "0x"))
		if err != nil || len(b) < 5 || len(b) > 32 {
			bad("snmp_engine_id", "%q: want 5 to 32 bytes in hex", id)
		}
	}
	for i, t := range c.Traps {
		key := fmt.Sprintf("traps[%d]", i)
		if _, _, err := net.SplitHostPort(t.Target); err != nil {
			bad(key+".target", "%q is not host:port", t.Target)
		}
		switch t.Version {
		case "2c":
			if t.Community == "" {
				bad(key+".community", "needed for version 2c")
			}
		case "3":
			if t.User == "" {
				bad(key+".user", "needed for version 3")
			}
			if t.Auth == "" || t.Priv == "" || len(t.AuthPass) < 8 || len(t.PrivPass) < 8 {
				bad(key, "version 3 needs auth, priv and passwords of at least 8 characters (authPriv)")
			}
		default:
			bad(key+".version", "%q: want \"2c\" or \"3\"", t.Version)
		}
	}
	for i, t := range c.CEF.Targets {
		key := fmt.Sprintf("cef.targets[%d]", i)
		scheme, hp, ok := strings.Cut(t.Address, "://")
		if !ok || (scheme != "udp" && scheme != "tcp" && scheme != "tls") {
			bad(key+".address", "%q: want udp://, tcp:// or tls://host:port", t.Address)
		} else if _, _, err := net.SplitHostPort(hp); err != nil {
			bad(key+".address", "%q: %v", t.Address, err)
		}
		if t.Format != "rfc5424" && t.Format != "rfc3164" {
			bad(key+".format", "%q: want rfc5424 or rfc3164", t.Format)
		}
	}
	return errors.Join(errs...)
}
