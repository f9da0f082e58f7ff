package peers_test

// These tests run the real Debian programs, because what they check is our
// understanding of those programs (dump format, Postfix as root, promtool's
// exit codes); a mock would only repeat that understanding back.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatewatch/gatewatch/internal/peers"
)

func TestRequireSkipsWhenABinaryIsMissing(t *testing.T) {
	t.Setenv(peers.RequireEnv, "")
	var sub *testing.T
	t.Run("missing", func(t *testing.T) {
		sub = t
		peers.Require(t, "/nonexistent/gatewatch-peer")
		t.Error("Require returned for a missing binary")
	})
	if !sub.Skipped() {
		t.Fatal("Require did not skip the test")
	}
}

// TestRequireFailsWhenPeersAreRequired runs itself in a child process,
// because a failing Require would fail this test binary.
func TestRequireFailsWhenPeersAreRequired(t *testing.T) {
	if os.Getenv("GATEWATCH_PEERS_TEST_CHILD") == "1" {
		peers.Require(t, "/nonexistent/gatewatch-peer")
		return
	}
	t.Parallel()
	cmd := exec.CommandContext(t.Context(), os.Args[0],
		"-test.run=^TestRequireFailsWhenPeersAreRequired$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), "GATEWATCH_PEERS_TEST_CHILD=1", peers.RequireEnv+"=1")
	out, err := cmd.CombinedOutput()
	if exitErr := (*exec.ExitError)(nil); !errors.As(err, &exitErr) {
		t.Fatalf("child test did not fail (err %v):\n%s", err, out)
	}
	if !strings.Contains(string(out), "--- FAIL") || !strings.Contains(string(out), "fatal because "+peers.RequireEnv+"=1") {
		t.Errorf("child test output:\n%s", out)
	}
}

func TestSinkDumpsSMTPSourceMessages(t *testing.T) {
	t.Parallel()
	peers.Require(t, peers.SMTPSinkBin, peers.SMTPSourceBin)
	sink := peers.StartSink(t, peers.SinkOptions{Dump: true})

	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, peers.SMTPSourceBin,
		"-m", "3", "-f", "a@example.org", "-t", "b@example.net", sink.Addr).CombinedOutput()
	if err != nil {
		t.Fatalf("smtp-source: %v\n%s", err, out)
	}

	msgs := sink.WaitMessages(t, 3, 10*time.Second)
	if len(msgs) != 3 {
		t.Fatalf("got %d messages, want 3", len(msgs))
	}
	// smtp-source's fixed test body; the dump's extra final empty line must
	// be gone.
	wantBody := "La de da de da 1.\nLa de da de da 2.\nLa de da de da 3.\nLa de da de da 4.\n"
	for _, m := range msgs {
		if !strings.Contains(m.MailArgs, "<a@example.org>") {
			t.Errorf("%s: X-Mail-Args = %q, want the sender", m.File, m.MailArgs)
		}
		if !slices.Equal(m.RcptArgs, []string{"<b@example.net>"}) {
			t.Errorf("%s: X-Rcpt-Args = %q", m.File, m.RcptArgs)
		}
		if m.ClientAddr != "127.0.0.1" || m.ClientProto != "SMTP" {
			t.Errorf("%s: client %q %q", m.File, m.ClientAddr, m.ClientProto)
		}
		if !strings.HasPrefix(string(m.Raw), "From: <a@example.org>\n") {
			t.Errorf("%s: Raw does not start at the client's first header:\n%s", m.File, m.Raw)
		}
		if got := m.Header.Get("To"); got != "<b@example.net>" {
			t.Errorf("%s: To = %q", m.File, got)
		}
		if string(m.Body) != wantBody {
			t.Errorf("%s: body = %q, want %q", m.File, m.Body, wantBody)
		}
	}
}

