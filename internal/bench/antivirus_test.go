package bench

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatewatch/gatewatch/internal/peers"
	"github.com/gatewatch/gatewatch/pipeline"
	"github.com/gatewatch/gatewatch/pipeline/antivirus"
	"github.com/gatewatch/gatewatch/pipeline/antivirus/clamd"
	"github.com/gatewatch/gatewatch/pipeline/contentfilter"
	"github.com/gatewatch/gatewatch/telemetry"
)

// The test file, split so that scanners on developer machines leave this
// source alone.
const benchEICAR = `X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR` + `-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*`

// avSeed makes the generated messages the same in every run.
const avSeed = 20261122

// avPayload is the "malware" that only a hash signature knows: 4 KiB of
// seeded random bytes, and its .hdb line (the same for builtin and clamd).
func avPayload() (payload []byte, hdb string) {
	payload = make([]byte, 4096)
	_, _ = rand.NewChaCha8([32]byte{'p', 'a', 'y', 'l', 'o', 'a', 'd'}).Read(payload)
	sum := md5.Sum(payload)
	return payload, fmt.Sprintf("%s:%d:Test.Bench.Payload\n", hex.EncodeToString(sum[:]), len(payload))
}

// avSignatures writes the builtin scanner's signature directory and
// returns it with clamd's signature files for the same threats.
func avSignatures(b *testing.B) (dir string, forClamd map[string]string) {
	b.Helper()
	_, hdb := avPayload()
	dir = b.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "gen.hdb"), []byte(hdb), 0o644); err != nil {
		b.Fatal(err)
	}
	return dir, map[string]string{
		"test.ndb": "Test.Bench.EICAR:0:*:" + hex.EncodeToString([]byte(benchEICAR)) + "\n",
		"gen.hdb":  hdb,
	}
}

// avConfig is a valid stage configuration.
func avConfig(preset, sigDir, clamdAddr string, maxStream int64, scanners ...string) antivirus.Config {
	return antivirus.Config{Enabled: true, Scanners: scanners, Signatures: sigDir, Preset: preset,
		Clamd:     antivirus.ClamdConfig{Address: "tcp://" + clamdAddr, Timeout: 5 * time.Minute, MaxStream: maxStream, Connections: 1},
		Databases: antivirus.DBConfig{OutdatedAfter: 24 * time.Hour, ObsoleteAfter: 120 * time.Hour, CheckInterval: time.Minute}}
}

// avPart is one MIME part: a body when name is empty, else a base64
// attachment.
type avPart struct {
	ctype, name string
	data        []byte
}

// avMessage builds a message with CRLF line ends: a single-part message
// for one body, multipart/mixed otherwise.
func avMessage(i int, subject string, parts []avPart, sizeHint int) []byte {
	var b bytes.Buffer
	b.Grow(sizeHint + 4096)
	fmt.Fprintf(&b, "From: Sender %d <s%d@good.test>\r\nTo: user@example.test\r\nSubject: %s\r\n"+
		"Date: Sun, 22 Nov 2026 10:00:00 +0000\r\nMessage-ID: <av%d@good.test>\r\nMIME-Version: 1.0\r\n", i, i, subject, i)
	if len(parts) == 1 && parts[0].name == "" {
		avWritePart(&b, parts[0])
		return b.Bytes()
	}
	boundary := fmt.Sprintf("=_gw_bench_%d", i) // "=_" never occurs in base64 or the generated text
	fmt.Fprintf(&b, "Content-Type: multipart/mixed; boundary=\"%s\"\r\n\r\nThis is a multi-part message in MIME format.\r\n", boundary)
	for _, p := range parts {
		b.WriteString("--" + boundary + "\r\n")
		avWritePart(&b, p)
	}
	b.WriteString("--" + boundary + "--\r\n")
	return b.Bytes()
}

