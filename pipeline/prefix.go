package pipeline

import (
	"fmt"
	"net/netip"
	"strings"
)

// ParsePrefix reads a client list entry: a CIDR network, or a bare
// address meaning just that address.
func ParsePrefix(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return p, fmt.Errorf("%q is not a CIDR network", s)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not an address or CIDR network", s)
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}
