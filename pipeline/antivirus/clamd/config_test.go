package clamd

import (
	"strings"
	"testing"
	"time"
)

func TestNewValidates(t *testing.T) {
	good := Config{Address: "tcp://127.0.0.1:3310", Timeout: time.Second, MaxStream: 1 << 20}
	tests := []struct {
		name    string
		edit    func(*Config)
		wantErr string // substring naming the problem; "" for success
	}{
		{name: "tcp", edit: func(*Config) {}},
		{name: "unix", edit: func(c *Config) { c.Address = "unix:/run/clamav/clamd.ctl" }},
		{name: "unix URL form", edit: func(c *Config) { c.Address = "unix:///run/clamav/clamd.ctl" }},
		{name: "ipv6", edit: func(c *Config) { c.Address = "tcp://[::1]:3310" }},
		{name: "empty address", edit: func(c *Config) { c.Address = "" }, wantErr: "Address is empty"},
		{name: "no scheme", edit: func(c *Config) { c.Address = "127.0.0.1:3310" }, wantErr: "want"},
		{name: "no port", edit: func(c *Config) { c.Address = "tcp://127.0.0.1" }, wantErr: "missing port"},
		{name: "no host", edit: func(c *Config) { c.Address = "tcp://:3310" }, wantErr: "host and port"},
		{name: "relative socket", edit: func(c *Config) { c.Address = "unix:clamd.ctl" }, wantErr: "absolute"},
		{name: "zero timeout", edit: func(c *Config) { c.Timeout = 0 }, wantErr: "Timeout"},
		{name: "zero MaxStream", edit: func(c *Config) { c.MaxStream = 0 }, wantErr: "MaxStream"},
		{name: "negative Connections", edit: func(c *Config) { c.Connections = -1 }, wantErr: "Connections"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := good
			tt.edit(&cfg)
			c, err := New(cfg)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("New(%+v): %v", cfg, err)
				}
				if cap(c.slots) != defaultConnections {
					t.Errorf("connection limit = %d, want default %d", cap(c.slots), defaultConnections)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("New(%+v) error = %v, want one mentioning %q", cfg, err, tt.wantErr)
			}
		})
	}
}
