package milter

import (
	"fmt"
	"net"
	"strings"
	"time"
)

// Config is the milter section of the configuration.
type Config struct {
	Listen     string        `yaml:"listen"`      // inet:127.0.0.1:PORT, unix:/path, or host:port; "" is off
	Timeout    time.Duration `yaml:"timeout"`     // scanning one message
	MaxMessage int64         `yaml:"max_message"` // bytes; larger messages get 552
}

// Validate checks the section; errors name the key.
func (c Config) Validate() error {
	if c.Listen == "" {
		return nil
	}
	if _, _, err := listenAddr(c.Listen); err != nil {
		return fmt.Errorf("milter.listen: %w", err)
	}
	if c.Timeout <= 0 || c.MaxMessage <= 0 {
		return fmt.Errorf("milter.timeout, milter.max_message: must be greater than 0")
	}
	return nil
}

// listenAddr reads Postfix's notation (inet:host:port, unix:path) or a
// plain host:port.
func listenAddr(s string) (network, addr string, err error) {
	switch {
	case strings.HasPrefix(s, "unix:"):
		if p := strings.TrimPrefix(s, "unix:"); p != "" {
			return "unix", p, nil
		}
		return "", "", fmt.Errorf("%q: unix: needs a path", s)
	case strings.HasPrefix(s, "inet:"):
		s = strings.TrimPrefix(s, "inet:")
	}
	if _, _, err := net.SplitHostPort(s); err != nil {
		return "", "", fmt.Errorf("%q: want inet:HOST:PORT, unix:/PATH or HOST:PORT", s)
	}
	return "tcp", s, nil
}
