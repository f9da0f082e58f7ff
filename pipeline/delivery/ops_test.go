package delivery

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatewatch/gatewatch/pipeline"
	"github.com/gatewatch/gatewatch/pipeline/spool"
	"github.com/gatewatch/gatewatch/telemetry"
)

// TestDirDelivery: a dir:// route writes <id>.<first index>.eml with the
// envelope lines and the content, one file per route job.
func TestDirDelivery(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "made", "by", "delivery")
	hop := newFakeHop(t)
	e := newEnv(t, testConfig(
		Route{Name: "box", Match: "*@box.test", To: "dir://" + dir},
		Route{Name: "fake", Match: "*", To: hop.url()},
	))
	content := testContent("dir")
	id := e.spoolMsg(pipeline.Meta{Envelope: pipeline.Envelope{From: testSender,
		Recipients: rcpts("elsewhere@dest.test", "one@box.test", "two@box.test")}}, content)
	e.waitGone(id)

	files := dirFiles(t, dir)
	if len(files) != 1 || files[0] != id+".1.eml" {
		t.Fatalf("files %v, want [%s.1.eml]", files, id)
	}
	b, err := os.ReadFile(filepath.Join(dir, files[0]))
	if err != nil {
		t.Fatal(err)
	}
	want := "Return-Path: <" + testSender + ">\r\nX-Original-To: <one@box.test>\r\nX-Original-To: <two@box.test>\r\n" + string(content)
	if string(b) != want {
		t.Errorf("file content\n got %q\nwant %q", b, want)
	}
	ents, _ := os.ReadDir(dir)
	for _, en := range ents {
		if strings.HasSuffix(en.Name(), ".tmp") {
			t.Errorf("temporary file left: %s", en.Name())
		}
	}
	ev, ok := e.rec.eventFor(telemetry.DeliverySent, id)
	for _, x := range e.rec.events(telemetry.DeliverySent) {
		if x.QueueID == id && x.Route == "box" {
			ev, ok = x, true
		}
	}
	if !ok || ev.Route != "box" || ev.Recipients != 2 || ev.Remote != "" {
		t.Errorf("DeliverySent for the dir route %+v", ev)
	}
	mustContain(t, ev.Text, "Written to ")
	if n := e.st.RouteDelivered.With("box").Load(); n != 1 {
		t.Errorf("RouteDelivered[box] %d", n)
	}
	if n := hop.count(); n != 1 {
		t.Errorf("the smtp route got %d", n)
	}
}

// TestDirDeliveryFailureDefers: an unwritable directory defers (a local
// problem is never a bounce).
func TestDirDeliveryFailureDefers(t *testing.T) {
	base := t.TempDir()
	blocker := filepath.Join(base, "file")
	if err := os.WriteFile(blocker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, testConfig(Route{Name: "box", Match: "*", To: "dir://" + filepath.Join(blocker, "sub")}))
	id := e.send("dirfail", "a@box.test")
	waitFor(t, 5*time.Second, "a deferral", func() bool {
		_, ok := e.rec.eventFor(telemetry.DeliveryDeferred, id)
		return ok
	})
	ev, _ := e.rec.eventFor(telemetry.DeliveryDeferred, id)
	if ev.Code != 451 || ev.Status != "4.3.0" {
		t.Errorf("deferral %+v", ev)
	}
	if n := e.rec.count(telemetry.DeliveryBounced); n != 0 {
		t.Error("a write failure bounced")
	}
	// Fix the directory: the retry delivers.
	if err := os.Remove(blocker); err != nil {
		t.Fatal(err)
	}
	e.waitGone(id)
	if fs := dirFiles(t, filepath.Join(blocker, "sub")); len(fs) != 1 {
		t.Errorf("files %v", fs)
	}
}

