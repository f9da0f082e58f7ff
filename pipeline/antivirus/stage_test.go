package antivirus

import (
	"archive/zip"
	"bufio"
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-message/textproto"

	"github.com/gatewatch/gatewatch/internal/eventlog"
	"github.com/gatewatch/gatewatch/pipeline"
	"github.com/gatewatch/gatewatch/telemetry"
)

// The test file, split so that scanners on developer machines leave this
// source alone.
const eicar = `X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR` + `-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*`

func limits() LimitsConfig {
	return LimitsConfig{MaxDepth: 5, MaxObjects: 100, MaxTotal: 10 << 20, MaxObject: 5 << 20, MaxRatio: 100}
}

// config is a valid configuration with the given scanners.
func config(scanners ...string) Config {
	return Config{Enabled: true, Scanners: scanners, Limits: limits(), Preset: "recommended",
		Databases: DBConfig{OutdatedAfter: 24 * time.Hour, ObsoleteAfter: 120 * time.Hour, CheckInterval: time.Minute}}
}

func msg(t *testing.T, raw string) *pipeline.Message {
	t.Helper()
	h, err := textproto.ReadHeader(bufio.NewReader(strings.NewReader(raw)))
	if err != nil {
		t.Fatal(err)
	}
	return &pipeline.Message{Meta: pipeline.Meta{ID: "0000000000TESTAV"}, Header: h, Content: bytes.NewReader([]byte(raw))}
}

func attachment(name string, data []byte) string {
	var b strings.Builder
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n--b\r\n")
	b.WriteString("Content-Type: application/octet-stream; name=\"" + name + "\"\r\nContent-Transfer-Encoding: binary\r\n\r\n")
	b.Write(data)
	b.WriteString("\r\n--b--\r\n")
	return b.String()
}

func TestStatuses(t *testing.T) {
	st := telemetry.NewStats()
	rec := &eventlog.Recorder{Next: telemetry.NewBus(st)}
	s, err := New(config("builtin"), rec, st)
	if err != nil {
		t.Fatal(err)
	}
	var enc bytes.Buffer
	zw := zip.NewWriter(&enc)
	f, _ := zw.CreateHeader(&zip.FileHeader{Name: "secret.doc", Flags: 1, Method: zip.Store})
	_, _ = f.Write([]byte("ciphertext"))
	_ = zw.Close()
	for name, tc := range map[string]struct {
		raw, status string
		parts       string
	}{
		"clean":     {"Subject: hi\r\n\r\nhello\r\n", pipeline.StatusClean, ""},
		"infected":  {attachment("x.com", []byte(eicar)), pipeline.StatusVirus, "2"},
		"protected": {attachment("x.zip", enc.Bytes()), pipeline.StatusUnscannable, "2"},
	} {
		v, err := s.Scan(context.Background(), msg(t, tc.raw))
		if err != nil {
			t.Fatal(err)
		}
		if v.Status != tc.status || strings.Join(v.Parts, ",") != tc.parts {
			t.Errorf("%s: status %s parts %v (%s)", name, v.Status, v.Parts, v.Detail)
		}
		if h := v.Headers[0]; h.Name != "X-Gatewatch-Virus-Status" || !strings.HasPrefix(h.Value, map[bool]string{true: "clean", false: tc.status}[tc.status == pipeline.StatusClean]) {
			t.Errorf("%s: header %+v", name, h)
		}
	}
	if n := len(rec.OfType(telemetry.ObjectFlagged)); n != 2 {
		t.Errorf("%d objects flagged, want 2", n)
	}
	if st.ObjectsScanned.With("infected").Load() != 1 || st.ObjectsScanned.With("protected").Load() != 1 {
		t.Error("object statuses not counted")
	}
}

// TestScannerDownIsAnError: clamd unreachable makes the message's status
// error (the policy defers it), never clean.
func TestScannerDownIsAnError(t *testing.T) {
	st := telemetry.NewStats()
	cfg := config("clamd")
	cfg.Clamd = ClamdConfig{Address: "tcp://127.0.0.1:9", Timeout: time.Second, MaxStream: 1 << 20}
	s, err := New(cfg, telemetry.NewBus(st), st)
	if err != nil {
		t.Fatal(err)
	}
	v, err := s.Scan(context.Background(), msg(t, "Subject: hi\r\n\r\nhello\r\n"))
	if err != nil || v.Status != pipeline.StatusError {
		t.Fatalf("status %s err %v", v.Status, err)
	}
	if st.AVScanErrors.With("clamd").Load() == 0 || st.AVScannerUp.With("clamd").Load() != 0 {
		t.Error("scanner error not counted, or the scanner still reported up")
	}
}

func TestConfigErrors(t *testing.T) {
	err := Config{Scanners: []string{"clamd", "norton"}, Preset: "paranoid", Limits: LimitsConfig{MaxDepth: -1},
		Update: UpdateConfig{From: "/srv/sigs"}, Outbreak: OutbreakConfig{PerHour: -1}}.Validate()
	for _, want := range []string{"antivirus.scanners[1]", "antivirus.clamd.address", "antivirus.limits", `antivirus.preset: "paranoid"`,
		"antivirus.databases:", "antivirus.databases.check_interval", "antivirus.update.interval", "antivirus.update.from", "antivirus.outbreak.per_hour"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v lacks %s", err, want)
		}
	}
}
