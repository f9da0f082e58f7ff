package clamd

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"time"
)

// Config says where clamd listens and how far the client trusts it.
type Config struct {
	// Address is "tcp://HOST:PORT" or "unix:/path/to/clamd.ctl".
	Address string
	// Timeout bounds one whole command, including the wait for a free
	// connection slot, the upload and clamd's verdict.
	Timeout time.Duration
	// MaxStream must equal clamd's StreamMaxLength, in bytes.
	MaxStream int64
	// Connections caps the connections open to clamd at once. Zero means
	// defaultConnections. It is a limit, not a pool: see the package
	// documentation for why connections are not reused.
	Connections int
}

// defaultConnections matches clamd's default MaxThreads, so that the
// gateway does not queue more work in clamd than clamd can run at once.
const defaultConnections = 10

// endpoint is a parsed Config.Address in the form net.Dial wants it.
type endpoint struct {
	network string
	addr    string
}

func (e endpoint) String() string {
	if e.network == "unix" {
		return "unix:" + e.addr
	}
	return e.network + "://" + e.addr
}

// validate checks cfg, fills in defaults and returns the parsed address.
func (cfg *Config) validate() (endpoint, error) {
	ep, err := parseAddress(cfg.Address)
	if err != nil {
		return endpoint{}, err
	}
	if cfg.Timeout <= 0 {
		return endpoint{}, fmt.Errorf("clamd: Timeout must be positive, got %v", cfg.Timeout)
	}
	if cfg.MaxStream <= 0 {
		return endpoint{}, fmt.Errorf("clamd: MaxStream must be clamd's StreamMaxLength in bytes, got %d", cfg.MaxStream)
	}
	if cfg.Connections < 0 {
		return endpoint{}, fmt.Errorf("clamd: Connections must not be negative, got %d", cfg.Connections)
	}
	if cfg.Connections == 0 {
		cfg.Connections = defaultConnections
	}
	return ep, nil
}

func parseAddress(s string) (endpoint, error) {
	switch {
	case s == "":
		return endpoint{}, errors.New(`clamd: Address is empty; want "tcp://HOST:PORT" or "unix:/PATH"`)
	case strings.HasPrefix(s, "tcp://"):
		hostport := strings.TrimPrefix(s, "tcp://")
		host, port, err := net.SplitHostPort(hostport)
		if err != nil {
			return endpoint{}, fmt.Errorf("clamd: Address %q: %w", s, err)
		}
		if host == "" || port == "" {
			return endpoint{}, fmt.Errorf("clamd: Address %q needs both host and port", s)
		}
		return endpoint{network: "tcp", addr: hostport}, nil
	case strings.HasPrefix(s, "unix:"):
		// "unix:///run/x" is accepted too, as URL-minded operators write it.
		path := strings.TrimPrefix(strings.TrimPrefix(s, "unix:"), "//")
		if !strings.HasPrefix(path, "/") {
			return endpoint{}, fmt.Errorf("clamd: Address %q: the socket path must be absolute", s)
		}
		return endpoint{network: "unix", addr: path}, nil
	default:
		return endpoint{}, fmt.Errorf(`clamd: Address %q: want "tcp://HOST:PORT" or "unix:/PATH"`, s)
	}
}