// TestReload: a new target for a route takes newly queued mail; the old
// pool retires once idle.
func TestReload(t *testing.T) {
	oldHop, newHop := newFakeHop(t), newFakeHop(t)
	cfg := testConfig(Route{Name: "out", Match: "*", To: oldHop.url()})
	e := newEnv(t, cfg)
	e.waitGone(e.send("before", "a@dest.test"))
	if oldHop.count() != 1 {
		t.Fatal("first message did not reach the old target")
	}
	e.d.mu.Lock()
	var oldPool *pool
	for _, p := range e.d.pools {
		oldPool = p
	}
	e.d.mu.Unlock()
	if oldPool == nil {
		t.Fatal("no pool")
	}

	bad := cfg
	bad.Routes = []Route{{Name: "out", Match: "*", To: "ftp://x"}}
	if err := e.d.Reload(bad); err == nil {
		t.Fatal("Reload accepted an invalid config")
	}
	e.waitGone(e.send("still old", "a@dest.test"))
	if oldHop.count() != 2 {
		t.Fatal("a rejected reload changed the routing")
	}

	next := cfg
	next.Routes = []Route{{Name: "out", Match: "*", To: newHop.url()}}
	if err := e.d.Reload(next); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { oldPool.wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the old pool's workers did not end")
	}
	e.d.mu.Lock()
	for k := range e.d.pools {
		if strings.Contains(k, oldHop.addr) {
			t.Errorf("old pool still registered: %q", k)
		}
	}
	e.d.mu.Unlock()

	e.waitGone(e.send("after", "a@dest.test"))
	if oldHop.count() != 2 || newHop.count() != 1 {
		t.Errorf("old got %d, new got %d; want 2 and 1", oldHop.count(), newHop.count())
	}
	// The old pool closed its kept connection on the way out.
	waitFor(t, 5*time.Second, "the old connection to close", func() bool {
		_, _, logouts := oldHop.counts()
		return logouts >= 1
	})
	if n := e.d.cfg.Load().Routes[0].To; n != newHop.url() {
		t.Errorf("config in force %s", n)
	}
}

// refuseData makes a hop answer 451 at DATA until allowData.
func refuseData(hop *fakeHop) {
	hop.setData(func(int) error { return smtpErr(451, [3]int{4, 3, 0}, "Not yet") })
}

func allowData(hop *fakeHop) { hop.setData(nil) }

// retryOp runs op until it succeeds: an operator action can meet the
// message in the middle of an attempt (ErrBusy, or the spool saying it is
// being delivered), and is then simply tried again.
func retryOp(t *testing.T, what string, op func() error) {
	t.Helper()
	var err error
	waitFor(t, 10*time.Second, what, func() bool {
		err = op()
		return err == nil
	})
}

