package traps

import (
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/gosnmp/gosnmp"
)

// snmpTarget delivers to one receiver with its own gosnmp.GoSNMP: a GoSNMP
// is one socket and one request-ID space, and SendTrap even rewrites its
// MsgFlags, so it is never shared between goroutines or targets.
type snmpTarget struct {
	t        Target
	host     string
	port     uint16
	timeout  time.Duration
	retries  int
	started  time.Time
	engineID []byte
	boots    uint32

	g   *gosnmp.GoSNMP                // nil until connected
	usp *gosnmp.UsmSecurityParameters // g's, for v3 traps' engine time

	mu      sync.Mutex // guards conn and aborted against abort
	conn    net.Conn
	aborted bool
}

// connect builds the GoSNMP on first use rather than in New, so that a
// receiver whose name does not resolve yet fails its notifications (and is
// retried with the next one) instead of failing the gateway's start.
func (s *snmpTarget) connect() error {
	g := &gosnmp.GoSNMP{
		Target:    s.host,
		Port:      s.port,
		Transport: "udp",
		Timeout:   s.timeout,
		Retries:   s.retries,
		MaxOids:   gosnmp.MaxOids,
	}
	if s.t.Version == "2c" {
		g.Version = gosnmp.Version2c
		g.Community = s.t.Community
	} else {
		auth, _ := authProtocol(s.t.Auth) // Validate has checked both
		priv, _ := privProtocol(s.t.Priv)
		usp := &gosnmp.UsmSecurityParameters{
			UserName:                 s.t.User,
			AuthenticationProtocol:   auth,
			AuthenticationPassphrase: s.t.AuthPass,
			PrivacyProtocol:          priv,
			PrivacyPassphrase:        s.t.PrivPass,
		}
		if !s.t.Inform {
			// A trap's authoritative engine is the sender. Left empty,
			// gosnmp would discover the RECEIVER's engine ID and use that,
			// which no receiver accepts for a trap: SendTrap returns nil
			// and nothing is delivered. An inform's authoritative engine
			// is the receiver, so informs use that discovery.
			usp.AuthoritativeEngineID = string(s.engineID)
			usp.AuthoritativeEngineBoots = s.boots
		}
		g.Version = gosnmp.Version3
		g.SecurityModel = gosnmp.UserSecurityModel
		g.MsgFlags = gosnmp.AuthPriv
		g.SecurityParameters = usp
		s.usp = usp
	}
	if err := g.Connect(); err != nil {
		return fmt.Errorf("%s: %w", s.t.Target, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.aborted {
		_ = g.Conn.Close()
		return fmt.Errorf("%s: sender closed", s.t.Target)
	}
	s.g, s.conn = g, g.Conn
	return nil
}

func (s *snmpTarget) deliver(n *notification) error {
	if s.g == nil {
		if err := s.connect(); err != nil {
			return err
		}
	}
	if s.usp != nil && !s.t.Inform {
		// Receivers drop a trap whose engine time lags what they saw.
		s.usp.AuthoritativeEngineTime = uint32(time.Since(s.started) / time.Second)
	}
	res, err := s.g.SendTrap(gosnmp.SnmpTrap{Variables: n.pdus(), IsInform: s.t.Inform})
	if err != nil {
		return fmt.Errorf("%s: %w", s.t.Target, err)
	}
	// A trap's nil error only says it was written to the socket. An inform
	// counts only with the receiver's Response; a Report (unknown user,
	// wrong keys) is not one.
	if s.t.Inform && (res == nil || res.PDUType != gosnmp.GetResponse) {
		return fmt.Errorf("%s: inform not acknowledged", s.t.Target)
	}
	return nil
}

// abort closes the socket under a pending inform, which ends its wait.
func (s *snmpTarget) abort() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.aborted = true
	if s.conn != nil {
		_ = s.conn.Close()
	}
}

func (s *snmpTarget) close() {
	if s.g != nil {
		_ = s.g.Close()
	}
}
