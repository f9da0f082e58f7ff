package peers

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io/fs"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// PostfixOptions configures a hand-run Postfix relay.
type PostfixOptions struct {
	// RelayHost is the "host:port" every message is relayed to, typically a
	// Sink's Addr or the gateway's listener. It is required: without it
	// Postfix would look up the recipients' domains, which tests must not do.
	RelayHost string
	// Extra holds further main.cf settings; they override the defaults,
	// including those written for the options below.
	Extra map[string]string

	// Milter is the smtpd_milters value, e.g. "inet:127.0.0.1:PORT" or
	// "unix:/path". Mail injected with Sendmail is not sent to it
	// (non_smtpd_milters is empty). Besides Postfix's default macros the
	// milter gets {client_addr} at connect; see postfixMilterSettings.
	Milter string
	// MilterDefaultAction is milter_default_action: what Postfix does when
	// the milter is unreachable or breaks the protocol. "" means
	// "tempfail", so a milter outage defers mail instead of losing it or
	// passing it unscanned.
	MilterDefaultAction string

	// ContentFilter is the content_filter value, the after-queue filter
	// every message received by the main smtpd goes to, e.g.
	// PostfixScanFilter(addr) = "scan:[127.0.0.1]:PORT". The "scan"
	// transport it names is defined in master.cf whenever ContentFilter is
	// set: Postfix's SMTP client with XFORWARD and without 8BITMIME-to-QP
	// conversion, as in FILTER_README's advanced content filter.
	ContentFilter string
	// Reinject adds a second smtpd on Postfix.ReinjectAddr for the filter to
	// hand mail back on. It skips the content filter (so nothing loops), the
	// milters and the header/body checks, accepts mail only from
	// 127.0.0.0/8 and trusts XFORWARD from there. Re-injected mail goes to
	// RelayHost.
	Reinject bool
}

// PostfixScanTransport is the master.cf name of the content filter's
// delivery transport; see PostfixOptions.ContentFilter.
const PostfixScanTransport = "scan"

// PostqueueBin is Postfix's queue control program (package postfix).
const PostqueueBin = "/usr/sbin/postqueue"

// PostfixScanFilter returns the content_filter value that sends mail over
// the "scan" transport to the filter listening on addr ("host:port").
func PostfixScanFilter(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		// Let Postfix reject it, with its own message, at start-up.
		return PostfixScanTransport + ":" + addr
	}
	return PostfixScanTransport + ":[" + host + "]:" + port
}

// Postfix is a private Postfix instance listening on 127.0.0.1. It plays a
// real upstream or downstream MTA for the gateway, with a real queue, real
// retries and Postfix's own SMTP client and server.
type Postfix struct {
	Addr      string // smtpd listener, "127.0.0.1:PORT"
	Dir       string // private directory: etc/, spool/, data/, maillog, logs
	ConfigDir string // for postfix -c, sendmail -C, postqueue -c
	QueueDir  string
	// ReinjectAddr is the re-injection smtpd, "127.0.0.1:PORT"; empty unless
	// PostfixOptions.Reinject.
	ReinjectAddr string

	// realQueueDir is QueueDir with symlinks resolved, as the kernel reports
	// the daemons' working directories.
	realQueueDir string
	stopOnce     sync.Once
}