func TestSinkRecordsEnvelopeAndUnstuffsDots(t *testing.T) {
	t.Parallel()
	peers.Require(t, peers.SMTPSinkBin, peers.SwaksBin)
	sink := peers.StartSink(t, peers.SinkOptions{Dump: true})

	out, err := peers.Swaks(t, "--server", sink.Addr, "--helo", "client.test",
		"--from", "x@example.org", "--to", "y@example.net,z@example.net",
		"--header", "Subject: dots\n folded", "--body", "hello\n.\n..two\nend")
	if err != nil {
		t.Fatalf("swaks: %v\n%s", err, out)
	}
	// swaks has seen 250 for ".", so the dump must be complete without waiting.
	msgs := sink.Messages(t)
	if len(msgs) != 1 {
		t.Fatalf("got %d messages, want 1", len(msgs))
	}
	m := msgs[0]
	if m.HeloArgs != "client.test" || m.ClientProto != "ESMTP" || m.MailArgs != "<x@example.org>" {
		t.Errorf("envelope: helo %q proto %q mail %q", m.HeloArgs, m.ClientProto, m.MailArgs)
	}
	if want := []string{"<y@example.net>", "<z@example.net>"}; !slices.Equal(m.RcptArgs, want) {
		t.Errorf("X-Rcpt-Args = %q, want %q", m.RcptArgs, want)
	}
	if got := m.Header.Get("Subject"); got != "dots folded" {
		t.Errorf("Subject = %q, want the unfolded header", got)
	}
	// swaks sends two empty lines of its own after --body.
	if want := "hello\n.\n..two\nend\n\n\n"; string(m.Body) != want {
		t.Errorf("body = %q, want %q", m.Body, want)
	}
}

