package peers

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// SyslogNGBin is syslog-ng from Debian's syslog-ng-core.
const SyslogNGBin = "/usr/sbin/syslog-ng"

// SyslogNGOptions configures the SIEM stand-in.
type SyslogNGOptions struct {
	// TLS, when set, adds an RFC 5425 listener with this server
	// certificate; with CA set it also asks for (and verifies) a client
	// certificate.
	TLS *SyslogNGTLS
	// Port keeps the ports of a previous run (BSD, RFC 5424, TLS: one base
	// port each, see SyslogNG); 0 picks free ones.
	Ports [3]int
}

// SyslogNGTLS are PEM files for the TLS listener.
type SyslogNGTLS struct {
	Cert, Key string
	CA        string // client CA; "" accepts clients without certificates
}

// SyslogNG is a running syslog-ng receiving CEF the way a SIEM collector
// would: BSD-style (RFC 3164, newline framed) on BSD, RFC 5424 (octet
// counting on TCP) on RFC5424, RFC 5425 on TLS. Every message goes to a raw
// log; CEF messages are also split with the regexp-parser + kv-parser of
// the test recipes (Debian's 3.38 has no cef-parser) into one JSON object
// per line. Values stay escaped as on the wire.
type SyslogNG struct {
	Dir     string
	BSD     string // host:port, TCP and UDP
	RFC5424 string // host:port, TCP (octet counting) and UDP
	TLS     string // host:port, "" without TLS
	Ports   [3]int
	opts    SyslogNGOptions
	starts  int
	proc    *process
}

// StartSyslogNG writes a configuration and starts syslog-ng; it is stopped
// at cleanup.
func StartSyslogNG(t testing.TB, opts SyslogNGOptions) *SyslogNG {
	t.Helper()
	Require(t, SyslogNGBin)
	s := &SyslogNG{Dir: peerDir(t, "syslog-ng"), opts: opts, Ports: opts.Ports}
	for i := range s.Ports {
		if s.Ports[i] == 0 {
			s.Ports[i] = freeTCPUDPPort(t)
		}
	}
	s.BSD, s.RFC5424 = loopback(s.Ports[0]), loopback(s.Ports[1])
	if opts.TLS != nil {
		s.TLS = loopback(s.Ports[2])
	}
	conf := filepath.Join(s.Dir, "syslog-ng.conf")
	if err := os.WriteFile(conf, []byte(s.config()), 0o644); err != nil {
		t.Fatalf("peers: %v", err)
	}
	if out, err := runTool(t, 30*time.Second, nil, SyslogNGBin, "--syntax-only", "-f", conf); err != nil {
		t.Fatalf("peers: syslog-ng --syntax-only: %v\n%s", err, out)
	}
	s.start(t)
	return s
}

func (s *SyslogNG) start(t testing.TB) {
	t.Helper()
	s.starts++
	name := fmt.Sprintf("syslog-ng-%d", s.starts)
	s.proc = startProcess(t, s.Dir, name, []string{SyslogNGBin, "-F", "-e", "--no-caps",
		"-f", filepath.Join(s.Dir, "syslog-ng.conf"), "-p", filepath.Join(s.Dir, "syslog-ng.pid"),
		"-R", filepath.Join(s.Dir, "syslog-ng.persist"), "-c", filepath.Join(s.Dir, "syslog-ng.ctl")})
	for _, addr := range []string{s.BSD, s.RFC5424, s.TLS} {
		if addr == "" {
			continue
		}
		if err := dialUntil(addr, 20*time.Second, s.proc.exited()); err != nil {
			t.Fatalf("peers: syslog-ng: %v (%s)", err, s.proc.describe())
		}
	}
}

// Stop ends syslog-ng (SIGTERM, by PID) and waits for it.
func (s *SyslogNG) Stop(t testing.TB) {
	t.Helper()
	s.proc.stop(t)
}

// Restart starts it again on the same ports, appending to the same logs.
func (s *SyslogNG) Restart(t testing.TB) {
	t.Helper()
	s.start(t)
}

