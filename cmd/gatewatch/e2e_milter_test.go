package main

import (
	"strings"
	"testing"
	"time"

	"github.com/gatewatch/gatewatch/internal/peers"
)

const milterGateway = singleRoute + `
milter: {listen: "inet:{{.Milter}}", timeout: 30s, max_message: 10485760}
antivirus: {enabled: true, scanners: [builtin]}
contentfilter:
  enabled: true
  rules: [{name: executables, names: ["*.exe"]}]
policy:
  lists: {senders_black: ["*@blocked.test"]}
  default:
    actions:
      blacklisted: {do: reject, reply: "Sender refused by gatewatch policy"}
      virus: {do: reject, reply: "Message refused: malware found"}
      banned: {remove_parts: true, mark_subject: "[CLEANED]"}
  groups:
    - {name: holders, recipients: ["hold@example.test"], actions: {virus: {do: quarantine}}}
store: {dir: "{{.Dir}}/store"}
`

// TestMilterBehindPostfix: a real Postfix hands every message to the
// gateway's milter listener and relays to smtp-sink. A clean message
// arrives with our fields; a blacklisted sender is refused at RCPT with our
// text; EICAR is refused at end of data, or held in Postfix's hold queue
// for the group that quarantines; a banned attachment is replaced by a
// notice; events and counters match, with Postfix's queue ID beside ours.
func TestMilterBehindPostfix(t *testing.T) {
	sink := peers.StartSink(t, peers.SinkOptions{Dump: true})
	milterAddr := peers.FreeAddr(t)
	g := startGateway(t, milterGateway, gwVars{"Sink": sink.Addr, "Name": "sink", "Milter": milterAddr})
	pf := peers.StartPostfix(t, peers.PostfixOptions{RelayHost: sink.Addr, Milter: "inet:" + milterAddr})

	send := func(from, to string, msg []byte) (string, error) {
		return sendMail(pf.Addr, from, []string{to}, msg, nil, nil)
	}
	clean := withAttachment("clean through postfix", "notes.txt", "text/plain", "7bit", "nothing to see")
	if _, err := send("a@senders.test", "u@example.test", clean); err != nil {
		t.Fatalf("clean: %v", err)
	}
	_, err := send("a@blocked.test", "u@example.test", withAttachment("blacklisted", "a.txt", "text/plain", "7bit", "hi"))
	if err == nil || !strings.Contains(err.Error(), "554") || !strings.Contains(err.Error(), "Sender refused by gatewatch policy") {
		t.Errorf("blacklisted sender: %v, want 554 with the policy's text", err)
	}
	eicarMsg := func(subject string) []byte {
		return withAttachment(subject, "x.com", "application/octet-stream", "base64", b64([]byte(eicarString)))
	}
	_, err = send("a@senders.test", "u@example.test", eicarMsg("infected refused"))
	if err == nil || !strings.Contains(err.Error(), "554") || !strings.Contains(err.Error(), "malware found") {
		t.Errorf("EICAR: %v, want 554 malware found", err)
	}
	if _, err := send("a@senders.test", "hold@example.test", eicarMsg("infected held")); err != nil {
		t.Fatalf("EICAR for the quarantining group: %v", err)
	}
	text := "the tool is attached; this line must arrive unchanged"
	banned := []byte("From: a@senders.test\r\nTo: u@example.test\r\nSubject: tools\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain\r\n\r\n" + text + "\r\n" +
		"--b1\r\nContent-Type: application/octet-stream; name=\"tool.exe\"\r\nContent-Disposition: attachment; filename=\"tool.exe\"\r\n" +
		"Content-Transfer-Encoding: base64\r\n\r\n" + b64([]byte("MZ not really a program")) + "\r\n--b1--\r\n")
	if _, err := send("a@senders.test", "u@example.test", banned); err != nil {
		t.Fatalf("banned attachment: %v", err)
	}

	held := pf.WaitHeld(t, 1, 30*time.Second)
	msgs := sink.WaitMessages(t, 2, 30*time.Second)
	bySubject := map[string]peers.SinkMessage{}
	for _, m := range msgs {
		bySubject[m.Header.Get("Subject")] = m
	}
	if len(msgs) != 2 {
		t.Errorf("%d messages at the sink, want the clean one and the cleaned one", len(msgs))
	}
	c, ok := bySubject["clean through postfix"]
	if !ok || c.Header.Get("X-Gatewatch-ID") == "" || c.Header.Get("X-Gatewatch-Virus-Status") != "clean" {
		t.Errorf("clean message at the sink: %v", c.Header)
	}
	cleaned, ok := bySubject["[CLEANED] tools"]
	body := strings.ReplaceAll(string(cleaned.Body), "\n", "\r\n")
	if !ok || !strings.Contains(body, text) || strings.Contains(body, b64([]byte("MZ not really a program"))) || !strings.Contains(body, "tool.exe") {
		t.Errorf("cleaned message at the sink (ok %v):\n%s", ok, cleaned.Raw)
	}

	verdicts := g.events("integration.verdict")
	byAction := map[string]int{}
	for _, ev := range verdicts {
		byAction[ev["action"].(string)]++
		if ev["mode"] != "milter" {
			t.Errorf("verdict event without mode milter: %v", ev)
		}
	}
	if byAction["accept"] != 2 || byAction["reject"] != 2 || byAction["quarantine"] != 1 {
		t.Errorf("verdicts by action %v, want accept 2, reject 2 (RCPT and end of data), quarantine 1", byAction)
	}
	q := eventsWith(verdicts, "action", "quarantine")
	if len(q) != 1 || q[0]["mta_queue_id"] != held[0].QueueID || q[0]["queue_id"] == "" {
		t.Errorf("the held message's event %v does not name Postfix's queue ID %s next to ours", q, held[0].QueueID)
	}
	for series, want := range map[string]float64{`gatewatch_mode_messages_total{mode="milter"}`: 5, `gatewatch_mode_refused_total{mode="milter"}`: 2} {
		if got := g.metric(series); got != want {
			t.Errorf("%s = %v, want %v", series, got, want)
		}
	}
	if got := g.metric(`gatewatch_mode_sessions_total{mode="milter"}`); got < 1 {
		t.Errorf("mode_sessions_total{milter} = %v", got)
	}
}
