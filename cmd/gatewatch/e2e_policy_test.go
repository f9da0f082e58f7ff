package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/gatewatch/gatewatch/internal/peers"
	"github.com/gatewatch/gatewatch/pipeline/store"
)

const twoGroups = singleRoute + `
policy:
  lists: {senders_black: ["*@spammer.test"]}
  groups:
    - name: staff
      recipients: ["*@staff.test"]
      actions:
        blacklisted: {do: quarantine, notify: [admin]}
    - name: lab
      recipients: ["*@lab.test"]
      actions:
        blacklisted: {do: deliver, mark_subject: "[BLACKLISTED]", headers: {X-Policy-Group: lab}}
notify: {admin: "ops@admin.test"}
store: {dir: "{{.Dir}}/store"}
`

// TestGroupsSplitABlacklistedSender: one message from a blacklisted sender
// to two groups. The staff copy is quarantined, the lab copy delivered
// marked; each has its own ID, linked to the message's, at the sink, in
// the quarantine, in the events and in the counters; the release of the
// quarantined copy arrives at the sink as it was received.
func TestGroupsSplitABlacklistedSender(t *testing.T) {
	sink := peers.StartSink(t, peers.SinkOptions{Dump: true})
	g := startGateway(t, twoGroups, gwVars{"Sink": sink.Addr, "Name": "sink"})

	out, err := peers.Swaks(t, "--server", g.SMTP, "--from", "bulk@spammer.test", "--to", "ann@staff.test,bob@lab.test",
		"--header", "Subject: cheap watches", "--body", "buy now")
	if err != nil {
		t.Fatalf("swaks: %v\n%s", err, out)
	}
	parent := queueIDOf(t, lastReply(out, "250"))

	// The lab copy and the admin notification about the staff copy.
	msgs := sink.WaitMessages(t, 2, 30*time.Second)
	lab := to(msgs, "bob@lab.test")
	if len(lab) != 1 {
		t.Fatalf("%d copies for bob@lab.test, want 1", len(lab))
	}
	labID := lab[0].Header.Get("X-Gatewatch-Id")
	if labID == "" || labID == parent || lab[0].Header.Get("X-Gatewatch-Parent-Id") != parent {
		t.Errorf("lab copy IDs: id %q parent %q, message %s", labID, lab[0].Header.Get("X-Gatewatch-Parent-Id"), parent)
	}
	if subj := lab[0].Header.Get("Subject"); subj != "[BLACKLISTED] cheap watches" {
		t.Errorf("lab copy subject %q", subj)
	}
	if h := lab[0].Header.Get("X-Policy-Group"); h != "lab" {
		t.Errorf("lab copy X-Policy-Group %q", h)
	}
	if n := len(to(msgs, "ann@staff.test")); n != 0 {
		t.Errorf("the quarantined recipient got %d copies", n)
	}
	admin := to(msgs, "ops@admin.test")
	if len(admin) != 1 || mailFrom(admin[0]) != "" || admin[0].Header.Get("Auto-Submitted") != "auto-generated" {
		t.Fatalf("admin notification: %+v", admin)
	}

	// The quarantine holds the staff copy under its own ID.
	code, listing := g.cli("quarantine", "-json", "list", "--recipient", "*@staff.test")
	var entries []store.Entry
	if code != 0 || json.Unmarshal([]byte(listing), &entries) != nil || len(entries) != 1 {
		t.Fatalf("quarantine list: %d %s", code, listing)
	}
	q := entries[0]
	if q.Parent != parent || q.Group != "staff" || q.Status != "blacklisted" || q.Category != "policy" ||
		strings.Join(q.Recipients, ",") != "ann@staff.test" || q.ID == parent || q.ID == labID {
		t.Errorf("quarantine entry %+v (message %s, lab copy %s)", q, parent, labID)
	}
	if !strings.Contains(string(admin[0].Body), q.ID) {
		t.Errorf("the admin notification does not name the quarantine ID %s:\n%s", q.ID, admin[0].Body)
	}

	// Events: one policy.applied per outcome, each with its group and copy.
	applied := g.events("policy.applied")
	staff, labEv := eventsWith(applied, "group", "staff"), eventsWith(applied, "group", "lab")
	if len(staff) != 1 || staff[0]["action"] != "quarantine" || staff[0]["queue_id"] != q.ID || staff[0]["parent_id"] != parent {
		t.Errorf("staff policy.applied: %v", staff)
	}
	if len(labEv) != 1 || labEv[0]["action"] != "deliver" || labEv[0]["queue_id"] != labID || labEv[0]["parent_id"] != parent {
		t.Errorf("lab policy.applied: %v", labEv)
	}
	waitFor(t, "the lab copy's closing record", 10*time.Second, func() bool {
		done := eventsWith(g.events("message.completed"), "queue_id", labID)
		return len(done) == 1 && done[0]["group"] == "lab" && done[0]["parent_id"] == parent && done[0]["outcome"] == "delivered"
	})
	if qa := eventsWith(g.events("quarantine.added"), "queue_id", q.ID); len(qa) != 1 || qa[0]["category"] != "policy" {
		t.Errorf("quarantine.added: %v", qa)
	}
	for series, want := range map[string]float64{
		`gatewatch_policy_group_outcomes_total{group="staff"}`:      1,
		`gatewatch_policy_group_outcomes_total{group="lab"}`:        1,
		`gatewatch_policy_actions_total{action="quarantine"}`:       1,
		`gatewatch_policy_actions_total{action="deliver"}`:          1,
		`gatewatch_quarantine_messages{category="policy"}`:          1,
		`gatewatch_quarantine_added_total{category="policy"}`:       1,
		`gatewatch_notifications_sent_total{kind="admin"}`:          1,
		`gatewatch_messages_completed_total{outcome="quarantined"}`: 1,
	} {
		if got := g.metric(series); got != want {
			t.Errorf("%s = %v, want %v", series, got, want)
		}
	}

	// Release: the copy goes to its recipient as received, not marked.
	code, res := g.cli("quarantine", "release", q.ID)
	if code != 0 || !strings.Contains(res, "released, queued as ") {
		t.Fatalf("quarantine release: %d %s", code, res)
	}
	released := strings.TrimSpace(res[strings.LastIndex(res, " ")+1:])
	msgs = sink.WaitMessages(t, 3, 30*time.Second)
	ann := to(msgs, "ann@staff.test")
	if len(ann) != 1 || ann[0].Header.Get("Subject") != "cheap watches" || !strings.Contains(string(ann[0].Body), "buy now") {
		t.Fatalf("released copy at the sink: %+v", ann)
	}
	if code, out := g.cli("quarantine", "show", q.ID); code != exitNotFound {
		t.Errorf("show after release: %d %s", code, out)
	}
	waitFor(t, "quarantine.released event", 10*time.Second, func() bool {
		ev := g.events("quarantine.released")
		return len(ev) == 1 && ev[0]["queue_id"] == released && ev[0]["parent_id"] == q.ID
	})
	if got := g.metric(`gatewatch_quarantine_messages{category="policy"}`); got != 0 {
		t.Errorf("quarantine_messages after release = %v", got)
	}
	if got := g.metric(`gatewatch_quarantine_released_total{category="policy"}`); got != 1 {
		t.Errorf("quarantine_released_total = %v", got)
	}
}

