package contentfilter

import (
	"path"
	"strings"
)

// runnable are extensions Windows runs or opens as code.
var runnable = map[string]bool{"exe": true, "scr": true, "com": true, "bat": true, "cmd": true, "pif": true,
	"vbs": true, "vbe": true, "js": true, "jse": true, "wsf": true, "wsh": true, "hta": true, "msi": true,
	"ps1": true, "lnk": true, "jar": true, "cpl": true, "reg": true, "iso": true, "img": true}

// decoys are extensions people trust.
var decoys = map[string]bool{"pdf": true, "doc": true, "docx": true, "xls": true, "xlsx": true, "ppt": true,
	"pptx": true, "txt": true, "rtf": true, "jpg": true, "jpeg": true, "png": true, "gif": true, "zip": true,
	"csv": true, "htm": true, "html": true, "mp3": true, "mp4": true, "odt": true}

// doubleExtension finds "invoice.pdf.exe" (also with spaces or dots
// padding the decoy: "invoice.pdf   .exe").
func doubleExtension(name string) (string, bool) {
	n := strings.ToLower(strings.TrimRight(name, " ."))
	last := strings.TrimPrefix(path.Ext(n), ".")
	if !runnable[last] {
		return "", false
	}
	rest := strings.TrimRight(strings.TrimSuffix(n, "."+last), " .")
	prev := strings.TrimPrefix(path.Ext(rest), ".")
	return last, decoys[prev]
}

// bidiTrick finds Unicode direction controls in a name ("invoice\u202Efdp.exe"
// shows as "invoiceexe.pdf") and returns the name as it would be shown.
func bidiTrick(name string) (string, bool) {
	found := false
	var b strings.Builder
	runes := []rune(name)
	for i := 0; i < len(runes); i++ {
		r := runes[i]
		switch {
		case r == '\u202E' || r == '\u2067': // right-to-left override / isolate: the rest shows reversed
			found = true
			rest := runes[i+1:]
			for j := len(rest) - 1; j >= 0; j-- {
				if !isBidi(rest[j]) {
					b.WriteRune(rest[j])
				}
			}
			return b.String(), true
		case isBidi(r):
			found = true
		default:
			b.WriteRune(r)
		}
	}
	return b.String(), found
}

func isBidi(r rune) bool {
	return r >= '\u202A' && r <= '\u202E' || r >= '\u2066' && r <= '\u2069' || r == '\u200E' || r == '\u200F'
}
