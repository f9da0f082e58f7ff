package clamd

import (
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gatewatch/gatewatch/internal/peers"
)

// Names clamd reports for the test signatures; custom databases get the
// ".UNOFFICIAL" suffix.
const (
	bodyThreat = "Test.MailGW.EICAR-Body.UNOFFICIAL"
	md5Threat  = "Test.MailGW.EICAR-MD5.UNOFFICIAL"
)

// testTimeout is generous for loopback scans of a few kilobytes, yet short
// enough that a hang fails the test well before go test's own timeout.
const testTimeout = 10 * time.Second

// eicar is the 68-byte standard anti-virus test file, without a newline so
// that its MD5 matches the .hdb signature.
func eicar() []byte {
	return []byte(`X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*`)
}

// hdbLine is the .hdb signature matching exactly data.
func hdbLine(name string, data []byte) string {
	sum := md5.Sum(data)
	return fmt.Sprintf("%s:%d:%s\n", hex.EncodeToString(sum[:]), len(data), name)
}

func randomBytes(t testing.TB, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// startClamd runs clamd with EICAR signatures of both kinds, so that a test
// can tell which engine path matched.
func startClamd(t testing.TB, maxStream string) *peers.Clamd {
	t.Helper()
	body := eicar()
	// The body signature matches EICAR anywhere inside larger data, the
	// MD5 one only the exact file, so body data is embedded in tests
	// that want the .ndb path.
	return peers.StartClamd(t, peers.ClamdOptions{
		Signatures: map[string]string{
			"mailgw-test.ndb": "Test.MailGW.EICAR-Body:0:*:" + hex.EncodeToString(body) + "\n",
			"mailgw-test.hdb": hdbLine("Test.MailGW.EICAR-MD5", body),
		},
		StreamMaxLength: maxStream,
	})
}

func newClient(t testing.TB, address string, maxStream int64) *Client {
	t.Helper()
	c, err := New(Config{Address: address, Timeout: testTimeout, MaxStream: maxStream, Connections: 8})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

func scanBytes(t testing.TB, c *Client, data []byte) (Result, error) {
	t.Helper()
	return c.Scan(context.Background(), strings.NewReader(string(data)), int64(len(data)))
}