// StartPostfix writes a config for a relay-only Postfix in a private
// directory, starts it and stops it at cleanup. It needs root, like any
// Postfix master.
func StartPostfix(t testing.TB, opts PostfixOptions) *Postfix {
	t.Helper()
	Require(t, PostfixBin)
	if os.Geteuid() != 0 {
		unavailable(t, "the Postfix master must run as root")
	}
	relayHost, relayPort, err := net.SplitHostPort(opts.RelayHost)
	if err != nil {
		t.Fatalf("peers: PostfixOptions.RelayHost %q: %v (want host:port)", opts.RelayHost, err)
	}

	dir := peerDir(t, "postfix")
	p := &Postfix{
		Addr:      FreeAddr(t),
		Dir:       dir,
		ConfigDir: filepath.Join(dir, "etc"),
		QueueDir:  filepath.Join(dir, "spool"),
	}
	dataDir := filepath.Join(dir, "data")
	for _, d := range []string{p.ConfigDir, p.QueueDir, dataDir} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatalf("peers: %v", err)
		}
	}
	giveToPostfix(t, dataDir)
	if p.realQueueDir, err = filepath.EvalSymlinks(p.QueueDir); err != nil {
		t.Fatalf("peers: %v", err)
	}
	// The daemons talk over unix sockets under the queue directory, and
	// sun_path holds only 107 bytes.
	if n := len(filepath.Join(p.realQueueDir, "private", "proxywrite")); n > 100 {
		t.Fatalf("peers: queue directory %s is too long for Postfix's unix sockets; set a shorter TMPDIR", p.QueueDir)
	}

	settings := map[string]string{
		"compatibility_level":          "3.6",
		"queue_directory":              p.QueueDir,
		"data_directory":               dataDir,
		"mail_owner":                   "postfix",
		"setgid_group":                 "postdrop",
		"myhostname":                   "relay.test.invalid",
		"mydomain":                     "test.invalid",
		"myorigin":                     "$myhostname",
		"inet_interfaces":              "127.0.0.1",
		"inet_protocols":               "ipv4",
		"mydestination":                "",
		"relay_domains":                "",
		"local_recipient_maps":         "",
		"local_transport":              "error:local delivery disabled",
		"alias_maps":                   "",
		"alias_database":               "",
		"relayhost":                    "[" + relayHost + "]:" + relayPort,
		"mynetworks":                   "127.0.0.0/8",
		"smtpd_relay_restrictions":     "permit_mynetworks, reject",
		"smtpd_recipient_restrictions": "permit_mynetworks, reject",
		"smtp_tls_security_level":      "none",
		"smtpd_tls_security_level":     "none",
		"disable_dns_lookups":          "yes",
		"smtp_host_lookup":             "native",
		"biff":                         "no",
		"append_dot_mydomain":          "no",
		"maillog_file":                 filepath.Join(dir, "maillog"),
		// Postfix refuses a maillog_file outside these prefixes.
		"maillog_file_prefixes": dir,
		// Retry deferred mail within seconds, not minutes, so a test can
		// bring a stopped next hop back and see the mail arrive.
		"queue_run_delay":      "1s",
		"minimal_backoff_time": "1s",
		"maximal_backoff_time": "2s",
	}
	var services []string
	if opts.Milter != "" {
		milter, err := postfixMilterSettings(opts)
		if err != nil {
			t.Fatalf("peers: %v", err)
		}
		maps.Copy(settings, milter)
	}
	if opts.ContentFilter != "" {
		settings["content_filter"] = opts.ContentFilter
		services = append(services, scanService)
	}
	if opts.Reinject {
		p.ReinjectAddr = FreeAddr(t)
		services = append(services, reinjectService(p.ReinjectAddr))
	}
	maps.Copy(settings, opts.Extra)
	var mainCf strings.Builder
	for _, key := range slices.Sorted(maps.Keys(settings)) {
		value := settings[key]
		if strings.ContainsAny(key+value, "\n") {
			t.Fatalf("peers: main.cf setting %q = %q contains a newline", key, value)
		}
		fmt.Fprintf(&mainCf, "%s = %s\n", key, value)
	}
	writeFile(t, filepath.Join(p.ConfigDir, "main.cf"), mainCf.String())
	writeFile(t, filepath.Join(p.ConfigDir, "master.cf"), masterCf(p.Addr)+strings.Join(services, ""))

	t.Cleanup(func() {
		p.Stop(t)
		logOnFailure(t, "postfix commands", filepath.Join(dir, "postfix.log"))
		logOnFailure(t, "postfix maillog", filepath.Join(dir, "maillog"))
	})
	// check creates the queue directories with Postfix's ownership and modes.
	for _, verb := range []string{"check", "start"} {
		if err := p.postfix(t, verb); err != nil {
			t.Fatalf("peers: %v", err)
		}
	}
	// "postfix start" returns once the master has opened its listeners, so
	// this normally succeeds on the first attempt.
	WaitTCP(t, p.Addr, 10*time.Second)
	if p.ReinjectAddr != "" {
		WaitTCP(t, p.ReinjectAddr, 10*time.Second)
	}
	return p
}

