package main

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"mime/quotedprintable"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatewatch/gatewatch/internal/peers"
)

const eicarString = `X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*`

func zipOf(t *testing.T, name string, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	w := zip.NewWriter(&b)
	f, err := w.Create(name)
	if err == nil {
		_, err = f.Write(data)
	}
	if err == nil {
		err = w.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func tarGzOf(t *testing.T, name string, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	gz := gzip.NewWriter(&b)
	tw := tar.NewWriter(gz)
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(data))}); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// withAttachment is a multipart message: a text part, then one attachment.
func withAttachment(subject, name, ctype, cte string, body string) []byte {
	return []byte("From: a@senders.test\r\nTo: u@example.test\r\nSubject: " + subject + "\r\nMessage-ID: <" + strings.ReplaceAll(subject, " ", ".") + "@senders.test>\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n" +
		"--b1\r\nContent-Type: text/plain\r\n\r\nplease find attached\r\n" +
		"--b1\r\nContent-Type: " + ctype + "; name=\"" + name + "\"\r\nContent-Disposition: attachment; filename=\"" + name + "\"\r\n" +
		"Content-Transfer-Encoding: " + cte + "\r\n\r\n" + body + "\r\n--b1--\r\n")
}

func b64(data []byte) string {
	s := base64.StdEncoding.EncodeToString(data)
	var b strings.Builder
	for len(s) > 76 {
		b.WriteString(s[:76] + "\r\n")
		s = s[76:]
	}
	b.WriteString(s)
	return b.String()
}

// infectedForms is EICAR (or payload) in every place a message can hide it.
func infectedForms(t *testing.T, payload []byte) map[string][]byte {
	var qp bytes.Buffer
	w := quotedprintable.NewWriter(&qp)
	_, _ = w.Write(payload)
	_ = w.Close()
	inner := withAttachment("inner", "x.bin", "application/octet-stream", "base64", b64(payload))
	return map[string][]byte{
		"body":              []byte("From: a@senders.test\r\nTo: u@example.test\r\nSubject: body\r\n\r\n" + string(payload)),
		"base64 attachment": withAttachment("base64 attachment", "x.bin", "application/octet-stream", "base64", b64(payload)),
		"qp attachment":     withAttachment("qp attachment", "x.txt", "text/plain", "quoted-printable", qp.String()),
		"zip":               withAttachment("zip", "x.zip", "application/zip", "base64", b64(zipOf(t, "x.com", payload))),
		"zip in zip in tar.gz": withAttachment("zip in zip in tar.gz", "x.tar.gz", "application/gzip", "base64",
			b64(tarGzOf(t, "outer.zip", zipOf(t, "inner.zip", zipOf(t, "x.com", payload))))),
		"forwarded": []byte("From: a@senders.test\r\nTo: u@example.test\r\nSubject: forwarded\r\nMIME-Version: 1.0\r\n" +
			"Content-Type: multipart/mixed; boundary=\"f1\"\r\n\r\n--f1\r\nContent-Type: text/plain\r\n\r\nFYI\r\n" +
			"--f1\r\nContent-Type: message/rfc822\r\n\r\n" + string(inner) + "\r\n--f1--\r\n"),
	}
}

const avGateway = singleRoute + `
antivirus:
  enabled: true
  scanners: [{{.Scanner}}]
  signatures: "{{.Sigs}}"
  clamd: {address: "tcp://{{.Clamd}}", timeout: 5s, max_stream: 10485760}
contentfilter:
  enabled: true
  rules: [{name: executables, names: ["*.exe"]}]
policy:
  default:
    actions:
      virus: {do: quarantine}
      banned: {remove_parts: true, mark_subject: "[CLEANED]"}
store: {dir: "{{.Dir}}/store"}
`

