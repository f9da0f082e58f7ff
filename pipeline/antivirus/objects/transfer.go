package objects

import (
	"encoding/base64"
	"fmt"
	"io"
	"mime/quotedprintable"
	"strings"
)

// transferDecoder undoes a Content-Transfer-Encoding. An unknown one is
// passed through raw and reported, so that the bytes are scanned anyway.
func transferDecoder(cte string, r io.Reader) (io.Reader, string) {
	switch enc := strings.ToLower(strings.TrimSpace(cte)); enc {
	case "base64":
		return base64.NewDecoder(base64.StdEncoding, &base64Filter{r: r}), ""
	case "quoted-printable":
		return quotedprintable.NewReader(r), ""
	case "", "7bit", "8bit", "binary":
		return r, ""
	default:
		if isUUEncoding(enc) {
			// Decoded by the uuencode pass over text.
			return r, ""
		}
		return r, fmt.Sprintf("unknown transfer encoding %q", cte)
	}
}

func isUUEncoding(cte string) bool {
	switch strings.ToLower(strings.TrimSpace(cte)) {
	case "x-uuencode", "uuencode", "x-uue":
		return true
	}
	return false
}

// base64Filter drops what is not base64 before the decoder sees it. Mail
// readers skip stray characters, so a strict decoder would let a sender
// hide an attachment from the scanner that the recipient still opens.
type base64Filter struct {
	r io.Reader
}

func (f *base64Filter) Read(p []byte) (int, error) {
	for {
		n, err := f.r.Read(p)
		kept := 0
		for _, c := range p[:n] {
			if isBase64(c) {
				p[kept] = c
				kept++
			}
		}
		if kept > 0 || err != nil {
			return kept, err
		}
	}
}

func isBase64(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '+' || c == '/' || c == '='
}