// lastReply finds the last server line of a swaks transcript starting with code.
func lastReply(transcript, code string) string {
	var last string
	for _, l := range strings.Split(transcript, "\n") {
		l = strings.TrimSpace(l)
		if strings.HasPrefix(l, "<- "+code) || strings.HasPrefix(l, "<-  "+code) {
			last = strings.TrimSpace(strings.TrimPrefix(l, "<-"))
		}
	}
	return last
}

const everyAction = singleRoute + `
policy:
  groups:
    - {name: dropped, recipients: ["*@drop.test"], actions: {clean: {do: drop}}}
    - {name: redirected, recipients: ["*@redirect.test"], actions: {clean: {redirect_to: ["boss@sink.test"]}}}
    - {name: copied, recipients: ["*@bcc.test"], actions: {clean: {copy_to: ["audit@sink.test"], headers: {X-Audit: "yes"}}}}
    - {name: kept, recipients: ["*@keep.test"], actions: {clean: {quarantine_copy: true, mark_subject: "[KEPT]"}}}
    - {name: refused, recipients: ["*@reject.test"], actions: {clean: {do: reject, reply: "Mailbox closed by policy"}}}
    - {name: later, recipients: ["*@later.test"], actions: {clean: {do: tempfail, reply: "Come back later"}}}
store:
  dir: "{{.Dir}}/store"
  quarantine: {max_age: 3s}
  interval: 1s
`

