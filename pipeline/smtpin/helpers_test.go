package smtpin

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatewatch/gatewatch/internal/eventlog"
	"github.com/gatewatch/gatewatch/pipeline"
	"github.com/gatewatch/gatewatch/pipeline/spool"
	"github.com/gatewatch/gatewatch/telemetry"
	"github.com/gatewatch/gatewatch/telemetry/stats"
)

func testConfig() Config {
	return Config{
		Listen:           []string{"127.0.0.1:0"},
		Hostname:         "gw.test.invalid",
		Postmaster:       "postmaster@example.test",
		ProtectedDomains: []string{"example.test", "*.example.test"},
		RelayNetworks:    []string{"127.0.0.0/8"},
		Limits: Limits{MaxConnections: 100, MaxConnectionsPerIP: 50, MaxMessageSize: 1 << 20, MaxRecipients: 100,
			MaxMessagesPerSession: 100, MaxLineLength: 4096, MaxHeaderSize: 64 << 10, MaxHops: 20},
		Timeouts: Timeouts{Command: 10 * time.Second, Data: 10 * time.Second, Write: 10 * time.Second},
	}
}

// waitFor polls until cond holds or fails the test after timeout.
func waitFor(t testing.TB, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

type harness struct {
	r    *Receiver
	sp   *spool.Spool
	ev   *eventlog.Recorder
	st   *stats.Stats
	addr string
}

// start runs a receiver with the test config changed by mutate.
func start(t testing.TB, mutate func(*Config), stages ...pipeline.Stage) *harness {
	t.Helper()
	return startWith(t, mutate, pipeline.StrictPolicy{}, Aftercare{}, stages...)
}

// startWith runs a receiver under the given policy and aftercare.
func startWith(t testing.TB, mutate func(*Config), policy pipeline.Policy, ac Aftercare, stages ...pipeline.Stage) *harness {
	t.Helper()
	cfg := testConfig()
	if mutate != nil {
		mutate(&cfg)
	}
	st := telemetry.NewStats()
	ev := &eventlog.Recorder{Next: telemetry.NewBus(st)}
	sp, err := spool.Open(spool.Config{Dir: t.TempDir()}, ev, st)
	if err != nil {
		t.Fatal(err)
	}
	r, err := New(cfg, sp, pipeline.NewScanner(ev, policy, stages...), ev)
	if err != nil {
		t.Fatal(err)
	}
	r.SetAftercare(ac)
	if err := r.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = r.Shutdown(t.Context())
		sp.Close()
	})
	return &harness{r: r, sp: sp, ev: ev, st: st, addr: r.Addrs()[0].String()}
}

// client is a raw SMTP client: it sends exactly what a test says.
type client struct {
	t    testing.TB
	conn net.Conn
	r    *bufio.Reader
}

func dial(t testing.TB, addr string) *client {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	return &client{t: t, conn: c, r: bufio.NewReader(c)}
}

// greeted dials and expects the 220 banner.
func greeted(t testing.TB, addr string) *client {
	t.Helper()
	c := dial(t, addr)
	if code, text := c.reply(); code != 220 {
		t.Fatalf("banner: %d %s", code, text)
	}
	return c
}

// reply reads one (possibly multi-line) reply.
func (c *client) reply() (int, string) {
	c.t.Helper()
	var lines []string
	for {
		l, err := c.r.ReadString('\n')
		if err != nil {
			return 0, strings.Join(append(lines, "read error: "+err.Error()), "\n")
		}
		l = strings.TrimRight(l, "\r\n")
		if len(l) < 4 {
			c.t.Fatalf("short reply line %q", l)
		}
		lines = append(lines, l[4:])
		if l[3] == ' ' {
			code, _ := strconv.Atoi(l[:3])
			return code, strings.Join(lines, "\n")
		}
	}
}

func (c *client) send(s string) {
	c.t.Helper()
	if _, err := c.conn.Write([]byte(s)); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// cmd sends one command line and returns the reply.
func (c *client) cmd(format string, args ...any) (int, string) {
	c.t.Helper()
	c.send(fmt.Sprintf(format, args...) + "\r\n")
	return c.reply()
}

// expect runs a command and fails unless the reply has the code.
func (c *client) expect(code int, format string, args ...any) string {
	c.t.Helper()
	got, text := c.cmd(format, args...)
	if got != code {
		c.t.Fatalf("%s: got %d %s, want %d", fmt.Sprintf(format, args...), got, text, code)
	}
	return text
}

// closed reports whether the server closed the connection (EOF on read).
func (c *client) closed() bool {
	_ = c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err := c.r.ReadByte()
	return err != nil
}

// sendMessage runs a whole transaction and returns the final reply.
func (c *client) sendMessage(from string, to []string, content string) (int, string) {
	c.t.Helper()
	c.expect(250, "MAIL FROM:<%s>", from)
	for _, r := range to {
		c.expect(250, "RCPT TO:<%s>", r)
	}
	c.expect(354, "DATA")
	c.send(content)
	c.send(".\r\n")
	return c.reply()
}

// queueID pulls the ID out of "Ok: queued as ID".
func queueID(t testing.TB, text string) string {
	t.Helper()
	i := strings.LastIndex(text, " ")
	id := text[i+1:]
	if !spool.ValidID(id) {
		t.Fatalf("no queue ID in %q", text)
	}
	return id
}

// selfSigned writes a certificate and key for localhost into dir.
func selfSigned(t testing.TB, dir string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "gw.test.invalid"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), DNSNames: []string{"gw.test.invalid", "localhost"}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}
