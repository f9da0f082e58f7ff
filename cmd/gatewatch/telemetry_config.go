package main

import (
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/gatewatch/gatewatch/telemetry/cef"
)

// TelemetryConfig configures the SNMP and CEF channels.
type TelemetryConfig struct {
	AgentX       AgentXConfig `yaml:"agentx"`
	Traps        []TrapTarget `yaml:"traps"`
	TrapLimit    TrapLimit    `yaml:"trap_limit"`
	SNMPEngineID string       `yaml:"snmp_engine_id"` // hex; "" derives one from the host name
	CEF          cef.Config   `yaml:"cef"`
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
	errs = append(errs, c.CEF.Validate("telemetry.cef"))
	return errors.Join(errs...)
}

// snmpPart is the configuration without the CEF section: what the SNMP
// channels depend on.
func (c TelemetryConfig) snmpPart() TelemetryConfig {
	c.CEF = cef.Config{}
	return c
}