// avWritePart writes a part's header, the blank line and its content.
func avWritePart(b *bytes.Buffer, p avPart) {
	if p.name == "" {
		fmt.Fprintf(b, "Content-Type: %s; charset=utf-8\r\nContent-Transfer-Encoding: 7bit\r\n\r\n", p.ctype)
		b.Write(p.data)
		return
	}
	fmt.Fprintf(b, "Content-Type: %s; name=\"%s\"\r\nContent-Disposition: attachment; filename=\"%s\"\r\n"+
		"Content-Transfer-Encoding: base64\r\n\r\n", p.ctype, p.name, p.name)
	line := make([]byte, 76)
	for data := p.data; len(data) > 0; {
		n := min(len(data), 57) // 57 bytes make one 76-character line
		base64.StdEncoding.Encode(line, data[:n])
		b.Write(line[:base64.StdEncoding.EncodedLen(n)])
		b.WriteString("\r\n")
		data = data[n:]
	}
}

// avBase64Len is what avWritePart writes for n bytes of attachment data.
func avBase64Len(n int) int {
	l := n / 57 * 78
	if n%57 != 0 {
		l += base64.StdEncoding.EncodedLen(n%57) + 2
	}
	return l
}

var avWords = strings.Fields(`the order invoice shipment account payment delivery meeting report quarter
	please find attached details regarding our last conversation customer service support team schedule
	project review budget estimate contract renewal warehouse stock supplier price list update thanks regards
	tomorrow monday friday morning afternoon office remote call agenda minutes draft final version`)

// avText is about size bytes of words in lines of at most 72 characters.
func avText(r *rand.Rand, size int) []byte {
	var b bytes.Buffer
	b.Grow(size + 80)
	line := 0
	for b.Len() < size {
		w := avWords[r.IntN(len(avWords))]
		switch {
		case line+1+len(w) > 72:
			b.WriteString("\r\n")
			line = 0
		case line > 0:
			b.WriteByte(' ')
			line++
		}
		b.WriteString(w)
		line += len(w)
	}
	b.WriteString("\r\n")
	return b.Bytes()
}

func avRandom(c *rand.ChaCha8, n int) []byte {
	p := make([]byte, n)
	_, _ = c.Read(p)
	return p
}

type avFile struct {
	name string
	data []byte
}

func avZip(b testing.TB, files ...avFile) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range files {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: f.name, Method: zip.Deflate, Modified: time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)})
		if err == nil {
			_, err = w.Write(f.data)
		}
		if err != nil {
			b.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}

func avTarGz(b testing.TB, files ...avFile) []byte {
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, f := range files {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: 0o644, Size: int64(len(f.data)), ModTime: time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)}); err != nil {
			b.Fatal(err)
		}
		if _, err := tw.Write(f.data); err != nil {
			b.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		b.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}

// avMix generates n messages, always the same ones: half plain text or
// HTML (3–8 KB), a quarter with a binary attachment (50–200 KB), 15 % with
// a zip of three members (~100 KB), 10 % with that zip inside a tar.gz.
// Every fiftieth message from the 8th carries EICAR as an attachment, and
// every fiftieth from the 33rd the hash-listed payload inside a zip.
// infected[i] says whether message i carries either.
func avMix(b testing.TB, n int) (msgs [][]byte, infected []bool) {
	r := rand.New(rand.NewPCG(avSeed, avSeed))
	bytesSrc := rand.NewChaCha8([32]byte{'b', 'e', 'n', 'c', 'h'})
	payload, _ := avPayload()
	kinds := make([]string, n)
	for i := range kinds {
		switch {
		case i < n/2:
			kinds[i] = "plain"
		case i < n*3/4:
			kinds[i] = "attachment"
		case i < n*90/100:
			kinds[i] = "zip"
		default:
			kinds[i] = "tgz"
		}
	}
	r.Shuffle(n, func(i, j int) { kinds[i], kinds[j] = kinds[j], kinds[i] })
	threeMembers := func() []byte {
		text := avText(r, 10<<10+r.IntN(20<<10))
		first := 30<<10 + r.IntN(15<<10)
		return avZip(b, avFile{"notes.txt", text}, avFile{"data.bin", avRandom(bytesSrc, first)},
			avFile{"image.dat", avRandom(bytesSrc, 100<<10-len(text)-first)})
	}
	for i, kind := range kinds {
		body := avPart{ctype: "text/plain", data: avText(r, 3<<10+r.IntN(5<<10))}
		if i%2 == 1 {
			body.ctype = "text/html"
			body.data = append(append([]byte("<html><body>\r\n<p>"), body.data...), "</p>\r\n</body></html>\r\n"...)
		}
		parts := []avPart{body}
		switch kind {
		case "attachment":
			parts = append(parts, avPart{"application/octet-stream", "report-" + strconv.Itoa(i) + ".bin", avRandom(bytesSrc, 50<<10+r.IntN(150<<10))})
		case "zip":
			parts = append(parts, avPart{"application/zip", "archive.zip", threeMembers()})
		case "tgz":
			tgz := avTarGz(b, avFile{"bundle/readme.txt", avText(r, 2<<10)}, avFile{"bundle/archive.zip", threeMembers()})
			parts = append(parts, avPart{"application/gzip", "bundle.tar.gz", tgz})
		}
		bad := true
		switch i % 50 {
		case 7:
			parts = append(parts, avPart{"application/octet-stream", "eicar.com", []byte(benchEICAR)})
		case 32:
			parts = append(parts, avPart{"application/zip", "tools.zip", avZip(b, avFile{"readme.txt", avText(r, 1<<10)}, avFile{"tool.bin", payload})})
		default:
			bad = false
		}
		msgs = append(msgs, avMessage(i, fmt.Sprintf("%s message %d", kind, i), parts, 0))
		infected = append(infected, bad)
	}
	return msgs, infected
}

