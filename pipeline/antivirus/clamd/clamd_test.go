package clamd

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatewatch/gatewatch/internal/peers"
)

func TestEICARBySignatureKind(t *testing.T) {
	body := eicar()
	tests := []struct {
		file, content, threat string
	}{
		{"body.ndb", "Test.MailGW.EICAR-Body:0:*:" + hex.EncodeToString(body) + "\n", bodyThreat},
		{"md5.hdb", hdbLine("Test.MailGW.EICAR-MD5", body), md5Threat},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			d := peers.StartClamd(t, peers.ClamdOptions{Signatures: map[string]string{tt.file: tt.content}})
			c := newClient(t, "tcp://"+d.Addr, 25<<20)
			got, err := scanBytes(t, c, body)
			if err != nil {
				t.Fatalf("Scan: %v", err)
			}
			if want := (Result{Infected: true, Threat: tt.threat}); got != want {
				t.Fatalf("Scan(EICAR) = %+v, want %+v", got, want)
			}
		})
	}
}

func TestBodySignatureInsideLargerObject(t *testing.T) {
	d := startClamd(t, "")
	c := newClient(t, "tcp://"+d.Addr, 25<<20)
	// Spanning several chunks checks that the framing keeps the data intact
	// across chunk boundaries: EICAR straddles one.
	data := bytes.Repeat([]byte("clean text line\n"), chunkSize/16*3)
	at := chunkSize - len(eicar())/2
	data = append(data[:at:at], append(eicar(), data[at:]...)...)
	got, err := scanBytes(t, c, data)
	if err != nil {
		t.Fatalf("Scan: %v", err)
	}
	if want := (Result{Infected: true, Threat: bodyThreat}); got != want {
		t.Fatalf("Scan = %+v, want %+v", got, want)
	}
}

func TestCleanObjects(t *testing.T) {
	d := startClamd(t, "")
	c := newClient(t, "tcp://"+d.Addr, 25<<20)
	for _, size := range []int{0, 1, 5 << 10, chunkSize, chunkSize + 1, 3 << 20} {
		got, err := scanBytes(t, c, randomBytes(t, size))
		if err != nil {
			t.Fatalf("Scan(%d random bytes): %v", size, err)
		}
		if got != (Result{}) {
			t.Errorf("Scan(%d random bytes) = %+v, want clean", size, got)
		}
	}
}

func TestTransports(t *testing.T) {
	d := startClamd(t, "")
	for _, addr := range []string{"tcp://" + d.Addr, "unix:" + d.Socket} {
		t.Run(addr, func(t *testing.T) {
			c := newClient(t, addr, 25<<20)
			if err := c.Ping(context.Background()); err != nil {
				t.Fatalf("Ping: %v", err)
			}
			got, err := scanBytes(t, c, eicar())
			if err != nil || !got.Infected {
				t.Fatalf("Scan(EICAR) = %+v, %v; want infected", got, err)
			}
			if got, err := scanBytes(t, c, []byte("hello")); err != nil || got.Infected {
				t.Fatalf("Scan(clean) = %+v, %v; want clean", got, err)
			}
		})
	}
}

func TestVersion(t *testing.T) {
	d := startClamd(t, "")
	c := newClient(t, "unix:"+d.Socket, 25<<20)
	v, err := c.Version(context.Background())
	if err != nil {
		t.Fatalf("Version: %v", err)
	}
	if !regexp.MustCompile(`^\d+\.\d+\.\d+`).MatchString(v.Engine) {
		t.Errorf("Engine = %q, want a dotted version", v.Engine)
	}
	// Only unofficial signatures are loaded, so clamd reports no database.
	if v.Signatures != 0 || !v.DBTime.IsZero() {
		t.Errorf("Version = %+v, want no database version or time", v)
	}
}

func TestTooLarge(t *testing.T) {
	const limit = 1 << 20
	d := startClamd(t, "1M")

	t.Run("refused before contacting clamd", func(t *testing.T) {
		// Nothing listens on a just-freed port, so a dial would fail with a
		// different error; the reader fails the test if touched.
		c := newClient(t, "tcp://"+peers.FreeAddr(t), limit)
		_, err := c.Scan(context.Background(), failReader{t}, limit+1)
		if !errors.Is(err, ErrTooLarge) {
			t.Fatalf("Scan(limit+1) error = %v, want ErrTooLarge", err)
		}
	})
	t.Run("exactly the limit is scanned", func(t *testing.T) {
		c := newClient(t, "tcp://"+d.Addr, limit)
		data := append(randomBytes(t, limit-len(eicar())), eicar()...)
		got, err := scanBytes(t, c, data)
		if err != nil || !got.Infected {
			t.Fatalf("Scan(limit bytes ending in EICAR) = %+v, %v; want infected", got, err)
		}
	})
	t.Run("limit set above clamd's is an error, not clean", func(t *testing.T) {
		c := newClient(t, "tcp://"+d.Addr, 8*limit)
		got, err := scanBytes(t, c, randomBytes(t, 4*limit))
		if err == nil {
			t.Fatalf("Scan(4 MB) over clamd's 1M limit = %+v, want an error", got)
		}
		t.Logf("clamd's limit reported as: %v", err)
	})
}

// failReader stands for an object that must not be read.
type failReader struct{ t *testing.T }

func (r failReader) Read([]byte) (int, error) {
	r.t.Error("object was read")
	return 0, io.EOF
}

func TestSizeMismatch(t *testing.T) {
	d := startClamd(t, "")
	c := newClient(t, "tcp://"+d.Addr, 25<<20)
	data := randomBytes(t, 5000)
	if _, err := c.Scan(context.Background(), bytes.NewReader(data), 5001); err == nil || !strings.Contains(err.Error(), "before its stated size") {
		t.Errorf("Scan with a short reader: error = %v, want a short-object error", err)
	}
	if _, err := c.Scan(context.Background(), bytes.NewReader(data), 4999); err == nil || !strings.Contains(err.Error(), "longer than its stated size") {
		t.Errorf("Scan with a long reader: error = %v, want a long-object error", err)
	}
}