// postfixMilterSettings returns the main.cf settings for PostfixOptions.Milter.
//
// Postfix 3.7's default macro lists already carry i (listed from MAIL on,
// but Postfix sends only macros that have a value, and the queue ID exists
// only once the first recipient is accepted, see
// smtpd_delay_open_until_valid_rcpt: so i arrives at DATA, end of header
// and end of message), {auth_authen} (MAIL, only after SASL AUTH) and
// {rcpt_addr} (RCPT), but not {client_addr}, which is added at connect. A
// milter library that keeps macros across stages (libmilter) then has all
// four at end of message; go-milter v0.5.0 keeps only the latest
// SMFIC_MACRO packet, so its Body callback sees just the end-of-data list
// (i).
//
// A milter's SMFIR_QUARANTINE puts the message in the hold queue; Postfix
// logs "milter triggers HOLD action" but not the milter's reason text.
func postfixMilterSettings(opts PostfixOptions) (map[string]string, error) {
	kind, _, _ := strings.Cut(opts.Milter, ":")
	if kind != "inet" && kind != "unix" {
		return nil, fmt.Errorf("PostfixOptions.Milter %q: want inet:HOST:PORT or unix:PATH", opts.Milter)
	}
	if strings.ContainsAny(opts.Milter, " ,\t") {
		return nil, fmt.Errorf("PostfixOptions.Milter %q: one milter only", opts.Milter)
	}
	action := opts.MilterDefaultAction
	if action == "" {
		action = "tempfail"
	}
	switch action {
	case "accept", "reject", "tempfail", "quarantine":
	default:
		return nil, fmt.Errorf("PostfixOptions.MilterDefaultAction %q: want accept, reject, tempfail or quarantine", action)
	}
	return map[string]string{
		"smtpd_milters":         opts.Milter,
		"non_smtpd_milters":     "",
		"milter_default_action": action,
		"milter_protocol":       "6",
		"milter_connect_macros": "j {daemon_name} {daemon_addr} v _ {client_addr}",
	}, nil
}

// scanService is the content filter's delivery transport, from Postfix's
// FILTER_README ("advanced content filter"): XFORWARD passes the original
// client's name and address through the filter to the re-injection smtpd,
// and no MIME conversion keeps the filter's input byte for byte.
const scanService = PostfixScanTransport + ` unix - - n - 10 smtp
  -o smtp_send_xforward_command=yes
  -o disable_mime_output_conversion=yes
  -o smtp_generic_maps=
`

// reinjectService is the smtpd the content filter hands mail back to, from
// FILTER_README: no content filter (the loop breaker), no milters, no
// header/body checks, clients from loopback only.
func reinjectService(addr string) string {
	return addr + ` inet n - n - 10 smtpd
  -o content_filter=
  -o receive_override_options=no_unknown_recipient_checks,no_header_body_checks,no_milters
  -o smtpd_milters=
  -o smtpd_helo_restrictions=
  -o smtpd_client_restrictions=
  -o smtpd_sender_restrictions=
  -o smtpd_relay_restrictions=
  -o smtpd_recipient_restrictions=permit_mynetworks,reject
  -o mynetworks=127.0.0.0/8
  -o smtpd_authorized_xforward_hosts=127.0.0.0/8
`
}

// masterCf is Debian's master.cf without the pipe transports and with chroot
// off, because a chroot would need a copy of /etc and the libraries inside
// the temporary queue directory.
func masterCf(addr string) string {
	return addr + ` inet n - n - - smtpd
pickup    unix  n - n 60 1 pickup
cleanup   unix  n - n -  0 cleanup
qmgr      unix  n - n 300 1 qmgr
tlsmgr    unix  - - n 1000? 1 tlsmgr
rewrite   unix  - - n - - trivial-rewrite
bounce    unix  - - n - 0 bounce
defer     unix  - - n - 0 bounce
trace     unix  - - n - 0 bounce
verify    unix  - - n - 1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n - - proxymap
proxywrite unix - - n - 1 proxymap
smtp      unix  - - n - - smtp
relay     unix  - - n - - smtp
showq     unix  n - n - - showq
error     unix  - - n - - error
retry     unix  - - n - - error
discard   unix  - - n - - discard
local     unix  - n n - - local
anvil     unix  - - n - 1 anvil
scache    unix  - - n - 1 scache
postlog   unix-dgram n - n - 1 postlogd
`
}

func writeFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatalf("peers: %v", err)
	}
}

// postfix runs "postfix -c CONFIG_DIR VERB", appending its output to
// Dir/postfix.log so it shows up in the failure log.
func (p *Postfix) postfix(t testing.TB, verb string) error {
	t.Helper()
	out, err := runTool(t, 30*time.Second, nil, PostfixBin, "-c", p.ConfigDir, verb)
	logPath := filepath.Join(p.Dir, "postfix.log")
	if f, ferr := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644); ferr == nil {
		fmt.Fprintf(f, "$ postfix -c %s %s\n%s", p.ConfigDir, verb, out)
		if err != nil {
			fmt.Fprintf(f, "(%v)\n", err)
		}
		f.Close()
	}
	if err != nil {
		return fmt.Errorf("postfix -c %s %s: %v\n%s", p.ConfigDir, verb, err, out)
	}
	return nil
}

// Stop shuts the instance down now instead of at cleanup, e.g. to simulate
// an outage of the gateway's next hop. It returns once every Postfix process
// of the instance has gone. Its queue stays, but a new StartPostfix starts
// from an empty one.
func (p *Postfix) Stop(t testing.TB) {
	t.Helper()
	p.stopOnce.Do(func() { p.stop(t) })
}

// stop shuts the instance down with "postfix stop" and then makes sure that
// none of its processes is left. The master daemonizes, so it is not our
// child and cannot be waited for; its processes are found instead by their
// working directory, which every Postfix daemon sets to its own queue
// directory. That also covers a master that "postfix stop" could not reach.
func (p *Postfix) stop(t testing.TB) {
	t.Helper()
	if err := p.postfix(t, "stop"); err != nil && len(p.processes()) > 0 {
		// A master that is there but does not answer "postfix stop".
		p.signalAll(syscall.SIGTERM)
	}
	if p.waitGone(stopGrace) {
		return
	}
	p.signalAll(syscall.SIGKILL)
	if !p.waitGone(stopGrace) {
		t.Errorf("peers: Postfix processes %v of %s survived SIGKILL", p.processes(), p.Dir)
	}
}

func (p *Postfix) signalAll(sig syscall.Signal) {
	for _, pid := range p.processes() {
		_ = syscall.Kill(pid, sig) // it may have exited meanwhile
	}
}

func (p *Postfix) waitGone(timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for len(p.processes()) > 0 {
		if !time.Now().Before(deadline) {
			return false
		}
		time.Sleep(pollInterval)
	}
	return true
}

// processes lists the live processes working in this instance's queue
// directory. Zombies have no working directory and are not listed: they are
// already dead, and on a machine whose PID 1 does not reap orphans they stay
// zombies forever.
func (p *Postfix) processes() []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if cwd, err := os.Readlink("/proc/" + e.Name() + "/cwd"); err == nil && cwd == p.realQueueDir {
			pids = append(pids, pid)
		}
	}
	return pids
}

// Maillog returns Postfix's log so far, e.g. to look for "status=sent" or a
// rejection reason. It is empty until Postfix has logged something.
func (p *Postfix) Maillog(t testing.TB) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(p.Dir, "maillog"))
	if err != nil && !os.IsNotExist(err) {
		t.Fatalf("peers: %v", err)
	}
	return string(data)
}

// WaitQueueEmpty polls until Postfix holds no mail that it still has to
// deliver, i.e. everything injected so far has been delivered or bounced.
// Mail that Postfix accepted is already in a queue file by the time the
// client sees 250 (SMTP) or sendmail returns, so an empty queue cannot be
// observed before the mail has entered it.
func (p *Postfix) WaitQueueEmpty(t testing.TB, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		files, err := p.queueFiles()
		if err != nil {
			t.Fatalf("peers: %v", err)
		}
		if len(files) == 0 {
			return
		}
		if !time.Now().Before(deadline) {
			t.Fatalf("peers: Postfix queue not empty after %v: %v\nmaillog:\n%s", timeout, files, p.Maillog(t))
		}
		time.Sleep(pollInterval)
	}
}