// BenchmarkAntivirusStage scans a fixed mix of plain and attachment-bearing
// messages through the anti-virus stage on one core (run it with -cpu 1:
// clamd, a separate process, still has a core of its own), with the
// builtin scanner, with contentfilter before it as the gateway runs them,
// with clamd, and with both. The baseline, run first in the same
// invocation, is clamd scanning each whole message as one INSTREAM (what
// clamav-milter does: clamd takes MIME and archives apart itself), one
// message at a time, then from four clients at once (clamd's best case).
// Every pass must find exactly the infected messages.
func BenchmarkAntivirusStage(b *testing.B) {
	const n = 200
	raws, infected := avMix(b, n)
	nInfected := 0
	prepared := make([]*pipeline.Message, n)
	contents := make([][]byte, n) // what the stage reads: benchMessage adds a Received line
	total := 0
	for i, raw := range raws {
		if infected[i] {
			nInfected++
		}
		prepared[i] = benchMessage(raw, i)
		contents[i] = make([]byte, prepared[i].Content.Size())
		if _, err := prepared[i].Reader().ReadAt(contents[i], 0); err != nil {
			b.Fatal(err)
		}
		total += len(contents[i])
	}
	sigDir, clamdSigs := avSignatures(b)
	cd := peers.StartClamd(b, peers.ClamdOptions{Signatures: clamdSigs})
	const maxStream = 25 << 20 // clamd's default StreamMaxLength, which StartClamd keeps
	rates := map[string]float64{}
	what := fmt.Sprintf("%d generated messages (%d infected, %.1f MB)", n, nInfected, float64(total)/1e6)

	wholeClient := func(b *testing.B, conns int) *clamd.Client {
		cl, err := clamd.New(clamd.Config{Address: "tcp://" + cd.Addr, Timeout: time.Minute, MaxStream: maxStream, Connections: conns})
		if err != nil {
			b.Fatal(err)
		}
		return cl
	}
	b.Run("clamd-whole-message", func(b *testing.B) {
		cl := wholeClient(b, 1)
		b.ResetTimer()
		start := time.Now()
		for range b.N {
			found := 0
			for i, c := range contents {
				res, err := cl.Scan(context.Background(), bytes.NewReader(c), int64(len(c)))
				if err != nil {
					b.Fatal(err)
				}
				if res.Infected != infected[i] {
					b.Fatalf("clamd, whole message %d: infected %v (%s), want %v", i, res.Infected, res.Threat, infected[i])
				}
				if res.Infected {
					found++
				}
			}
			if found != nInfected {
				b.Fatalf("clamd found %d infected messages, want %d", found, nInfected)
			}
		}
		elapsed := time.Since(start)
		b.StopTimer()
		rate := float64(b.N*n) / elapsed.Seconds()
		b.ReportMetric(rate, "msg/s")
		fmt.Fprintf(os.Stderr, "antivirus baseline, clamd-whole-message, %s: %.0f msg/s\n", what, rate)
		rates["clamd-whole-message"] = rate
	})
	b.Run("clamd-whole-message-4clients", func(b *testing.B) {
		cl := wholeClient(b, 4)
		var found atomic.Int64
		rate := peerRate(b, contents, func(c []byte) error {
			res, err := cl.Scan(context.Background(), bytes.NewReader(c), int64(len(c)))
			if res.Infected {
				found.Add(1)
			}
			return err
		})
		if int(found.Load()) != b.N*nInfected {
			b.Fatalf("clamd from 4 clients found %d infected messages in %d passes, want %d each", found.Load(), b.N, nInfected)
		}
		fmt.Fprintf(os.Stderr, "antivirus baseline, clamd-whole-message-4clients, %s: %.0f msg/s\n", what, rate)
		rates["clamd-whole-message-4clients"] = rate
	})

	type scanFunc func(context.Context, *pipeline.Message) (pipeline.Verdict, error)
	variants := []struct {
		name     string
		scanners []string
		chain    bool // contentfilter first
	}{
		{"builtin", []string{"builtin"}, false},
		{"gateway-chain-builtin", []string{"builtin"}, true},
		{"clamd", []string{"clamd"}, false},
		{"builtin+clamd", []string{"builtin", "clamd"}, false},
	}
	for _, v := range variants {
		b.Run(v.name, func(b *testing.B) {
			st := telemetry.NewStats()
			emit := telemetry.NewBus(st)
			cfg := avConfig("recommended", sigDir, cd.Addr, maxStream, v.scanners...)
			av, err := antivirus.New(cfg, emit, st)
			if err != nil {
				b.Fatal(err)
			}
			scan := scanFunc(av.Scan)
			if v.chain {
				lim, err := cfg.Effective()
				if err != nil {
					b.Fatal(err)
				}
				cf, err := contentfilter.NewStage(contentfilter.Config{Enabled: true, DoubleExtension: true, BidiNames: true}, lim, emit, st)
				if err != nil {
					b.Fatal(err)
				}
				scan = func(ctx context.Context, m *pipeline.Message) (pipeline.Verdict, error) {
					if _, err := cf.Scan(ctx, m); err != nil {
						return pipeline.Verdict{}, err
					}
					return av.Scan(ctx, m)
				}
			}
			b.ResetTimer()
			start := time.Now()
			for range b.N {
				found := 0
				for i, m := range prepared {
					m.Walked = nil // each message is scanned once in the gateway: no walk left from the last pass
					verdict, err := scan(context.Background(), m)
					if err != nil {
						b.Fatal(err)
					}
					isVirus := verdict.Status == pipeline.StatusVirus
					if isVirus != infected[i] || (!isVirus && verdict.Status != pipeline.StatusClean) {
						b.Fatalf("%s, message %d: status %s (%s), infected %v", v.name, i, verdict.Status, verdict.Detail, infected[i])
					}
					if isVirus {
						found++
					}
				}
				if found != nInfected {
					b.Fatalf("%s found %d infected messages, want %d", v.name, found, nInfected)
				}
			}
			elapsed := time.Since(start)
			b.StopTimer()
			rate := float64(b.N*n) / elapsed.Seconds()
			b.ReportMetric(rate, "msg/s")
			// The ratio is reported here, not on the parent: the testing
			// package prints no metrics for a benchmark with sub-benchmarks.
			if base := rates["clamd-whole-message"]; base > 0 {
				b.ReportMetric(rate/base, "x_clamd_whole")
			}
			fmt.Fprintf(os.Stderr, "antivirus stage, %s, %s: %.0f msg/s\n", v.name, what, rate)
			rates[v.name] = rate
		})
	}
	if base := rates["clamd-whole-message"]; base > 0 && rates["builtin"] > 0 && rates["clamd"] > 0 {
		fmt.Fprintf(os.Stderr, "\nper core, %s: builtin %.0f msg/s, gateway chain (contentfilter+builtin) %.0f, clamd stage %.0f, builtin+clamd %.0f; "+
			"clamd whole message %.0f (4 clients %.0f)\nbuiltin / clamd-whole-message: %.1fx; clamd stage / clamd-whole-message: %.2fx\n\n",
			what, rates["builtin"], rates["gateway-chain-builtin"], rates["clamd"], rates["builtin+clamd"],
			base, rates["clamd-whole-message-4clients"], rates["builtin"]/base, rates["clamd"]/base)
		b.ReportMetric(rates["builtin"]/base, "x_clamd_whole") // as the antispam benchmark does; see above
	}
}

