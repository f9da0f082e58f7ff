package builtin

import "bytes"

// eicarPrefix is the EICAR anti-virus test file's 68 bytes. The standard
// lets a file be detected as EICAR when it starts with them, followed
// only by white space, 128 bytes at most in all.
const eicarPrefix = `X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*`

// EICARName is what the builtin scanner calls the test file.
const EICARName = "Eicar-Test-Signature"

func eicar(data []byte) (string, bool) {
	if len(data) > 128 || !bytes.HasPrefix(data, []byte(eicarPrefix)) {
		return "", false
	}
	for _, c := range data[len(eicarPrefix):] {
		switch c {
		case ' ', '\t', '\r', '\n', 0x1a:
		default:
			return "", false
		}
	}
	return EICARName, true
}