// TestVirusesFoundByClamdAndBuiltin: EICAR, and a payload listed by a
// hash signature the test generates, hidden in the body, in base64 and QP
// attachments, a zip, a zip in a zip in a tar.gz and a forwarded message,
// are found by clamd and by the builtin scanner alike: quarantined (none
// reaches the sink), flagged in the events and counted.
func TestVirusesFoundByClamdAndBuiltin(t *testing.T) {
	payload := []byte(fmt.Sprintf("a payload the test lists by hash, made at %d", time.Now().UnixNano()))
	sum := md5.Sum(payload)
	hdb := fmt.Sprintf("%s:%d:Test.Generated.MD5\n", hex.EncodeToString(sum[:]), len(payload))
	clamd := peers.StartClamd(t, peers.ClamdOptions{Signatures: map[string]string{
		"eicar.ndb": "Test.MailGW.EICAR-Body:0:*:" + hex.EncodeToString([]byte(eicarString)) + "\n",
		"gen.hdb":   hdb,
	}})
	sigs := t.TempDir()
	if err := os.WriteFile(filepath.Join(sigs, "gen.hdb"), []byte(hdb), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, scanner := range []string{"clamd", "builtin"} {
		t.Run(scanner, func(t *testing.T) {
			sink := peers.StartSink(t, peers.SinkOptions{Dump: true})
			g := startGateway(t, avGateway, gwVars{"Sink": sink.Addr, "Name": "sink", "Scanner": scanner, "Sigs": sigs, "Clamd": clamd.Addr})
			sent := 0
			for what, payload := range map[string][]byte{"EICAR": []byte(eicarString), "hash": payload} {
				for form, msg := range infectedForms(t, payload) {
					if what == "hash" && form == "body" {
						continue // a hash names a whole file; a body ends in the CRLF SMTP adds
					}
					if _, err := sendMail(g.SMTP, "a@senders.test", []string{"u@example.test"}, msg, nil, nil); err != nil {
						t.Fatalf("%s %s: %v", what, form, err)
					}
					sent++
				}
			}
			clean := withAttachment("clean one", "notes.txt", "text/plain", "7bit", "nothing to see")
			if _, err := sendMail(g.SMTP, "a@senders.test", []string{"u@example.test"}, clean, nil, nil); err != nil {
				t.Fatal(err)
			}
			msgs := sink.WaitMessages(t, 1, 30*time.Second)
			if len(msgs) != 1 || msgs[0].Header.Get("Subject") != "clean one" || msgs[0].Header.Get("X-Gatewatch-Virus-Status") != "clean" {
				t.Errorf("at the sink: %d messages, first %v", len(msgs), msgs[0].Header)
			}
			code, listing := g.cli("quarantine", "list", "--category", "virus")
			if code != 0 || !strings.Contains(listing, fmt.Sprintf("%d message(s)", sent)) {
				t.Errorf("quarantine: %d %s", code, listing)
			}
			flagged := eventsWith(g.events("scan.object_flagged"), "category", "infected")
			if len(flagged) < sent {
				t.Errorf("%d infected objects flagged for %d messages", len(flagged), sent)
			}
			if got := g.metric(fmt.Sprintf(`gatewatch_av_scans_total{scanner=%q}`, scanner)); got < float64(sent) {
				t.Errorf("av_scans_total{%s} = %v", scanner, got)
			}
			if got := g.metric(`gatewatch_av_objects_total{status="infected"}`); got < float64(sent) {
				t.Errorf("av_objects_total{infected} = %v, want >= %d", got, sent)
			}
		})
	}
}

// TestBannedPartRemoved: a banned attachment is replaced by a notice; the
// other parts arrive byte for byte.
func TestBannedPartRemoved(t *testing.T) {
	sink := peers.StartSink(t, peers.SinkOptions{Dump: true})
	g := startGateway(t, avGateway, gwVars{"Sink": sink.Addr, "Name": "sink", "Scanner": "builtin", "Sigs": "", "Clamd": "127.0.0.1:9"})
	text := "please find the tool attached; this line must arrive unchanged."
	pdf := b64([]byte("%PDF-1.4 a harmless document"))
	msg := []byte("From: a@senders.test\r\nTo: u@example.test\r\nSubject: tools\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain\r\n\r\n" + text + "\r\n" +
		"--b1\r\nContent-Type: application/octet-stream; name=\"tool.exe\"\r\nContent-Disposition: attachment; filename=\"tool.exe\"\r\nContent-Transfer-Encoding: base64\r\n\r\n" + b64([]byte("MZ not really a program")) + "\r\n" +
		"--b1\r\nContent-Type: application/pdf; name=\"doc.pdf\"\r\nContent-Disposition: attachment; filename=\"doc.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n" + pdf + "\r\n--b1--\r\n")
	if _, err := sendMail(g.SMTP, "a@senders.test", []string{"u@example.test"}, msg, nil, nil); err != nil {
		t.Fatal(err)
	}
	got := sink.WaitMessages(t, 1, 30*time.Second)[0]
	body := strings.ReplaceAll(string(got.Body), "\n", "\r\n")
	if got.Header.Get("Subject") != "[CLEANED] tools" || strings.Contains(body, b64([]byte("MZ not really a program"))) ||
		!strings.Contains(body, "tool.exe") {
		t.Fatalf("delivered:\n%s", got.Raw)
	}
	for name, want := range map[string]string{"text part": text, "pdf part": pdf} {
		h := sha256.Sum256([]byte(want))
		if !strings.Contains(body, want) {
			t.Errorf("%s (sha256 %x) did not arrive intact", name, h[:8])
		}
	}
	if got := g.metric(`gatewatch_contentfilter_hits_total{rule="executables"}`); got != 1 {
		t.Errorf("contentfilter_hits_total{executables} = %v", got)
	}
}

// TestClamdOutage: with clamd stopped, messages are deferred (451, the
// policy's default for the error status) and the scanner's trap event is
// raised once; with clamd back, mail flows and the trap clears.
func TestClamdOutage(t *testing.T) {
	clamd := peers.StartClamd(t, peers.ClamdOptions{Signatures: map[string]string{
		"eicar.ndb": "Test.MailGW.EICAR-Body:0:*:" + hex.EncodeToString([]byte(eicarString)) + "\n"}})
	sink := peers.StartSink(t, peers.SinkOptions{Dump: true})
	g := startGateway(t, avGateway, gwVars{"Sink": sink.Addr, "Name": "sink", "Scanner": "clamd", "Sigs": "", "Clamd": clamd.Addr})
	clean := func(n int) []byte {
		return withAttachment(fmt.Sprintf("clean %d", n), "notes.txt", "text/plain", "7bit", "fine")
	}
	if _, err := sendMail(g.SMTP, "a@senders.test", []string{"u@example.test"}, clean(1), nil, nil); err != nil {
		t.Fatal(err)
	}
	clamd.Stop(t)
	for i := 2; i <= 3; i++ {
		_, err := sendMail(g.SMTP, "a@senders.test", []string{"u@example.test"}, clean(i), nil, nil)
		if err == nil || !strings.Contains(err.Error(), "451") {
			t.Fatalf("with clamd down: %v, want 451", err)
		}
	}
	waitFor(t, "av.scanner_down in the log", 10*time.Second, func() bool {
		ev := g.events("av.scanner_down")
		return len(ev) == 1 && ev[0]["category"] == "clamd"
	})
	if got := g.metric(`gatewatch_av_scanner_up{scanner="clamd"}`); got != 0 {
		t.Errorf("av_scanner_up{clamd} = %v while down", got)
	}
	clamd.Restart(t)
	if _, err := sendMail(g.SMTP, "a@senders.test", []string{"u@example.test"}, clean(4), nil, nil); err != nil {
		t.Fatalf("with clamd back: %v", err)
	}
	sink.WaitMessages(t, 2, 30*time.Second)
	waitFor(t, "av.scanner_up", 10*time.Second, func() bool { return len(g.events("av.scanner_up")) == 1 })
	if got := g.metric(`gatewatch_av_scanner_up{scanner="clamd"}`); got != 1 {
		t.Errorf("av_scanner_up{clamd} = %v after recovery", got)
	}
}

// TestAttachmentRulesThroughSMTP: an executable renamed .pdf is caught by
// its real type, "invoice.pdf.exe" and a right-to-left override name by
// the name rules; each banned part is removed at the sink.
func TestAttachmentRulesThroughSMTP(t *testing.T) {
	sink := peers.StartSink(t, peers.SinkOptions{Dump: true})
	cfg := strings.Replace(avGateway, `rules: [{name: executables, names: ["*.exe"]}]`, `rules: [{name: disguised, mismatch: true}]`, 1)
	g := startGateway(t, cfg, gwVars{"Sink": sink.Addr, "Name": "sink", "Scanner": "builtin", "Sigs": "", "Clamd": "127.0.0.1:9"})
	exe := make([]byte, 512)
	copy(exe, "MZ")
	exe[0x3c] = 0x80
	copy(exe[0x80:], "PE\x00\x00")
	for subject, name := range map[string]string{"true type": "report.pdf", "double extension": "invoice.pdf.exe", "bidi": "invoice\u202efdp.exe"} {
		msg := withAttachment(subject, name, "application/pdf", "base64", b64(exe))
		if _, err := sendMail(g.SMTP, "a@senders.test", []string{"u@example.test"}, msg, nil, nil); err != nil {
			t.Fatalf("%s: %v", subject, err)
		}
	}
	msgs := sink.WaitMessages(t, 3, 30*time.Second)
	for _, m := range msgs {
		if !strings.HasPrefix(m.Header.Get("Subject"), "[CLEANED] ") || strings.Contains(string(m.Body), b64(exe)[:40]) {
			t.Errorf("%s: not cleaned:\n%s", m.Header.Get("Subject"), m.Raw)
		}
	}
	for rule, want := range map[string]float64{"disguised": 1, "double_extension": 1, "bidi_name": 1} {
		if got := g.metric(fmt.Sprintf(`gatewatch_contentfilter_hits_total{rule=%q}`, rule)); got != want {
			t.Errorf("contentfilter_hits_total{%s} = %v, want %v", rule, got, want)
		}
	}
}

// TestUnreadableObjectsThroughSMTP: an encrypted zip is protected, a
// truncated zip corrupted, a zip bomb suspicious (found within the limits:
// the message is answered in seconds); each is quarantined by the default
// policy, flagged with its status and counted.
func TestUnreadableObjectsThroughSMTP(t *testing.T) {
	sink := peers.StartSink(t, peers.SinkOptions{})
	g := startGateway(t, avGateway, gwVars{"Sink": sink.Addr, "Name": "sink", "Scanner": "builtin", "Sigs": "", "Clamd": "127.0.0.1:9"})

	var enc bytes.Buffer
	zw := zip.NewWriter(&enc)
	f, err := zw.CreateHeader(&zip.FileHeader{Name: "secret.doc", Flags: 1, Method: zip.Store}) // flag bit 0: encrypted
	if err == nil {
		_, err = f.Write([]byte("ciphertext, as far as anyone can tell"))
	}
	if err == nil {
		err = zw.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	whole := zipOf(t, "report.txt", bytes.Repeat([]byte("quarterly figures "), 200))
	bomb := zipOf(t, "zeros.bin", make([]byte, 64<<20)) // 64 MiB of zeros in about 64 KiB: ratio far over 100

	for status, body := range map[string][]byte{"protected": enc.Bytes(), "corrupted": whole[:len(whole)/2], "suspicious": bomb} {
		start := time.Now()
		msg := withAttachment(status+" one", status+".zip", "application/zip", "base64", b64(body))
		if _, err := sendMail(g.SMTP, "a@senders.test", []string{"u@example.test"}, msg, nil, nil); err != nil {
			t.Fatalf("%s: %v", status, err)
		}
		t.Logf("%s: %d bytes of zip answered in %s", status, len(body), time.Since(start).Round(time.Millisecond))
		flagged := eventsWith(g.events("scan.object_flagged"), "category", status)
		if len(flagged) != 1 || !strings.Contains(fmt.Sprint(flagged[0]["text"]), status+".zip") {
			t.Errorf("%s: flagged events %v", status, flagged)
		}
		if got := g.metric(fmt.Sprintf(`gatewatch_av_objects_total{status=%q}`, status)); got != 1 {
			t.Errorf("av_objects_total{%s} = %v, want 1", status, got)
		}
	}
	code, listing := g.cli("quarantine", "list")
	if code != 0 || !strings.Contains(listing, "3 message(s)") {
		t.Errorf("quarantine list: %d %s", code, listing)
	}
	if got := g.metric(`gatewatch_messages_completed_total{outcome="quarantined"}`); got != 3 {
		t.Errorf("messages_completed_total{quarantined} = %v, want 3", got)
	}
}