// avLargeMessage is a message of 50 MiB give or take a few hundred bytes:
// a text part, ~30 MB of random bytes and a ~7 MB zip of several members,
// both base64.
func avLargeMessage(b testing.TB) []byte {
	const target = 50 << 20
	r := rand.New(rand.NewPCG(avSeed, 50))
	src := rand.NewChaCha8([32]byte{'l', 'a', 'r', 'g', 'e'})
	text := avPart{ctype: "text/plain", data: avText(r, 4<<10)}
	files := []avFile{{"index.txt", avText(r, 64<<10)}}
	for i := range 6 {
		files = append(files, avFile{fmt.Sprintf("photo-%d.jpg", i), avRandom(src, 7<<20/6)})
	}
	zipped := avPart{ctype: "application/zip", name: "photos.zip", data: avZip(b, files...)}
	overhead := len(avMessage(0, "large message", []avPart{text, {"application/octet-stream", "disk.img", nil}, {zipped.ctype, zipped.name, nil}}, 0))
	left := target - overhead - avBase64Len(len(zipped.data))
	big := avPart{ctype: "application/octet-stream", name: "disk.img", data: avRandom(src, left/78*57)}
	return avMessage(0, "large message", []avPart{text, big, zipped}, target)
}

// avMemory is what one measured run cost.
type avMemory struct {
	peak, goal, alloc uint64 // bytes: heap objects over the baseline, peak heap goal, allocated
	elapsed           time.Duration
}