// TestEveryActionEndToEnd sends one message to recipients of every action
// that accepts, and one to each that refuses, then checks what reached
// the sink, the replies, the quarantine and its retention.
func TestEveryActionEndToEnd(t *testing.T) {
	sink := peers.StartSink(t, peers.SinkOptions{Dump: true})
	g := startGateway(t, everyAction, gwVars{"Sink": sink.Addr, "Name": "sink"})

	rcpts := []string{"d@drop.test", "r@redirect.test", "c@bcc.test", "k@keep.test", "x@reject.test"}
	reply, err := sendMail(g.SMTP, "alice@senders.test", rcpts, numbered("actions", 1), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	parent := queueIDOf(t, reply)
	// redirect, bcc (one copy, two recipients), kept, and the bounce for x@reject.test.
	msgs := sink.WaitMessages(t, 4, 30*time.Second)
	if len(to(msgs, "d@drop.test"))+len(to(msgs, "r@redirect.test"))+len(to(msgs, "x@reject.test")) != 0 {
		t.Errorf("dropped, redirected or refused recipient got a copy")
	}
	boss := to(msgs, "boss@sink.test")
	if len(boss) != 1 || boss[0].Header.Get("X-Gatewatch-Parent-Id") != parent {
		t.Errorf("redirected copy: %+v", boss)
	}
	bcc := to(msgs, "audit@sink.test")
	if len(bcc) != 1 || strings.Join(rcptsOf(bcc[0]), ",") != "c@bcc.test,audit@sink.test" || bcc[0].Header.Get("X-Audit") != "yes" {
		t.Errorf("copied message: %+v", bcc)
	}
	kept := to(msgs, "k@keep.test")
	if len(kept) != 1 || kept[0].Header.Get("Subject") != "[KEPT] actions 1" {
		t.Errorf("kept copy: %+v", kept)
	}
	bounce := to(msgs, "alice@senders.test")
	if len(bounce) != 1 || mailFrom(bounce[0]) != "" || !strings.Contains(string(bounce[0].Body), "Mailbox closed by policy") ||
		!strings.Contains(string(bounce[0].Body), "x@reject.test") {
		t.Errorf("bounce for the refused recipient: %+v", bounce)
	}
	for rcpt, want := range map[string]smtp.SMTPError{
		"x@reject.test": {Code: 554, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "Mailbox closed by policy"},
		"y@later.test":  {Code: 451, EnhancedCode: smtp.EnhancedCode{4, 7, 1}, Message: "Come back later"},
	} {
		_, err := sendMail(g.SMTP, "alice@senders.test", []string{rcpt}, numbered("refused", 2), nil, nil)
		var got *smtp.SMTPError
		if !errors.As(err, &got) || got.Code != want.Code || got.EnhancedCode != want.EnhancedCode || got.Message != want.Message {
			t.Errorf("message to %s only: %v, want %d %v %s", rcpt, err, want.Code, want.EnhancedCode, want.Message)
		}
	}
	if got := g.metric(`gatewatch_messages_completed_total{outcome="discarded"}`); got != 1 {
		t.Errorf("discarded = %v, want 1", got)
	}
	if got := g.metric(`gatewatch_messages_completed_total{outcome="bounced"}`); got < 1 {
		t.Errorf("bounced = %v, want >= 1", got)
	}
	for action, want := range map[string]float64{"drop": 1, "deliver": 3, "reject": 2, "tempfail": 1} {
		if got := g.metric(fmt.Sprintf(`gatewatch_policy_actions_total{action=%q}`, action)); got != want {
			t.Errorf("policy_actions_total{action=%q} = %v, want %v", action, got, want)
		}
	}
	// The quarantined copy of the kept recipient goes after 3 s.
	code, listing := g.cli("quarantine", "list")
	if code != 0 || !strings.Contains(listing, "k@keep.test") {
		t.Fatalf("quarantine list: %d %s", code, listing)
	}
	waitFor(t, "retention to remove the kept copy", 20*time.Second, func() bool {
		return g.metric(`gatewatch_quarantine_expired_total{category="policy"}`) == 1
	})
	if code, listing := g.cli("quarantine", "list"); code != 0 || !strings.Contains(listing, "0 message(s)") {
		t.Errorf("quarantine after retention: %d %s", code, listing)
	}
	if ev := g.events("quarantine.expired"); len(ev) != 1 || ev[0]["count"] != 1.0 {
		t.Errorf("quarantine.expired events: %v", ev)
	}
}

const archives = singleRoute + `
store:
  dir: "{{.Dir}}/store"
  archive: {received: true, sent: true}
`

// TestArchivesReloadAndReleaseElsewhere: both archives keep a relayed
// message; a reload brings in a group that quarantines, and a release
// --to sends the quarantined message to another address.
func TestArchivesReloadAndReleaseElsewhere(t *testing.T) {
	sink := peers.StartSink(t, peers.SinkOptions{Dump: true})
	g := startGateway(t, archives, gwVars{"Sink": sink.Addr, "Name": "sink"})
	reply, err := sendMail(g.SMTP, "a@senders.test", []string{"r@example.test"}, numbered("archived", 1), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	id := queueIDOf(t, reply)
	sink.WaitMessages(t, 1, 30*time.Second)
	waitFor(t, "both archives to hold the message", 10*time.Second, func() bool {
		return g.metric(`gatewatch_archive_messages{archive="received"}`) == 1 && g.metric(`gatewatch_archive_messages{archive="sent"}`) == 1
	})
	for _, box := range []string{"received", "sent"} {
		fi, err := os.Stat(filepath.Join(g.dir, "store", "archive", box, id+".eml"))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s archive copy of %s: %v %v", box, id, err, fi)
		}
	}

	g.writeConfig(archives+`
policy:
  groups:
    - {name: held, recipients: ["*@held.test"], actions: {clean: {do: quarantine}}}
`, gwVars{"Sink": sink.Addr, "Name": "sink"})
	g.signal(syscall.SIGHUP)
	waitFor(t, "the reload", 10*time.Second, func() bool { return g.stat(`config_reloads_total{result="success"}`) == 1 })
	if _, err := sendMail(g.SMTP, "a@senders.test", []string{"u@held.test"}, numbered("held", 2), nil, nil); err != nil {
		t.Fatal(err)
	}
	code, listing := g.cli("quarantine", "-json", "list", "--since", "1h", "--category", "policy")
	var entries []store.Entry
	if code != 0 || json.Unmarshal([]byte(listing), &entries) != nil || len(entries) != 1 || entries[0].Group != "held" {
		t.Fatalf("quarantine after the reload: %d %s", code, listing)
	}
	if code, out := g.cli("quarantine", "release", entries[0].ID, "--to", "helpdesk@example.test"); code != 0 {
		t.Fatalf("release --to: %d %s", code, out)
	}
	msgs := sink.WaitMessages(t, 2, 30*time.Second)
	got := to(msgs, "helpdesk@example.test")
	if len(got) != 1 || got[0].Header.Get("Subject") != "held 2" || len(to(msgs, "u@held.test")) != 0 {
		t.Errorf("released copy: %+v", got)
	}
}
