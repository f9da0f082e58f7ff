package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-message/textproto"

	"github.com/gatewatch/gatewatch/internal/peers"
	"github.com/gatewatch/gatewatch/pipeline"
	"github.com/gatewatch/gatewatch/pipeline/antispam"
	"github.com/gatewatch/gatewatch/pipeline/antispam/bayes"
	"github.com/gatewatch/gatewatch/pipeline/resolver"
	"github.com/gatewatch/gatewatch/telemetry"
)

// corpusMessages returns up to n messages of each kind from the
// SpamAssassin corpus when it is on disk (make eval-spam fetches it into
// var/corpus, or GATEWATCH_CORPUS_DIR), else nil.
func corpusMessages(n int) [][]byte {
	dir := os.Getenv("GATEWATCH_CORPUS_DIR")
	if dir == "" {
		root, _ := filepath.Abs("../..")
		dir = filepath.Join(root, "var", "corpus")
	}
	var out [][]byte
	for _, set := range []string{"easy-ham-1", "spam-2"} {
		files, _ := filepath.Glob(filepath.Join(dir, "package", "data", set, "*.txt"))
		sort.Strings(files)
		for _, f := range files[:min(n, len(files))] {
			b, err := os.ReadFile(f)
			if err != nil {
				continue
			}
			if bytes.HasPrefix(b, []byte("From ")) { // the mbox separator line
				if i := bytes.IndexByte(b, '\n'); i >= 0 {
					b = b[i+1:]
				}
			}
			out = append(out, b)
		}
	}
	return out
}

// generatedMessages is the stand-in when the corpus is absent: plain and
// HTML messages with links, some to a listed domain.
func generatedMessages(n int) [][]byte {
	out := make([][]byte, 0, n)
	for i := 0; i < n; i++ {
		link := fmt.Sprintf("https://shop%d.example.net/item?id=%d", i%17, i)
		if i%5 == 0 {
			link = "http://www.spammy-domain.test/offer"
		}
		body := strings.Repeat(fmt.Sprintf("Line %d of a message about the order, see %s for details. ", i, link), 20)
		out = append(out, []byte(fmt.Sprintf("From: Sender %d <s%d@good.test>\r\nTo: user@example.test\r\nSubject: order %d\r\n"+
			"Date: Sun, 22 Nov 2026 10:00:00 +0000\r\nMessage-ID: <%d@good.test>\r\nMIME-Version: 1.0\r\n"+
			"Content-Type: text/html; charset=utf-8\r\n\r\n<html><body><p>%s</p><a href=\"%s\">click</a></body></html>\r\n", i, i, i, i, body, link)))
	}
	return out
}

