package peers

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// Paths of unbound's programs (package unbound).
const (
	UnboundBin      = "/usr/sbin/unbound"
	UnboundCheckBin = "/usr/sbin/unbound-checkconf"
)

// Unbound is a running unbound on 127.0.0.1 that answers only from the
// zones a test gave it: every other name is refused at once, so nothing a
// test does can reach a public resolver.
type Unbound struct {
	Addr string // "127.0.0.1:PORT", UDP and TCP
	Dir  string
	proc *process
}

// StartUnbound runs unbound with lines as its server clause's zone data:
// `local-zone: "zen.example." static`, `local-data: "2.0.0.127.zen.example. A 127.0.0.2"`,
// `local-data-ptr: "127.0.0.1 mail.example.org."`. TXT data with spaces
// goes in single quotes outside: `local-data: 'x.example. TXT "a b"'`.
// It returns once a query is answered.
func StartUnbound(t testing.TB, lines ...string) *Unbound {
	t.Helper()
	Require(t, UnboundBin, UnboundCheckBin)
	u := &Unbound{Dir: peerDir(t, "unbound")}
	port := freeTCPUDPPort(t)
	u.Addr = loopback(port)
	var b strings.Builder
	fmt.Fprintf(&b, "server:\n    interface: 127.0.0.1@%d\n    port: %d\n    do-daemonize: no\n    username: \"\"\n    chroot: \"\"\n", port, port)
	fmt.Fprintf(&b, "    directory: %q\n    pidfile: %q\n    use-syslog: no\n    logfile: \"\"\n    verbosity: 1\n", u.Dir, filepath.Join(u.Dir, "unbound.pid"))
	b.WriteString("    access-control: 127.0.0.0/8 allow\n    module-config: \"iterator\"\n    local-zone: \".\" refuse\n")
	b.WriteString("    do-ip6: no\n    num-threads: 1\n")
	for _, l := range lines {
		b.WriteString("    " + l + "\n")
	}
	b.WriteString("remote-control:\n    control-enable: no\n")
	conf := filepath.Join(u.Dir, "unbound.conf")
	if err := os.WriteFile(conf, []byte(b.String()), 0o644); err != nil {
		t.Fatalf("peers: %v", err)
	}
	if out, err := runTool(t, 30*time.Second, nil, UnboundCheckBin, conf); err != nil {
		t.Fatalf("peers: unbound-checkconf: %v\n%s\n%s", err, out, b.String())
	}
	u.proc = startProcess(t, u.Dir, "unbound", []string{UnboundBin, "-d", "-c", conf})
	deadline := time.Now().Add(20 * time.Second)
	c := &dns.Client{Timeout: 200 * time.Millisecond}
	q := new(dns.Msg)
	q.SetQuestion("ready.invalid.", dns.TypeA)
	for {
		if _, _, err := c.Exchange(q, u.Addr); err == nil {
			return u // answered (REFUSED is an answer)
		}
		select {
		case <-u.proc.exited():
			t.Fatalf("peers: unbound exited: %s", u.proc.describe())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("peers: unbound on %s not answering after 20s: %s", u.Addr, u.proc.describe())
		}
		time.Sleep(pollInterval)
	}
}

// Stop stops unbound (cleanup does too), for tests of a DNS list going away.
func (u *Unbound) Stop(t testing.TB) { u.proc.stop(t) }
