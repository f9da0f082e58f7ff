package urls

import "testing"

func TestParseIPv4(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"192.168.1.1", "192.168.1.1"},
		{"3232235777", "192.168.1.1"},
		{"0xC0A80101", "192.168.1.1"},
		{"030052000401", "192.168.1.1"},
		{"0300.0250.01.01", "192.168.1.1"},
		{"0xc0.0xa8.0x1.0x1", "192.168.1.1"},
		{"192.168.257", "192.168.1.1"},
		{"192.11010305", "192.168.1.1"},
		{"0x.0.0.0", "0.0.0.0"},
		{"255.255.255.255", "255.255.255.255"},
		{"4294967295", "255.255.255.255"},
	} {
		ip, ok := parseIPv4(tc.in)
		if !ok || ip.String() != tc.want {
			t.Errorf("parseIPv4(%q) = %v, %v; want %s", tc.in, ip, ok, tc.want)
		}
	}
	for _, in := range []string{"", "1.2.3.4.5", "256.0.0.1", "1.2.3.256", "1.2.65536", "1.16777216", "4294967296", "09", "1..2", "0x1g", "-1", "+1", "1_0"} {
		if ip, ok := parseIPv4(in); ok {
			t.Errorf("parseIPv4(%q) = %v, want failure", in, ip)
		}
	}
}

func TestEndsInNumber(t *testing.T) {
	for in, want := range map[string]bool{
		"1.2.3.4": true, "evil.0x1F": true, "a.0x": true, "3232235777": true,
		"evil.test": false, "1.2.3.a": false, "a.0x1g": false, "": false, "1a": false,
	} {
		if got := endsInNumber(in); got != want {
			t.Errorf("endsInNumber(%q) = %v", in, got)
		}
	}
}