// avMeasure runs fn and samples the heap every 2 ms meanwhile. Whatever
// was allocated before (the message) is in the baseline, not in peak.
func avMeasure(fn func()) avMemory {
	read := func(s []metrics.Sample) (objects, goal uint64) {
		metrics.Read(s)
		return s[0].Value.Uint64(), s[1].Value.Uint64()
	}
	newSamples := func() []metrics.Sample {
		return []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/gc/heap/goal:bytes"}}
	}
	runtime.GC()
	base, _ := read(newSamples())
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	alloc0 := ms.TotalAlloc
	var peak, peakGoal uint64
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		s := newSamples()
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			o, g := read(s)
			peak, peakGoal = max(peak, o), max(peakGoal, g)
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	start := time.Now()
	fn()
	elapsed := time.Since(start)
	close(stop)
	<-done
	o, g := read(newSamples())
	peak, peakGoal = max(peak, o), max(peakGoal, g)
	runtime.ReadMemStats(&ms)
	return avMemory{peak: peak - min(peak, base), goal: peakGoal, alloc: ms.TotalAlloc - alloc0, elapsed: elapsed}
}

// clamdPID finds the clamd that StartClamd ran for c: peers.Clamd does not
// expose its pid, but its --config-file sits beside DBDir.
func clamdPID(b *testing.B, c *peers.Clamd) int {
	b.Helper()
	prefix := "--config-file=" + filepath.Dir(c.DBDir) + string(filepath.Separator)
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		cmdline, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		args := strings.Split(string(cmdline), "\x00")
		if len(args) < 2 || args[0] != peers.ClamdBin {
			continue
		}
		for _, a := range args[1:] {
			if strings.HasPrefix(a, prefix) {
				pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(p)))
				return pid
			}
		}
	}
	b.Fatalf("no clamd process with %s… in /proc", prefix)
	return 0
}

// procStatusKB reads a "Vm…:   N kB" field of /proc/PID/status.
func procStatusKB(b *testing.B, pid int, field string) uint64 {
	b.Helper()
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for line := range strings.Lines(string(status)) {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				b.Fatalf("/proc/%d/status: %s: %v", pid, field, err)
			}
			return kb
		}
	}
	b.Fatalf("/proc/%d/status has no %s", pid, field)
	return 0
}