func (s *SyslogNG) config() string {
	var b strings.Builder
	fmt.Fprintf(&b, "@version: 3.38\n")
	// threaded(no) and a fetch limit above anything a read brings in make
	// syslog-ng process every message it has read before it acts on
	// SIGTERM; with the defaults it drops up to a read's worth of messages
	// it had already taken from the socket (measured: 10 to 50 per stop).
	fmt.Fprintf(&b, "options { keep-hostname(yes); stats-freq(0); log-msg-size(131072); flush-lines(0); threaded(no); };\n")
	src := "log-msg-size(131072) log-fetch-limit(100000) log-iw-size(1000000) flags(store-raw-message)"
	// A burst of large records over UDP outruns the default 208 KiB socket
	// buffer while syslog-ng parses; a SIEM's UDP input needs the same.
	fmt.Fprintf(&b, "source s_bsd { network(ip(\"127.0.0.1\") port(%d) transport(\"tcp\") %s); network(ip(\"127.0.0.1\") port(%d) transport(\"udp\") so-rcvbuf(4194304) %s); };\n", s.Ports[0], src, s.Ports[0], src)
	fmt.Fprintf(&b, "source s_5424 { syslog(ip(\"127.0.0.1\") port(%d) transport(\"tcp\") %s); syslog(ip(\"127.0.0.1\") port(%d) transport(\"udp\") so-rcvbuf(4194304) %s); };\n", s.Ports[1], src, s.Ports[1], src)
	sources := "source(s_bsd); source(s_5424);"
	if tl := s.opts.TLS; tl != nil {
		verify := "optional-untrusted"
		ca := ""
		if tl.CA != "" {
			verify = "required-trusted"
			ca = fmt.Sprintf(" ca-file(%q)", tl.CA)
		}
		fmt.Fprintf(&b, "source s_tls { syslog(ip(\"127.0.0.1\") port(%d) transport(\"tls\") %s tls(key-file(%q) cert-file(%q)%s peer-verify(%s))); };\n",
			s.Ports[2], src, tl.Key, tl.Cert, ca, verify)
		sources += " source(s_tls);"
	}
	b.WriteString(`filter f_cef { message("^CEF:[0-9]+\\|"); };
parser p_cef {
  regexp-parser(
    template("${MESSAGE}")
    prefix("cef.")
    patterns('^CEF:(?<version>\d+)\|(?<device_vendor>(?:[^|\\]|\\.)*)\|(?<device_product>(?:[^|\\]|\\.)*)\|(?<device_version>(?:[^|\\]|\\.)*)\|(?<device_event_class_id>(?:[^|\\]|\\.)*)\|(?<name>(?:[^|\\]|\\.)*)\|(?<agent_severity>(?:[^|\\]|\\.)*)\|(?<extensions>.*)$')
  );
  kv-parser(prefix("cef.ext.") template("${cef.extensions}"));
};
`)
	fmt.Fprintf(&b, "destination d_raw { file(%q template(\"${SOURCE} ${MSGHDR}${MESSAGE}\\n\")); };\n", filepath.Join(s.Dir, "raw.log"))
	fmt.Fprintf(&b, "destination d_json { file(%q template(\"$(format-json --scope none --key HOST --key PROGRAM --key SOURCE --key MSGID --key cef.* --key MESSAGE --exclude cef.extensions --pair seq=${.SDATA.meta.sequenceId} --pair raw=${RAWMSG})\\n\")); };\n", filepath.Join(s.Dir, "cef.json"))
	fmt.Fprintf(&b, "log { %s destination(d_raw); filter(f_cef); parser(p_cef); destination(d_json); };\n", sources)
	return b.String()
}

// CEFRecord is one parsed CEF message as syslog-ng saw it.
type CEFRecord struct {
	Source  string // s_bsd, s_5424 or s_tls
	Host    string
	Program string
	MsgID   string
	Message string // the whole CEF text
	Seq     string // RFC 5424 [meta sequenceId]
	RawMsg  string // the message as received, syslog header included (framing removed)
	Header  [7]string
	Ext     map[string]string // still escaped
}

// Records returns every CEF message received so far, in arrival order.
func (s *SyslogNG) Records(t testing.TB) []CEFRecord {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(s.Dir, "cef.json"))
	if err != nil && !os.IsNotExist(err) {
		t.Fatalf("peers: %v", err)
	}
	// syslog-ng may be half way through writing the last line: only
	// complete lines are records yet.
	data = data[:bytes.LastIndexByte(data, '\n')+1]
	var out []CEFRecord
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 1<<20), 1<<22)
	for sc.Scan() {
		var raw struct {
			HOST, PROGRAM, SOURCE, MSGID, MESSAGE string
			Seq                                   string `json:"seq"`
			Raw                                   string `json:"raw"`
			CEF                                   struct {
				Version            string            `json:"version"`
				DeviceVendor       string            `json:"device_vendor"`
				DeviceProduct      string            `json:"device_product"`
				DeviceVersion      string            `json:"device_version"`
				DeviceEventClassID string            `json:"device_event_class_id"`
				Name               string            `json:"name"`
				AgentSeverity      string            `json:"agent_severity"`
				Ext                map[string]string `json:"ext"`
			} `json:"cef"`
		}
		if err := json.Unmarshal(sc.Bytes(), &raw); err != nil {
			t.Fatalf("peers: syslog-ng JSON line %q: %v", sc.Text(), err)
		}
		out = append(out, CEFRecord{Source: raw.SOURCE, Host: raw.HOST, Program: raw.PROGRAM, MsgID: raw.MSGID, Message: raw.MESSAGE,
			Seq: raw.Seq, RawMsg: raw.Raw,
			Header: [7]string{raw.CEF.Version, raw.CEF.DeviceVendor, raw.CEF.DeviceProduct, raw.CEF.DeviceVersion,
				raw.CEF.DeviceEventClassID, raw.CEF.Name, raw.CEF.AgentSeverity},
			Ext: raw.CEF.Ext})
	}
	return out
}

// WaitRecords polls until at least n CEF records arrived.
func (s *SyslogNG) WaitRecords(t testing.TB, n int, timeout time.Duration) []CEFRecord {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		recs := s.Records(t)
		if len(recs) >= n {
			return recs
		}
		if time.Now().After(deadline) {
			t.Fatalf("peers: %d of %d CEF records after %s", len(recs), n, timeout)
		}
		time.Sleep(pollInterval)
	}
}

// Raw returns the raw log: one line per message, "SOURCE MSGHDRMESSAGE".
func (s *SyslogNG) Raw(t testing.TB) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(s.Dir, "raw.log"))
	if err != nil && !os.IsNotExist(err) {
		t.Fatalf("peers: %v", err)
	}
	return string(b)
}

// Sequence checks that the records' RFC 5424 sequence IDs run without a
// gap or a repeat, each one more than the one before (a lost record shows
// as a gap, one sent twice as a repeat); it returns the first and last.
func Sequence(recs []CEFRecord) (first, last int, err error) {
	for i, r := range recs {
		seq, err := strconv.Atoi(r.Seq)
		if err != nil {
			return first, last, fmt.Errorf("record %d has no sequenceId: %q", i, r.RawMsg)
		}
		if i == 0 {
			first = seq
		} else if seq != last+1 {
			return first, last, fmt.Errorf("record %d: sequenceId %d after %d", i, seq, last)
		}
		last = seq
	}
	return first, last, nil
}