func TestOutageAndRestart(t *testing.T) {
	d := startClamd(t, "")
	const timeout = 2 * time.Second
	c, err := New(Config{Address: "tcp://" + d.Addr, Timeout: timeout, MaxStream: 25 << 20, Connections: 2})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := scanBytes(t, c, eicar()); err != nil || !got.Infected {
		t.Fatalf("Scan before the outage = %+v, %v; want infected", got, err)
	}

	d.Stop(t)
	start := time.Now()
	got, err := scanBytes(t, c, eicar())
	if err == nil {
		t.Fatalf("Scan with clamd stopped = %+v, want an error", got)
	}
	if elapsed := time.Since(start); elapsed > timeout {
		t.Errorf("Scan with clamd stopped took %v, more than the %v timeout", elapsed, timeout)
	}
	if err := c.Ping(context.Background()); err == nil {
		t.Error("Ping with clamd stopped succeeded")
	}

	d.Restart(t)
	for i := 0; i < 3; i++ { // more than Connections, so no stale state survives
		if got, err := scanBytes(t, c, eicar()); err != nil || !got.Infected {
			t.Fatalf("Scan %d after the restart = %+v, %v; want infected", i, got, err)
		}
	}
}

// TestSilentServer covers a clamd that accepts but never answers (hung, or
// not clamd at all): the scan must fail at Timeout, and sooner when the
// caller cancels.
func TestSilentServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, _ = io.Copy(io.Discard, conn) // read everything, answer nothing
				conn.Close()
			}()
		}
	}()

	const timeout = 300 * time.Millisecond
	c, err := New(Config{Address: "tcp://" + ln.Addr().String(), Timeout: timeout, MaxStream: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = scanBytes(t, c, eicar())
	elapsed := time.Since(start)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Scan against a silent server: error = %v, want one wrapping context.DeadlineExceeded", err)
	}
	if elapsed < timeout || elapsed > timeout+2*time.Second {
		t.Errorf("Scan against a silent server took %v, want about %v", elapsed, timeout)
	}

	ctx, cancel := context.WithCancel(context.Background())
	c2, err := New(Config{Address: "tcp://" + ln.Addr().String(), Timeout: time.Minute, MaxStream: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- c2.Ping(ctx) }()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Ping after cancel: error = %v, want one wrapping context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Ping did not return within 5s of its context being cancelled")
	}
}

func TestReloadAddsSignature(t *testing.T) {
	d := startClamd(t, "")
	c := newClient(t, "unix:"+d.Socket, 25<<20)
	payload := randomBytes(t, 1000)
	if got, err := scanBytes(t, c, payload); err != nil || got.Infected {
		t.Fatalf("Scan(payload) before its signature = %+v, %v; want clean", got, err)
	}
	sig := hdbLine("Test.MailGW.Fresh", payload)
	if err := os.WriteFile(filepath.Join(d.DBDir, "fresh.hdb"), []byte(sig), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := c.Reload(context.Background()); err != nil {
		t.Fatalf("Reload: %v", err)
	}
	// clamd reloads in the background and keeps scanning with the old
	// database meanwhile, so the new signature shows up after a while.
	deadline := time.Now().Add(30 * time.Second)
	for {
		got, err := scanBytes(t, c, payload)
		if err == nil && got.Infected {
			if got.Threat != "Test.MailGW.Fresh.UNOFFICIAL" {
				t.Fatalf("Scan(payload) after reload = %+v, want Test.MailGW.Fresh.UNOFFICIAL", got)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("payload still not detected 30s after Reload: last result %+v, %v", got, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestConcurrentScans(t *testing.T) {
	d := startClamd(t, "")
	c := newClient(t, "tcp://"+d.Addr, 25<<20)
	clean := randomBytes(t, 5<<10)
	infected := append(append([]byte(nil), clean...), eicar()...)
	const workers, perWorker = 20, 10
	errs := make(chan error, workers*perWorker)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < perWorker; i++ {
				data, want := clean, Result{}
				if (w+i)%2 == 0 {
					data, want = infected, Result{Infected: true, Threat: bodyThreat}
				}
				got, err := c.Scan(context.Background(), bytes.NewReader(data), int64(len(data)))
				switch {
				case err != nil:
					errs <- err
				case got != want:
					errs <- errors.New("got " + got.Threat + ", want " + want.Threat)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func BenchmarkScan5KBClean(b *testing.B) {
	d := startClamd(b, "")
	for _, addr := range []string{"tcp://" + d.Addr, "unix:" + d.Socket} {
		b.Run(strings.SplitN(addr, ":", 2)[0], func(b *testing.B) {
			c := newClient(b, addr, 25<<20)
			data := randomBytes(b, 5<<10)
			for b.Loop() {
				got, err := c.Scan(context.Background(), bytes.NewReader(data), int64(len(data)))
				if err != nil || got.Infected {
					b.Fatalf("Scan = %+v, %v", got, err)
				}
			}
		})
	}
}

func BenchmarkScan5KBCleanParallel(b *testing.B) {
	d := startClamd(b, "")
	c := newClient(b, "tcp://"+d.Addr, 25<<20)
	data := randomBytes(b, 5<<10)
	b.SetParallelism(4)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			got, err := c.Scan(context.Background(), bytes.NewReader(data), int64(len(data)))
			if err != nil || got.Infected {
				b.Errorf("Scan = %+v, %v", got, err)
				return
			}
		}
	})
}