// TestQueueOps: Hold stops retries until Release; Delete removes; Flush
// retries now.
func TestQueueOps(t *testing.T) {
	t.Run("hold and release", func(t *testing.T) {
		hop := newFakeHop(t)
		refuseData(hop)
		e := newEnv(t, testConfig(Route{Name: "fake", Match: "*", To: hop.url()}))
		id := e.send("hold", "a@dest.test")
		waitFor(t, 5*time.Second, "a first attempt", func() bool { return hop.mailCount() >= 1 })
		retryOp(t, "Hold to succeed", func() error { return e.d.Hold(id) })
		if w := e.where(id); w != spool.Hold {
			t.Fatalf("held message is in %q", w)
		}
		e.d.mu.Lock()
		_, timer := e.d.timers[id]
		e.d.mu.Unlock()
		if timer {
			t.Error("held message still has a retry timer")
		}
		allowData(hop)
		tries := hop.mailCount()
		// Well past the longest backoff (200ms): nothing may happen.
		holdsFor(t, 600*time.Millisecond, "held message untouched", func() bool {
			return hop.mailCount() == tries && e.where(id) == spool.Hold
		})
		if err := e.d.Hold(id); err == nil {
			t.Error("holding a held message succeeded")
		}
		if err := e.d.Release(id); err != nil {
			t.Fatal(err)
		}
		e.waitGone(id)
		if n := hop.count(); n != 1 {
			t.Errorf("next hop got %d after release", n)
		}
		var actions []string
		for _, ev := range e.rec.events(telemetry.QueueAdmin) {
			if ev.Err == "" {
				actions = append(actions, ev.Text)
			}
		}
		if strings.Join(actions, ",") != "hold,release" {
			t.Errorf("audited actions %v", actions)
		}
	})
	t.Run("delete", func(t *testing.T) {
		hop := newFakeHop(t)
		refuseData(hop)
		e := newEnv(t, testConfig(Route{Name: "fake", Match: "*", To: hop.url()}))
		id := e.send("delete", "a@dest.test")
		waitFor(t, 5*time.Second, "a first attempt", func() bool { return hop.mailCount() >= 1 })
		retryOp(t, "Delete to succeed", func() error { return e.d.Delete(id) })
		if w := e.where(id); w != "" {
			t.Fatalf("deleted message is in %q", w)
		}
		allowData(hop)
		tries := hop.mailCount()
		holdsFor(t, 600*time.Millisecond, "deleted message not retried", func() bool { return hop.mailCount() == tries })
		if hop.count() != 0 {
			t.Error("deleted message delivered")
		}
		if err := e.d.Delete(id); !errors.Is(err, spool.ErrNotFound) {
			t.Errorf("second Delete: %v, want ErrNotFound", err)
		}
		if n := e.st.DSNGenerated.Load(); n != 0 {
			t.Errorf("Delete generated %d DSNs", n)
		}
		ev, ok := e.rec.eventFor(telemetry.MessageCompleted, id)
		if !ok || ev.Action != "delete" || ev.Outcome != telemetry.OutcomeDeleted || ev.Recipient != "a@dest.test" {
			t.Errorf("message.completed of the deleted message: %+v (found %v)", ev, ok)
		}
		if n := e.rec.count(telemetry.MessageCompleted); n != 1 {
			t.Errorf("%d message.completed events, want 1", n)
		}
	})
	t.Run("busy", func(t *testing.T) {
		hop := newFakeHop(t)
		release := make(chan struct{})
		hop.setData(func(int) error { <-release; return nil })
		e := newEnv(t, testConfig(Route{Name: "fake", Match: "*", To: hop.url()}))
		id := e.send("busy", "a@dest.test")
		waitFor(t, 5*time.Second, "the transaction to be under way", func() bool { return hop.mailCount() == 1 })
		if err := e.d.Hold(id); !errors.Is(err, ErrBusy) {
			t.Errorf("Hold during delivery: %v, want ErrBusy", err)
		}
		if err := e.d.Delete(id); !errors.Is(err, ErrBusy) {
			t.Errorf("Delete during delivery: %v, want ErrBusy", err)
		}
		close(release)
		e.waitGone(id)
	})
	t.Run("flush", func(t *testing.T) {
		hop := newFakeHop(t)
		refuseData(hop)
		cfg := testConfig(Route{Name: "fake", Match: "*", To: hop.url()})
		cfg.Retry.Initial, cfg.Retry.Max = time.Hour, time.Hour
		e := newEnv(t, cfg)
		id1 := e.send("flush1", "a@dest.test")
		id2 := e.send("flush2", "a@dest.test")
		waitFor(t, 5*time.Second, "both deferred", func() bool {
			_, ok1 := e.deferredState(id1)
			_, ok2 := e.deferredState(id2)
			return ok1 && ok2
		})
		e.waitIdle(id1)
		e.waitIdle(id2)
		allowData(hop)
		if n, err := e.d.Flush("NOSUCHID00000000"); err != nil || n != 0 {
			t.Errorf("Flush of an unknown ID: %d, %v", n, err)
		}
		var n int
		retryOp(t, "Flush of id1 to find its timer", func() error {
			var err error
			if n, err = e.d.Flush(id1); err == nil && n != 1 {
				err = errors.New("no timer yet")
			}
			return err
		})
		e.waitGone(id1)
		if w := e.where(id2); w != spool.Deferred {
			t.Errorf("the other message is in %q, want still deferred", w)
		}
		n, err := e.d.Flush("")
		if err != nil || n != 1 {
			t.Errorf("Flush all: %d, %v; want 1", n, err)
		}
		e.waitGone(id2)
		if hop.count() != 2 {
			t.Errorf("next hop got %d", hop.count())
		}
	})
}

// TestDeliverDirContentIsExact also covers binary-safe copying: CR, LF,
// NUL and 8-bit bytes land unchanged.
func TestDeliverDirContentIsExact(t *testing.T) {
	dir := t.TempDir()
	e := newEnv(t, testConfig(Route{Name: "box", Match: "*", To: "dir://" + dir}))
	content := []byte("Subject: x\r\n\r\n\x00\xff\n.\r\n..\r\nlast line without newline")
	id := e.spoolMsg(pipeline.Meta{EightBit: true, Envelope: pipeline.Envelope{From: "", Recipients: rcpts("a@box.test")}}, content)
	e.waitGone(id)
	_, raw := waitDirFile(t, dir)
	rp, to, body := splitDirFile(t, raw)
	if rp != "<>" || len(to) != 1 || to[0] != "<a@box.test>" {
		t.Errorf("envelope lines %q %v", rp, to)
	}
	if !bytes.Equal(body, content) {
		t.Errorf("content\n got %q\nwant %q", body, content)
	}
}