// TestSinkOmitsTransactionsInProgress feeds a body of empty lines, so every
// 4 KiB flush of the dump ends in "\n\n" like a finished one, and checks
// that it is still not reported until "." has been answered.
func TestSinkOmitsTransactionsInProgress(t *testing.T) {
	t.Parallel()
	peers.Require(t, peers.SMTPSinkBin)
	sink := peers.StartSink(t, peers.SinkOptions{Dump: true})
	conn, err := net.Dial("tcp", sink.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(30 * time.Second)); err != nil {
		t.Fatal(err)
	}
	replies := bufio.NewReader(conn)
	command := func(line, wantCode string) {
		t.Helper()
		if line != "" {
			if _, err := fmt.Fprintf(conn, "%s\r\n", line); err != nil {
				t.Fatal(err)
			}
		}
		reply, err := replies.ReadString('\n')
		if err != nil || !strings.HasPrefix(reply, wantCode) {
			t.Fatalf("after %q: reply %q, %v; want %s", line, reply, err, wantCode)
		}
	}
	command("", "220")
	command("HELO client.test", "250")
	command("MAIL FROM:<a@example.org>", "250")
	command("RCPT TO:<b@example.net>", "250")
	command("DATA", "354")
	if _, err := fmt.Fprint(conn, "Subject: blank\r\n"+strings.Repeat("\r\n", 5000)); err != nil {
		t.Fatal(err)
	}

	// Wait until smtp-sink has flushed part of the body to disk.
	dumpDir := filepath.Join(sink.Dir, "dump")
	deadline := time.Now().Add(10 * time.Second)
	for {
		entries, err := os.ReadDir(dumpDir)
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) == 1 {
			data, err := os.ReadFile(filepath.Join(dumpDir, entries[0].Name()))
			if err != nil {
				t.Fatal(err)
			}
			if len(data) >= 4096 && strings.HasSuffix(string(data), "\n\n") {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no partial dump on disk after 10s: %v", entries)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if msgs := sink.Messages(t); len(msgs) != 0 {
		t.Fatalf("Messages returned a transaction in progress: %d bytes", len(msgs[0].Raw))
	}

	command(".", "250")
	msgs := sink.Messages(t)
	if len(msgs) != 1 {
		t.Fatalf("got %d messages after the final 250, want 1", len(msgs))
	}
	if want := strings.Repeat("\n", 4999); string(msgs[0].Body) != want {
		t.Errorf("body has %d bytes, want %d line feeds", len(msgs[0].Body), len(want))
	}

	// An aborted transaction never shows up, and smtp-sink deletes its dump.
	command("MAIL FROM:<c@example.org>", "250")
	command("RCPT TO:<d@example.net>", "250")
	command("DATA", "354")
	if _, err := fmt.Fprint(conn, "Subject: aborted\r\n\r\n"+strings.Repeat("x\r\n", 3000)); err != nil {
		t.Fatal(err)
	}
	conn.Close()
	for {
		entries, err := os.ReadDir(dumpDir)
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) == 1 {
			break
		}
		if time.Now().After(deadline.Add(10 * time.Second)) {
			t.Fatalf("aborted dump not deleted: %v", entries)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if msgs := sink.Messages(t); len(msgs) != 1 {
		t.Errorf("got %d messages after the abort, want 1", len(msgs))
	}
}

func TestSinkRejectOptions(t *testing.T) {
	t.Parallel()
	peers.Require(t, peers.SMTPSinkBin, peers.SwaksBin)
	cases := []struct {
		name      string
		opts      peers.SinkOptions
		wantErr   bool
		want      string
		wantNotIn string
	}{
		{"hard", peers.SinkOptions{HardReject: []string{"RCPT"}}, true, "<** 500 5.3.0", ""},
		{"soft", peers.SinkOptions{SoftReject: []string{"MAIL"}}, true, "<** 450 4.3.0", ""},
		{"dsn announced by default", peers.SinkOptions{}, false, "250-DSN", ""},
		{"no dsn", peers.SinkOptions{NoDSN: true}, false, "250 ", "250-DSN"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sink := peers.StartSink(t, tc.opts)
			out, err := peers.Swaks(t, "--server", sink.Addr, "--from", "a@example.org", "--to", "b@example.net")
			if (err != nil) != tc.wantErr {
				t.Errorf("swaks error = %v, want error: %v\n%s", err, tc.wantErr, out)
			}
			if !strings.Contains(out, tc.want) {
				t.Errorf("transcript lacks %q:\n%s", tc.want, out)
			}
			if tc.wantNotIn != "" && strings.Contains(out, tc.wantNotIn) {
				t.Errorf("transcript has %q:\n%s", tc.wantNotIn, out)
			}
		})
	}
}

func TestSinkRestartsOnTheSamePort(t *testing.T) {
	t.Parallel()
	peers.Require(t, peers.SMTPSinkBin, peers.SwaksBin)
	first := peers.StartSink(t, peers.SinkOptions{})
	first.Stop(t)
	if out, err := peers.Swaks(t, "--server", first.Addr, "--from", "a@example.org", "--to", "b@example.net"); err == nil {
		t.Fatalf("the stopped sink still accepted mail:\n%s", out)
	}

	second := peers.StartSink(t, peers.SinkOptions{Port: first.Port, Dump: true})
	if second.Addr != first.Addr {
		t.Fatalf("restarted on %s, want %s", second.Addr, first.Addr)
	}
	if out, err := peers.Swaks(t, "--server", second.Addr, "--from", "a@example.org", "--to", "b@example.net"); err != nil {
		t.Fatalf("swaks to the restarted sink: %v\n%s", err, out)
	}
	if msgs := second.Messages(t); len(msgs) != 1 {
		t.Errorf("got %d messages, want 1", len(msgs))
	}
}

func TestPostfixRelaysSwaksMailToSink(t *testing.T) {
	t.Parallel()
	peers.Require(t, peers.SMTPSinkBin, peers.PostfixBin, peers.SwaksBin)
	sink := peers.StartSink(t, peers.SinkOptions{Dump: true})
	pf := peers.StartPostfix(t, peers.PostfixOptions{RelayHost: sink.Addr})

	body := "first line\n.\n..dotted\nlast line"
	out, err := peers.Swaks(t, "--server", pf.Addr, "--from", "sender@example.org",
		"--to", "rcpt@example.net", "--header", "Subject: via postfix", "--body", body)
	if err != nil {
		t.Fatalf("swaks: %v\n%s", err, out)
	}

	msgs := sink.WaitMessages(t, 1, 30*time.Second)
	if len(msgs) != 1 {
		t.Fatalf("got %d messages, want 1", len(msgs))
	}
	m := msgs[0]
	if !strings.Contains(m.MailArgs, "<sender@example.org>") || len(m.RcptArgs) != 1 ||
		!strings.HasPrefix(m.RcptArgs[0], "<rcpt@example.net>") {
		t.Errorf("envelope: MAIL %q RCPT %q", m.MailArgs, m.RcptArgs)
	}
	if m.HeloArgs != "relay.test.invalid" {
		t.Errorf("HELO %q, want Postfix's myhostname", m.HeloArgs)
	}
	if got := m.Header.Get("Subject"); got != "via postfix" {
		t.Errorf("Subject = %q", got)
	}
	if !strings.Contains(m.Header.Get("Received"), "relay.test.invalid") {
		t.Errorf("no Received header from Postfix: %q", m.Header["Received"])
	}
	if want := body + "\n\n\n"; string(m.Body) != want { // swaks's own two empty lines
		t.Errorf("body = %q, want %q", m.Body, want)
	}

	pf.WaitQueueEmpty(t, 10*time.Second)
	if log := pf.Maillog(t); !strings.Contains(log, "status=sent") {
		t.Errorf("maillog has no status=sent:\n%s", log)
	}

	pf.Stop(t)
	if conn, err := net.Dial("tcp", pf.Addr); err == nil {
		conn.Close()
		t.Errorf("the stopped Postfix still accepts connections on %s", pf.Addr)
	}
	if log := pf.Maillog(t); !strings.Contains(log, "stopping the Postfix mail system") {
		t.Errorf("Postfix was not stopped with postfix stop:\n%s", log)
	}
}

func TestPostfixSendmailInjection(t *testing.T) {
	t.Parallel()
	peers.Require(t, peers.SMTPSinkBin, peers.PostfixBin, peers.SendmailBin)
	sink := peers.StartSink(t, peers.SinkOptions{Dump: true})
	pf := peers.StartPostfix(t, peers.PostfixOptions{
		RelayHost: sink.Addr,
		Extra:     map[string]string{"myhostname": "injector.test.invalid"},
	})

	msg := "Subject: via sendmail\nFrom: s@example.org\n\nbody\n.\nafter a lone dot\n"
	pf.Sendmail(t, "s@example.org", []string{"r1@example.net", "r2@example.net"}, []byte(msg))

	msgs := sink.WaitMessages(t, 1, 30*time.Second)
	if len(msgs) != 1 {
		t.Fatalf("got %d messages, want 1", len(msgs))
	}
	m := msgs[0]
	if m.MailArgs != "<s@example.org>" || len(m.RcptArgs) != 2 {
		t.Errorf("envelope: MAIL %q RCPT %q", m.MailArgs, m.RcptArgs)
	}
	if m.HeloArgs != "injector.test.invalid" {
		t.Errorf("HELO %q: Extra did not override myhostname", m.HeloArgs)
	}
	if want := "body\n.\nafter a lone dot\n"; string(m.Body) != want {
		t.Errorf("body = %q, want %q", m.Body, want)
	}
	pf.WaitQueueEmpty(t, 10*time.Second)
	if log := pf.Maillog(t); !strings.Contains(log, "uid=0 from=<s@example.org>") {
		t.Errorf("maillog shows no pickup of the sendmail submission:\n%s", log)
	}
}

func TestPromtoolCheckMetrics(t *testing.T) {
	t.Parallel()
	peers.Require(t, peers.PromtoolBin)
	valid := "# HELP gatewatch_messages_total Messages seen.\n" +
		"# TYPE gatewatch_messages_total counter\n" +
		"gatewatch_messages_total{verdict=\"spam\"} 3\n"
	if out := peers.PromtoolCheckMetrics(t, []byte(valid)); out != "" {
		t.Errorf("valid exposition reported as:\n%s", out)
	}
	if out := peers.PromtoolCheckMetrics(t, []byte("bad_metric 1\n")); !strings.Contains(out, "bad_metric no help text") {
		t.Errorf("no lint finding for a metric without HELP, got %q", out)
	}
	if out := peers.PromtoolCheckMetrics(t, []byte("garbage{ 1\n")); !strings.Contains(out, "parsing error") {
		t.Errorf("no parse error reported, got %q", out)
	}
}
