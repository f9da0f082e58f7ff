package urls

import "regexp"

// The patterns are RE2, so matching stays linear in the input whatever a
// sender writes. None of them crosses a line break, which keeps a link from
// swallowing the next line and lets HTML block boundaries end a link.
const (
	// A label as written: Unicode for IDNs, percent escapes browsers decode.
	labelPat = `(?:[\p{L}\p{M}\p{N}_-]|%[0-9A-Fa-f]{2})+`
	// Dots written so that mail clients do not turn them into links.
	defangPat = `[ \t]*(?:\[\.\]|\(\.\)|\{\.\}|\[dot\]|\(dot\)|\{dot\})[ \t]*|[ \t]+\.[ \t]+`
	// The ideographic and full-width dots are ones IDNA maps to ".".
	sepPat  = `(?:[.\x{3002}\x{FF0E}\x{FF61}]|` + defangPat + `)`
	hostPat = labelPat + `(?:` + sepPat + labelPat + `)*`
	ip6Pat  = `\[[0-9A-Fa-f.]*:[0-9A-Fa-f:.]*\]`
	// Real schemes and their defanged spellings; browsers take backslashes
	// and one or three slashes as well.
	schemePat = `(?:https?|ftp|h(?:xx|tx|xt|\*\*)ps?|fxp)(?:\[:\]|:)[/\\]{1,3}|h(?:tt|xx)ps?\[://\]`
	// Greedy up to the last "@" before the path, as browsers split userinfo.
	userinfoPat = `[^\s/\\?#<>"'\x60]*@`
	portPat     = `(?::[0-9]{1,5})?`
	restPat     = `[/?#\\][^\s<>"'\x60]*`
	// Bare hosts need a dot (a single word is never one) and count only a
	// path as their rest: "example.com?" ends a question, not a URL.
	bareHostPat = labelPat + `(?:` + sepPat + labelPat + `)+`
	barePathPat = `/[^\s<>"'\x60]*`
)

var (
	// textLinkRe finds, in running text, a URL with a scheme (groups 1 to 3:
	// scheme, host, rest) or else a bare host (groups 4 and 5: host, path).
	textLinkRe = regexp.MustCompile(`(?i)\b(` + schemePat + `)(?:` + userinfoPat + `)?(` + ip6Pat + `|` + hostPat + `)` + portPat + `(` + restPat + `)?` +
		`|(` + bareHostPat + `)` + portPat + `(` + barePathPat + `)?`)
	// attrLinkRe reads an attribute value, where only a URL with a scheme
	// names a host: anything else is relative to the page.
	attrLinkRe = regexp.MustCompile(`(?i)^(` + schemePat + `)(?:` + userinfoPat + `)?(` + ip6Pat + `|` + hostPat + `)` + portPat + `(` + restPat + `)?`)
	defangRe   = regexp.MustCompile(`(?i)` + defangPat)
)
