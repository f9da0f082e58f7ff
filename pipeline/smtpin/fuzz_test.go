package smtpin

import (
	"io"
	"net"
	"testing"
	"time"
)

// FuzzSession feeds arbitrary client bytes to a whole SMTP session. The
// receiver must answer, end the session and stay healthy: no panic, no
// hang, and the next session works.
func FuzzSession(f *testing.F) {
	for _, seed := range []string{
		"EHLO x\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.test>\r\nDATA\r\nSubject: s\r\n\r\nbody\r\n.\r\nQUIT\r\n",
		"EHLO x\r\nMAIL FROM:<a@example.org> SIZE=99999999999 RET=FULL ENVID=x+2B\r\nRCPT TO:<@a,@b:c@example.test> NOTIFY=SUCCESS,DELAY ORCPT=rfc822;x+40y\r\n",
		"EHLO x\r\nMAIL FROM:<>\r\nRCPT TO:<b@example.test>\r\nBDAT 10 LAST\r\n0123456789",
		"HELO\r\n\x00\x01\x02\r\nRCPT TO:<>\r\nDATA\r\n.\r\n",
		"EHLO x\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.test>\r\nDATA\r\nno header line\nbare lf\r\n.\r\n",
		"STARTTLS\r\nAUTH PLAIN\r\nVRFY x\r\nEXPN y\r\nRSET\r\nNOOP\r\n",
	} {
		f.Add([]byte(seed))
	}
	h := start(f, func(c *Config) {
		c.Timeouts = Timeouts{Command: 2 * time.Second, Data: 2 * time.Second, Write: 2 * time.Second}
		c.Limits.MaxLineLength = 1000
	})
	f.Fuzz(func(t *testing.T, input []byte) {
		server, client := net.Pipe()
		done := make(chan struct{})
		go func() {
			defer close(done)
			_, _ = io.Copy(io.Discard, client)
		}()
		h.r.admit(server)
		_ = client.SetWriteDeadline(time.Now().Add(3 * time.Second))
		_, _ = client.Write(input)
		_, _ = client.Write([]byte("\r\n.\r\nQUIT\r\n"))
		client.Close()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("session did not end")
		}
		// The receiver still serves real clients.
		c := greeted(t, h.addr)
		c.expect(250, "NOOP")
		c.cmd("QUIT")
	})
}
