package traps

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/gosnmp/gosnmp"
)

// Target is one notification receiver, as configured.
type Target struct {
	Target    string // host:port
	Version   string // "2c" or "3"
	Community string // v2c
	Inform    bool   // acknowledged notifications instead of traps
	// v3, always authPriv: a notification describes the gateway's state and
	// must be neither forged nor read on the way.
	User     string
	Auth     string // MD5, SHA, SHA224, SHA256, SHA384, SHA512
	AuthPass string
	Priv     string // DES, AES, AES192, AES256
	PrivPass string
}

// minPassLen is USM's minimum passphrase length (RFC 3414 section 11.2);
// net-snmp refuses shorter ones, so a receiver could never be set up with
// them anyway.
const minPassLen = 8

// authProtocol and privProtocol map the configured names to gosnmp's.
// AES192 and AES256 are the Blumenthal key extension, which is what
// net-snmp calls AES-192 and AES-256.
func authProtocol(name string) (gosnmp.SnmpV3AuthProtocol, bool) {
	switch strings.ToUpper(name) {
	case "MD5":
		return gosnmp.MD5, true
	case "SHA":
		return gosnmp.SHA, true
	case "SHA224":
		return gosnmp.SHA224, true
	case "SHA256":
		return gosnmp.SHA256, true
	case "SHA384":
		return gosnmp.SHA384, true
	case "SHA512":
		return gosnmp.SHA512, true
	}
	return 0, false
}

func privProtocol(name string) (gosnmp.SnmpV3PrivProtocol, bool) {
	switch strings.ToUpper(name) {
	case "DES":
		return gosnmp.DES, true
	case "AES":
		return gosnmp.AES, true
	case "AES192":
		return gosnmp.AES192, true
	case "AES256":
		return gosnmp.AES256, true
	}
	return 0, false
}

// Validate checks the target. Each error names the field (by its
// configuration key) so that an operator can find it.
func (t Target) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...)))
	}
	if _, _, err := splitTarget(t.Target); err != nil {
		bad("target", "%v", err)
	}
	switch t.Version {
	case "2c":
		if t.Community == "" {
			bad("community", "needed for version 2c")
		}
	case "3":
		if t.User == "" {
			bad("user", "needed for version 3")
		}
		if _, ok := authProtocol(t.Auth); !ok {
			bad("auth", "%q: want MD5, SHA, SHA224, SHA256, SHA384 or SHA512 (version 3 is authPriv only)", t.Auth)
		}
		if len(t.AuthPass) < minPassLen {
			bad("auth_pass", "needs at least %d characters", minPassLen)
		}
		if _, ok := privProtocol(t.Priv); !ok {
			bad("priv", "%q: want DES, AES, AES192 or AES256 (version 3 is authPriv only)", t.Priv)
		}
		if len(t.PrivPass) < minPassLen {
			bad("priv_pass", "needs at least %d characters", minPassLen)
		}
	default:
		bad("version", "%q: want \"2c\" or \"3\"", t.Version)
	}
	return errors.Join(errs...)
}

// splitTarget reads host:port. The port is required: 162 is the default
// of most tools, but a receiver on the wrong port would only show up as
// traps silently not arriving.
func splitTarget(s string) (string, uint16, error) {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return "", 0, fmt.Errorf("%q is not host:port", s)
	}
	n, err := strconv.ParseUint(port, 10, 16)
	if host == "" || err != nil || n == 0 {
		return "", 0, fmt.Errorf("%q is not host:port", s)
	}
	return host, uint16(n), nil
}