func (p *Postfix) queueFiles() ([]string, error) {
	var files []string
	// The queues of mail that Postfix still has to deliver; "hold" is left
	// out because held mail waits for a human.
	for _, q := range []string{"maildrop", "incoming", "active", "deferred"} {
		err := filepath.WalkDir(filepath.Join(p.QueueDir, q), func(path string, d fs.DirEntry, err error) error {
			if os.IsNotExist(err) {
				return nil // a queue file that was just moved on, or a hashed subdirectory
			}
			if err != nil {
				return err
			}
			if !d.IsDir() {
				files = append(files, strings.TrimPrefix(path, p.QueueDir+"/"))
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return files, nil
}

// Sendmail injects msg through this instance's own sendmail(1), as a local
// program on a gateway host would. "-i" keeps a line holding a single "."
// in the message instead of ending it there.
func (p *Postfix) Sendmail(t testing.TB, from string, to []string, msg []byte) {
	t.Helper()
	Require(t, SendmailBin)
	args := append([]string{"-C", p.ConfigDir, "-i", "-f", from, "--"}, to...)
	if out, err := runTool(t, 30*time.Second, msg, SendmailBin, args...); err != nil {
		t.Fatalf("peers: sendmail %q: %v\n%s", args, err, out)
	}
}

// HeldMessage is one message in Postfix's hold queue, where a milter's
// SMFIR_QUARANTINE (or a HOLD action) puts it.
type HeldMessage struct {
	QueueID     string
	Sender      string // envelope sender, "" for the null sender
	Recipients  []string
	ArrivalTime time.Time
	Size        int64
	// Reason is the text Postfix logged when it held the message, e.g. the
	// milter's quarantine reason: the maillog's "QUEUEID: milter-hold: ..."
	// or "QUEUEID: hold: ..." line without its "; from=<...>" tail. Empty
	// if the maillog has no such line (postqueue does not report one).
	Reason string
}

// queueEntry is one line of "postqueue -j" (postqueue(1), Postfix >= 3.1).
type queueEntry struct {
	QueueName    string `json:"queue_name"`
	QueueID      string `json:"queue_id"`
	ArrivalTime  int64  `json:"arrival_time"`
	MessageSize  int64  `json:"message_size"`
	ForcedExpire bool   `json:"forced_expire"`
	Sender       string `json:"sender"`
	Recipients   []struct {
		Address     string `json:"address"`
		DelayReason string `json:"delay_reason"`
	} `json:"recipients"`
}

// postqueue runs "postqueue -c CONFIG_DIR ARGS" and returns its output.
func (p *Postfix) postqueue(t testing.TB, args ...string) string {
	t.Helper()
	Require(t, PostqueueBin)
	args = append([]string{"-c", p.ConfigDir}, args...)
	out, err := runTool(t, 30*time.Second, nil, PostqueueBin, args...)
	if err != nil {
		t.Fatalf("peers: postqueue %q: %v\n%s", args, err, out)
	}
	return out
}

// queue lists every message Postfix has queued, as showq sees it. It needs
// the instance to be running.
func (p *Postfix) queue(t testing.TB) []queueEntry {
	t.Helper()
	out := p.postqueue(t, "-j")
	var entries []queueEntry
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 16<<20) // one line per message, with all its recipients
	for sc.Scan() {
		if len(strings.TrimSpace(sc.Text())) == 0 {
			continue
		}
		var e queueEntry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("peers: postqueue -j line %q: %v", sc.Text(), err)
		}
		entries = append(entries, e)
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("peers: reading postqueue -j output: %v", err)
	}
	return entries
}

// Held lists the messages in the hold queue, oldest first as showq lists
// them. It needs the instance to be running.
func (p *Postfix) Held(t testing.TB) []HeldMessage {
	t.Helper()
	var held []HeldMessage
	var maillog string
	for _, e := range p.queue(t) {
		if e.QueueName != "hold" {
			continue
		}
		if maillog == "" {
			maillog = p.Maillog(t)
		}
		m := HeldMessage{
			QueueID:     e.QueueID,
			Sender:      e.Sender,
			ArrivalTime: time.Unix(e.ArrivalTime, 0),
			Size:        e.MessageSize,
			Reason:      holdReason(maillog, e.QueueID),
		}
		for _, r := range e.Recipients {
			m.Recipients = append(m.Recipients, r.Address)
		}
		held = append(held, m)
	}
	return held
}

// holdReason finds why Postfix held queueID. cleanup logs, for a milter,
// "QUEUEID: milter-hold: END-OF-MESSAGE from HOST[ADDR]: REASON; from=<..>
// to=<..> proto=.. helo=<..>", and for header/body checks
// "QUEUEID: hold: header ...; from=<..> ...: TEXT".
func holdReason(maillog, queueID string) string {
	for line := range strings.Lines(maillog) {
		for _, tag := range []string{": milter-hold: ", ": hold: "} {
			_, rest, ok := strings.Cut(line, " "+queueID+tag)
			if !ok {
				continue
			}
			rest = strings.TrimSpace(rest)
			if i := strings.LastIndex(rest, "; from=<"); i >= 0 {
				rest = rest[:i]
			}
			return rest
		}
	}
	return ""
}

// WaitHeld polls until at least n messages are in the hold queue and
// returns them, like Held. It fails the test after timeout.
//
// postlogd writes the maillog asynchronously, so a message can be in the
// hold queue before the line with its reason is in the file. WaitHeld
// therefore gives the reasons up to holdReasonGrace more to show up; a
// message held without one (postsuper -h) just costs that much.
func (p *Postfix) WaitHeld(t testing.TB, n int, timeout time.Duration) []HeldMessage {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var reasonDeadline time.Time
	for {
		held := p.Held(t)
		if len(held) >= n {
			if reasonDeadline.IsZero() {
				reasonDeadline = time.Now().Add(holdReasonGrace)
			}
			missing := slices.ContainsFunc(held, func(m HeldMessage) bool { return m.Reason == "" })
			if !missing || !time.Now().Before(reasonDeadline) {
				return held
			}
			time.Sleep(pollInterval)
			continue
		}
		if !time.Now().Before(deadline) {
			t.Fatalf("peers: Postfix hold queue has %d of %d messages after %v\nmaillog:\n%s",
				len(held), n, timeout, p.Maillog(t))
		}
		time.Sleep(pollInterval)
	}
}

// holdReasonGrace bounds how long WaitHeld waits for the maillog to catch
// up with the hold queue.
const holdReasonGrace = 2 * time.Second

// WaitMaillog polls until Postfix's log contains substr and returns the
// log. postlogd writes it asynchronously, so a line about something a
// client has already seen (a reply, a queue file) may still be on its way.
// It fails the test after timeout.
func (p *Postfix) WaitMaillog(t testing.TB, substr string, timeout time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		log := p.Maillog(t)
		if strings.Contains(log, substr) {
			return log
		}
		if !time.Now().Before(deadline) {
			t.Fatalf("peers: Postfix maillog has no %q after %v:\n%s", substr, timeout, log)
		}
		time.Sleep(pollInterval)
	}
}

// Deferred returns the number of messages in the deferred queue, i.e. mail
// whose last delivery attempt failed temporarily. It counts queue files, so
// it also works while the instance is stopped.
func (p *Postfix) Deferred(t testing.TB) int {
	t.Helper()
	n := 0
	err := filepath.WalkDir(filepath.Join(p.QueueDir, "deferred"), func(path string, d fs.DirEntry, err error) error {
		if os.IsNotExist(err) {
			return nil // moved to the active queue meanwhile
		}
		if err != nil {
			return err
		}
		if !d.IsDir() {
			n++
		}
		return nil
	})
	if err != nil {
		t.Fatalf("peers: %v", err)
	}
	return n
}

// Flush asks Postfix to retry all deferred mail now ("postqueue -f")
// instead of at the next queue run, e.g. once a test has brought a stopped
// next hop or content filter back.
func (p *Postfix) Flush(t testing.TB) {
	t.Helper()
	p.postqueue(t, "-f")
}
