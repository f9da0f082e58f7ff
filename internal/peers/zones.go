package peers

// SpamTestZones is DNS data for anti-spam tests, for StartUnbound: a
// listed client (127.0.0.2, with a forward-confirmed PTR), an unlisted one
// without PTR (127.0.0.4), a listed URL domain, and SPF records that pass
// and soft-fail for loopback clients.
func SpamTestZones() []string {
	return []string{
		`local-zone: "zen.example." static`,
		`local-data: "2.0.0.127.zen.example. A 127.0.0.2"`,
		`local-zone: "uribl.example." static`,
		`local-data: "spammy-domain.test.uribl.example. A 127.0.0.2"`,
		`local-zone: "127.in-addr.arpa." static`,
		`local-data-ptr: "127.0.0.2 mail.good.test."`,
		`local-zone: "good.test." static`,
		`local-data: "mail.good.test. A 127.0.0.2"`,
		`local-data: 'good.test. TXT "v=spf1 ip4:127.0.0.0/8 -all"'`,
		`local-zone: "spf.test." static`,
		`local-data: 'pass.spf.test. TXT "v=spf1 ip4:127.0.0.0/8 -all"'`,
		`local-data: 'soft.spf.test. TXT "v=spf1 ip4:192.0.2.1 ~all"'`,
	}
}
