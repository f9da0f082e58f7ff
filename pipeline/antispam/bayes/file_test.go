package bayes

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSaveLoadRoundTrip(t *testing.T) {
	m := trained(t, 30)
	m.Learn([]string{"body:ünïcödé", "hdr:x", strings.Repeat("z", maxTokenBytes)}, true)
	path := filepath.Join(t.TempDir(), "model.bayes")
	if err := m.Save(path); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only the model (temporary file left behind?)", len(entries))
	}
	got, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if gs, gh := got.Counts(); gs != 31 || gh != 30 {
		t.Errorf("loaded Counts() = %d, %d; want 31, 30", gs, gh)
	}
	if got.Tokens() != m.Tokens() {
		t.Errorf("loaded %d tokens, saved %d", got.Tokens(), m.Tokens())
	}
	r := rand.New(rand.NewPCG(13, 14))
	for i := 0; i < 10; i++ {
		probe := Tokenize(synthetic(r, i%2 == 0))
		ps, cs := m.Classify(probe, 10)
		pl, cl := got.Classify(probe, 10)
		if ps != pl || len(cs) != len(cl) {
			t.Fatalf("probe %d: saved model %v %v, loaded %v %v", i, ps, cs, pl, cl)
		}
		for j := range cs {
			if cs[j] != cl[j] {
				t.Errorf("probe %d clue %d: %v vs %v", i, j, cs[j], cl[j])
			}
		}
	}
	// The same model always gives the same bytes, and saving over an
	// existing file replaces it.
	first, _ := os.ReadFile(path)
	if err := got.Save(path); err != nil {
		t.Fatal(err)
	}
	second, _ := os.ReadFile(path)
	if !bytes.Equal(first, second) {
		t.Error("saving the loaded model gave different bytes")
	}
}

func TestSaveErrors(t *testing.T) {
	err := NewModel().Save(filepath.Join(t.TempDir(), "missing", "model.bayes"))
	if err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("save into a missing directory: %v", err)
	}
}

func TestLoadDamagedFiles(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good")
	if err := trained(t, 5).Save(good); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	flipped := bytes.Clone(data)
	flipped[len(flipped)/2] ^= 0x40
	version := bytes.Clone(data)
	version[len(fileMagic)+3] = 9
	cases := []struct {
		name, path, want string
	}{
		{"missing", filepath.Join(dir, "nope"), "no such file"},
		{"empty", write("empty", nil), "empty"},
		{"not a model", write("text", []byte("From: someone\r\n\r\nhello\r\n")), "bad magic"},
		{"header only", write("short", data[:fixedSize]), "truncated"},
		{"cut in the records", write("cut", data[:len(data)-sha256.Size-3]), "checksum"},
		{"checksum cut", write("cutsum", data[:len(data)-1]), "checksum"},
		{"flipped bit", write("flipped", flipped), "checksum"},
		{"other version", write("version", version), "version 9"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, err := Load(c.path)
			if err == nil {
				t.Fatalf("loaded %+v", m)
			}
			if !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), c.path) {
				t.Errorf("error %q should name the file and say %q", err, c.want)
			}
		})
	}
	// Every truncation is caught, wherever the file is cut.
	for n := 0; n < len(data); n += 7 {
		if _, err := decode(data[:n]); err == nil {
			t.Errorf("a file cut at %d of %d bytes loaded", n, len(data))
		}
	}
}

// A file with a valid checksum can still be forged; its records must be
// checked as carefully as any input.
func TestDecodeForgedRecords(t *testing.T) {
	forge := func(spam, ham, n uint64, records ...byte) []byte {
		b := []byte(fileMagic)
		b = binary.BigEndian.AppendUint32(b, fileVersion)
		b = binary.BigEndian.AppendUint64(b, spam)
		b = binary.BigEndian.AppendUint64(b, ham)
		b = binary.BigEndian.AppendUint64(b, n)
		b = append(b, records...)
		sum := sha256.Sum256(b)
		return append(b, sum[:]...)
	}
	if m, err := decode(forge(2, 3, 1, 1, 'a', 1, 2)); err != nil || m.Tokens() != 1 || m.tokens["a"] != (counts{1, 2}) {
		t.Fatalf("a well-formed forgery should load: %v", err)
	}
	cases := map[string][]byte{
		"huge token count":   forge(1, 1, 1<<60, 1, 'a', 1, 1),
		"zero counts":        forge(1, 1, 1, 1, 'a', 0, 0),
		"empty token":        forge(1, 1, 1, 0, 1, 1),
		"token past the end": forge(1, 1, 1, 9, 'a', 1, 1),
		"duplicate tokens":   forge(1, 1, 2, 1, 'a', 1, 1, 1, 'a', 1, 1),
		"trailing bytes":     forge(1, 1, 1, 1, 'a', 1, 1, 0),
		"count over 32 bits": forge(1<<33, 1, 0),
		"bad varint":         forge(1, 1, 1, 1, 'a', 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff),
	}
	for name, data := range cases {
		if _, err := decode(data); err == nil {
			t.Errorf("%s: loaded", name)
		}
	}
}
