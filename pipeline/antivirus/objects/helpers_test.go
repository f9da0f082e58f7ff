package objects

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"encoding/base64"
	"hash/crc32"
	"strings"
	"testing"
)

// eicar is split in the source so that scanners on developers' machines
// do not quarantine this file.
func eicar() []byte {
	return []byte(`X5O!P%@AP[4\PZX54(P^)7CC)7}$` + `EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*`)
}

// eicarBzip2 is eicar compressed by bzip2 -9: the standard library has
// no bzip2 writer.
const eicarBzip2 = "QlpoOTFBWSZTWYZSy9MAAB8egCZ6BoBvZd9dAAIgAEiKaaAwg09IxqeieoRT1GhkZNGEwjT01N4ovxyQiAlQh+sHQQz7k5qim8zkxhLmdsm1AaIuqgzvsygDz1oZkBD3+LuSKcKEhDKWXpg="

func mustB64(t testing.TB, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// collect walks msg and keeps every object.
func collect(t testing.TB, msg []byte, lim Limits) []*Object {
	t.Helper()
	var objs []*Object
	err := Walk(bytes.NewReader(msg), lim, func(o *Object) error {
		objs = append(objs, o)
		return nil
	})
	if err != nil {
		t.Fatalf("Walk: %v", err)
	}
	return objs
}

// withEicar returns the object whose data is exactly the EICAR file.
func withEicar(t testing.TB, objs []*Object) *Object {
	t.Helper()
	for _, o := range objs {
		if bytes.Equal(o.Data, eicar()) {
			return o
		}
	}
	t.Fatalf("no object holds EICAR; got %s", describe(objs))
	return nil
}

func withStatus(t testing.TB, objs []*Object, s Status, detail string) *Object {
	t.Helper()
	for _, o := range objs {
		if o.Status == s && strings.Contains(o.Detail, detail) {
			return o
		}
	}
	t.Fatalf("no %s object with detail %q; got %s", s, detail, describe(objs))
	return nil
}

func describe(objs []*Object) string {
	var b strings.Builder
	for _, o := range objs {
		b.WriteString("\n  " + o.Path + " part=" + o.Part + " [" + string(o.Status) + " " + o.Detail + "]")
	}
	return b.String()
}

func totalData(objs []*Object) int64 {
	var n int64
	for _, o := range objs {
		n += int64(len(o.Data))
	}
	return n
}

type file struct {
	name string
	data []byte
}

func zipOf(t testing.TB, files ...file) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range files {
		w, err := zw.Create(f.name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(f.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func tarOf(t testing.TB, files ...file) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: 0o644, Size: int64(len(f.data)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(f.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func gzipOf(t testing.TB, name string, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Name = name
	if _, err := zw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// zeroDeflate is a raw deflate stream of n MiB of zeros, with its CRC-32.
// Compressing a gigabyte would take the race-enabled test minutes; the
// stream of one flushed MiB is repeated instead, which is valid deflate
// because each copy only refers back to zeros.
func zeroDeflate(t testing.TB, mib int) ([]byte, uint32) {
	t.Helper()
	zero := make([]byte, 1<<20)
	var chunk bytes.Buffer
	fw, err := flate.NewWriter(&chunk, flate.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fw.Write(zero); err != nil {
		t.Fatal(err)
	}
	if err := fw.Flush(); err != nil {
		t.Fatal(err)
	}
	var final bytes.Buffer
	fw.Reset(&final)
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
	out := make([]byte, 0, mib*chunk.Len()+final.Len())
	var crc uint32
	for range mib {
		out = append(out, chunk.Bytes()...)
		crc = crc32.Update(crc, crc32.IEEETable, zero)
	}
	return append(out, final.Bytes()...), crc
}

// zipRaw stores an already deflated member, declaring what the caller
// says it unpacks to.
func zipRaw(t testing.TB, name string, deflated []byte, crc uint32, declared uint64) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.CreateRaw(&zip.FileHeader{Name: name, Method: zip.Deflate, CRC32: crc,
		CompressedSize64: uint64(len(deflated)), UncompressedSize64: declared})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(deflated); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// part is one MIME part: header lines and body.
func part(header, body string) string {
	return header + "\r\n\r\n" + body
}

func multipart(ctype, boundary string, parts ...string) string {
	var b strings.Builder
	b.WriteString("Content-Type: " + ctype + "; boundary=\"" + boundary + "\"\r\n\r\npreamble\r\n")
	for _, p := range parts {
		b.WriteString("--" + boundary + "\r\n" + p + "\r\n")
	}
	b.WriteString("--" + boundary + "--\r\n")
	return b.String()
}

func mail(body string) []byte {
	return []byte("From: a@example.org\r\nTo: b@example.org\r\nSubject: test\r\nMIME-Version: 1.0\r\n" + body)
}

func b64Lines(data []byte) string {
	s := base64.StdEncoding.EncodeToString(data)
	var b strings.Builder
	for len(s) > 76 {
		b.WriteString(s[:76] + "\r\n")
		s = s[76:]
	}
	return b.String() + s
}

func attachment(name string, data []byte) string {
	return part("Content-Type: application/octet-stream; name=\""+name+"\"\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=\""+name+"\"",
		b64Lines(data))
}