// BenchmarkAntivirusLargeMessage scans one 50 MiB message with the builtin
// stage (presets maximum, which takes it whole, and recommended, which
// truncates the 30 MB attachment at MaxObject) and reports the heap's
// ceiling during the scan over the heap before it, and the bytes allocated.
// For comparison in the same invocation, clamd scans the same message
// whole by INSTREAM, and its growth of peak RSS (VmHWM) is reported. Run it
// with -benchtime 1x.
func BenchmarkAntivirusLargeMessage(b *testing.B) {
	// The message (raw, then the copy benchMessage makes) is allocated
	// here, before any baseline is read: it is not counted in the peaks,
	// which are what scanning costs on top of holding the message.
	m := benchMessage(avLargeMessage(b), 0)
	size := m.Content.Size()
	runtime.GC()
	sigDir, clamdSigs := avSignatures(b)
	for _, preset := range []string{"maximum", "recommended"} {
		b.Run("builtin-"+preset, func(b *testing.B) {
			st := telemetry.NewStats()
			stage, err := antivirus.New(avConfig(preset, sigDir, "", 0, "builtin"), telemetry.NewBus(st), st)
			if err != nil {
				b.Fatal(err)
			}
			var v pipeline.Verdict
			b.ResetTimer()
			mem := avMeasure(func() {
				for range b.N {
					m.Walked = nil
					if v, err = stage.Scan(context.Background(), m); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.StopTimer()
			if v.Status == pipeline.StatusVirus || v.Status == pipeline.StatusError {
				b.Fatalf("large message: status %s (%s)", v.Status, v.Detail)
			}
			secs := mem.elapsed.Seconds() / float64(b.N)
			b.ReportMetric(float64(mem.peak)/(1<<20), "peak_heap_MB")
			b.ReportMetric(float64(mem.alloc)/float64(b.N)/(1<<20), "alloc_MB")
			b.ReportMetric(float64(mem.peak)/float64(size), "peak_x_message")
			b.ReportMetric(secs, "scan_s")
			fmt.Fprintf(os.Stderr, "antivirus builtin, preset %s, %.1f MiB message: %.2f s, peak heap +%.0f MiB (%.2fx the message; heap goal peaked at %.0f MiB), "+
				"%.0f MiB allocated, %s (%s); objects scanned %d\n",
				preset, float64(size)/(1<<20), secs, float64(mem.peak)/(1<<20), float64(mem.peak)/float64(size), float64(mem.goal)/(1<<20),
				float64(mem.alloc)/float64(b.N)/(1<<20), v.Status, oneLineDetail(v.Detail), st.AVScans.With("builtin").Load()/uint64(b.N))
		})
	}
	b.Run("clamd-whole-message", func(b *testing.B) {
		cd := peers.StartClamd(b, peers.ClamdOptions{Signatures: clamdSigs, StreamMaxLength: "60M"})
		cl, err := clamd.New(clamd.Config{Address: "tcp://" + cd.Addr, Timeout: 10 * time.Minute, MaxStream: 60 << 20, Connections: 1})
		if err != nil {
			b.Fatal(err)
		}
		pid := clamdPID(b, cd)
		before, rss := procStatusKB(b, pid, "VmHWM"), procStatusKB(b, pid, "VmRSS")
		b.ResetTimer()
		start := time.Now()
		var res clamd.Result
		for range b.N {
			if res, err = cl.Scan(context.Background(), m.Reader(), size); err != nil {
				b.Fatal(err)
			}
		}
		secs := time.Since(start).Seconds() / float64(b.N)
		b.StopTimer()
		after := procStatusKB(b, pid, "VmHWM")
		if res.Infected {
			b.Fatalf("clamd: large message infected (%s)", res.Threat)
		}
		peak := float64(after-min(after, before)) / 1024
		b.ReportMetric(peak, "clamd_peak_MB")
		b.ReportMetric(peak*(1<<20)/float64(size), "peak_x_message")
		b.ReportMetric(secs, "scan_s")
		fmt.Fprintf(os.Stderr, "clamd, whole %.1f MiB message by INSTREAM: %.2f s, peak RSS +%.0f MiB (%.2fx the message; VmRSS %.0f MiB idle, VmHWM %.0f MiB after)\n",
			float64(size)/(1<<20), secs, peak, peak*(1<<20)/float64(size), float64(rss)/1024, float64(after)/1024)
	})
}

// oneLineDetail shortens a verdict's detail for a log line.
func oneLineDetail(s string) string {
	if s == "" {
		return "clean"
	}
	if len(s) > 160 {
		return s[:160] + "…"
	}
	return s
}