// BenchmarkAntispamStage scans the same messages through the stage on one
// core (run it with -cpu 1), every check on (the classifier too), every DNS
// check answered by a local unbound: with the resolver's cache warm, and
// with no cache (every lookup goes to unbound). Then rspamd (one worker)
// and spamd (one child) classify the same messages. It reports messages
// per second for each and the ratios.
func BenchmarkAntispamStage(b *testing.B) {
	msgs := corpusMessages(250)
	source := "corpus"
	if len(msgs) == 0 {
		msgs, source = generatedMessages(500), "generated"
	}
	dns := peers.StartUnbound(b, peers.SpamTestZones()...)
	rates := map[string]float64{}
	// The classifier runs too, with a model of the same messages (what it
	// learned does not change what classifying costs).
	model := bayes.NewModel()
	for i, raw := range msgs {
		model.Learn(bayes.Tokenize(raw), i >= len(msgs)/2)
	}
	modelPath := filepath.Join(b.TempDir(), "model")
	if err := model.Save(modelPath); err != nil {
		b.Fatal(err)
	}
	for _, cached := range []bool{true, false} {
		name := "cache=on"
		if !cached {
			name = "cache=off"
		}
		b.Run(name, func(b *testing.B) {
			st := telemetry.NewStats()
			rcfg := resolver.Config{Servers: []string{dns.Addr}, Timeout: 2 * time.Second, Concurrency: 64, MaxTTL: time.Hour, NegativeTTL: time.Minute}
			if cached {
				rcfg.CacheSize = 100000
			}
			res, err := resolver.New(rcfg, st)
			if err != nil {
				b.Fatal(err)
			}
			stage, err := antispam.New(antispam.Config{Enabled: true, Spam: 6, Probable: 3.5, MaxRcpts: 50, DownAfter: 5, FuzzyThreshold: 0.6, Model: modelPath,
				DNSLists: []antispam.DNSList{{Name: "zen", Zone: "zen.example", Kind: "ip", Score: 3, Received: true},
					{Name: "multi", Zone: "uribl.example", Kind: "domain", Score: 4}}},
				antispam.Deps{Resolver: res, Emit: telemetry.NewBus(st), Stats: st, Hostname: "gw.bench.invalid", Protected: []string{"example.test"}})
			if err != nil {
				b.Fatal(err)
			}
			prepared := make([]*pipeline.Message, len(msgs))
			for i, raw := range msgs {
				prepared[i] = benchMessage(raw, i)
			}
			if cached { // warm the cache: the figure is for a steady state
				for _, m := range prepared {
					_, _ = stage.Scan(context.Background(), m)
				}
			}
			b.ResetTimer()
			start := time.Now()
			for i := 0; i < b.N; i++ {
				for _, m := range prepared {
					if _, err := stage.Scan(context.Background(), m); err != nil {
						b.Fatal(err)
					}
				}
			}
			elapsed := time.Since(start)
			b.StopTimer()
			rate := float64(b.N*len(prepared)) / elapsed.Seconds()
			b.ReportMetric(rate, "msg/s")
			fmt.Fprintf(os.Stderr, "antispam stage, %s, %d %s messages: %.0f msg/s\n", name, len(prepared), source, rate)
			rates[name] = rate
		})
	}
	// The peers on the same messages, one scanning process each, fed by
	// four concurrent clients so that the process is never idle.
	refuseAll := peers.StartUnbound(b)
	rs := peers.StartRspamd(b, peers.RspamdOptions{DNS: refuseAll.Addr, Workers: 1, DBDir: rspamdCache()})
	b.Run("rspamd", func(b *testing.B) {
		rates["rspamd"] = peerRate(b, msgs, func(m []byte) error {
			_, err := rs.Check(context.Background(), m)
			return err
		})
	})
	rs.Stop(b)
	sa := peers.StartSpamd(b, peers.SpamdOptions{DNS: refuseAll.Addr, Children: 1})
	b.Run("spamd", func(b *testing.B) {
		rates["spamd"] = peerRate(b, msgs[:min(len(msgs), 100)], func(m []byte) error {
			_, _, err := sa.Check(b, m)
			return err
		})
	})
	if rates["rspamd"] > 0 && rates["spamd"] > 0 {
		fmt.Fprintf(os.Stderr, "\nper core, %d %s messages: gatewatch %.0f msg/s (cache on), %.0f (cache off); rspamd %.0f; spamd %.1f\n"+
			"gatewatch / rspamd: %.1fx cached, %.1fx uncached; gatewatch / spamd: %.0fx\n\n",
			len(msgs), source, rates["cache=on"], rates["cache=off"], rates["rspamd"], rates["spamd"],
			rates["cache=on"]/rates["rspamd"], rates["cache=off"]/rates["rspamd"], rates["cache=off"]/rates["spamd"])
		b.ReportMetric(rates["cache=off"]/rates["rspamd"], "x_rspamd_uncached")
	}
}

// peerRate sends every message to a peer from four goroutines and returns
// messages per second.
func peerRate(b *testing.B, msgs [][]byte, check func([]byte) error) float64 {
	b.Helper()
	start := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if int(i) >= b.N*len(msgs) {
					return
				}
				if err := check(msgs[int(i)%len(msgs)]); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	rate := float64(b.N*len(msgs)) / time.Since(start).Seconds()
	b.ReportMetric(rate, "msg/s")
	return rate
}

// rspamdCache keeps rspamd's compiled rules between runs under var/, so a
// benchmark does not wait twenty seconds for them each time.
func rspamdCache() string {
	root, _ := filepath.Abs("../..")
	dir := filepath.Join(root, "var", "rspamd-db")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return ""
	}
	return dir
}

// benchMessage wraps a raw message as received from an external client
// (127.0.0.2 or .3, alternately listed), so every check runs.
func benchMessage(raw []byte, i int) *pipeline.Message {
	content := append([]byte("Received: from client ([127.0.0.2])\r\n\tby gw.bench.invalid; Sun, 22 Nov 2026 10:00:00 +0000\r\n"), raw...)
	h, _ := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(content)))
	ip := "127.0.0.2"
	if i%2 == 1 {
		ip = "127.0.0.3"
	}
	return &pipeline.Message{Meta: pipeline.Meta{ID: "0000000000BENCH1", Kind: pipeline.KindMail,
		Envelope: pipeline.Envelope{From: "s@good.test", Recipients: []pipeline.Recipient{{Addr: "user@example.test"}}},
		Client:   pipeline.Client{IP: ip, Helo: "client.good.test"}}, Header: h, Content: bytes.NewReader(content)}
}
