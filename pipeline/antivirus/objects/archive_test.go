package objects

import (
	"archive/zip"
	"bytes"
	"testing"
)

func attachMail(name string, data []byte) []byte {
	return mail(multipart("multipart/mixed", "b", part("Content-Type: text/plain", "see attached"), attachment(name, data)))
}

func TestZip(t *testing.T) {
	z := zipOf(t, file{"readme.txt", []byte("hi")}, file{"eicar.com", eicar()})
	objs := collect(t, attachMail("archive.zip", z), Limits{})
	o := withEicar(t, objs)
	if o.Path != "2:archive.zip/eicar.com" || o.Part != "2" || o.Depth != 1 || o.Declared != "" {
		t.Errorf("got %+v", o)
	}
	if !bytes.Equal(objs[1].Data, z) || objs[1].Path != "2:archive.zip" {
		t.Errorf("the archive itself was not handed over before its members: %s", describe(objs))
	}
}

func TestArchiveDetectedByContentNotName(t *testing.T) {
	z := zipOf(t, file{"eicar.com", eicar()})
	o := withEicar(t, collect(t, attachMail("invoice.pdf", z), Limits{}))
	if o.Path != "2:invoice.pdf/eicar.com" {
		t.Errorf("path %q", o.Path)
	}
}

func TestZipInZipInTarGz(t *testing.T) {
	inner := zipOf(t, file{"eicar.com", eicar()})
	outer := zipOf(t, file{"inner.zip", inner})
	tgz := gzipOf(t, "", tarOf(t, file{"docs/outer.zip", outer}))
	objs := collect(t, attachMail("bundle.tar.gz", tgz), Limits{})
	o := withEicar(t, objs)
	if want := "2:bundle.tar.gz/bundle.tar/docs/outer.zip/inner.zip/eicar.com"; o.Path != want {
		t.Errorf("path %q, want %q", o.Path, want)
	}
	if o.Depth != 4 || o.Part != "2" {
		t.Errorf("depth %d part %q", o.Depth, o.Part)
	}
}

func TestBzip2(t *testing.T) {
	objs := collect(t, attachMail("eicar.com.bz2", mustB64(t, eicarBzip2)), Limits{})
	o := withEicar(t, objs)
	if o.Name != "eicar.com" || o.Status != StatusOK {
		t.Errorf("got %+v", o)
	}
}

func TestBrokenBzip2(t *testing.T) {
	b := mustB64(t, eicarBzip2)
	objs := collect(t, attachMail("x.bz2", b[:len(b)/2]), Limits{})
	withStatus(t, objs, StatusCorrupted, "bzip2")
}

func TestEncryptedZip(t *testing.T) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.CreateHeader(&zip.FileHeader{Name: "secret.exe", Method: zip.Store, Flags: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(eicar()); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	objs := collect(t, attachMail("secret.zip", buf.Bytes()), Limits{})
	o := withStatus(t, objs, StatusProtected, "encrypted")
	if o.Name != "secret.exe" || o.Data != nil {
		t.Errorf("got %+v", o)
	}
}

func TestTruncatedZip(t *testing.T) {
	z := zipOf(t, file{"eicar.com", eicar()}, file{"other.txt", bytes.Repeat([]byte("o"), 500)})
	objs := collect(t, attachMail("cut.zip", z[:len(z)-40]), Limits{})
	o := withStatus(t, objs, StatusCorrupted, "zip")
	if o.Path != "2:cut.zip" {
		t.Errorf("flagged %q, want the archive itself", o.Path)
	}
}

func TestTruncatedTar(t *testing.T) {
	tr := tarOf(t, file{"a.txt", []byte("a")}, file{"b.bin", bytes.Repeat([]byte("b"), 3000)})
	objs := collect(t, attachMail("cut.tar", tr[:2000]), Limits{})
	o := withStatus(t, objs, StatusCorrupted, "tar")
	if o.Path != "2:cut.tar" {
		t.Errorf("flagged %q, want the archive itself", o.Path)
	}
}

func TestArchiveDepthLimit(t *testing.T) {
	data := zipOf(t, file{"eicar.com", eicar()})
	for range 6 {
		data = zipOf(t, file{"nested.zip", data})
	}
	lim := Limits{MaxDepth: 3}
	objs := collect(t, attachMail("deep.zip", data), lim)
	o := withStatus(t, objs, StatusSuspicious, "MaxDepth")
	if o.Depth != lim.MaxDepth {
		t.Errorf("flagged at depth %d, want %d", o.Depth, lim.MaxDepth)
	}
	for _, o := range objs {
		if o.Depth > lim.MaxDepth {
			t.Errorf("%s at depth %d", o.Path, o.Depth)
		}
	}
}

func TestZipDeclaringTooManyEntries(t *testing.T) {
	var files []file
	for i := range 30 {
		files = append(files, file{string(rune('a'+i%26)) + string(rune('a'+i/26)), nil})
	}
	objs := collect(t, attachMail("many.zip", zipOf(t, files...)), Limits{MaxObjects: 10})
	withStatus(t, objs, StatusSuspicious, "entries")
	if len(objs) > 11 {
		t.Errorf("%d objects", len(objs))
	}
}

func TestTruncatedGzip(t *testing.T) {
	gz := gzipOf(t, "eicar.com", eicar())
	objs := collect(t, attachMail("e.gz", gz[:len(gz)-10]), Limits{})
	o := withStatus(t, objs, StatusCorrupted, "gzip")
	if o.Path != "2:e.gz/eicar.com" {
		t.Errorf("flagged %q, want the decompressed member", o.Path)
	}
}

func TestUnknownTransferEncoding(t *testing.T) {
	msg := mail(multipart("multipart/mixed", "b", part("Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: x-rot13", string(eicar()))))
	objs := collect(t, msg, Limits{})
	if o := withEicar(t, objs); o.Status != StatusCorrupted {
		t.Errorf("status %q, want corrupted: the bytes are scanned but may not be what the reader sees", o.Status)
	}
}
