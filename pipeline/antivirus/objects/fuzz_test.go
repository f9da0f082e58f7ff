package objects

import (
	"bytes"
	"testing"
)

// fuzzLimits are small so that the fuzzer reaches them.
func fuzzLimits() Limits {
	return Limits{MaxDepth: 3, MaxObjects: 50, MaxTotal: 1 << 20, MaxObject: 256 << 10, MaxRatio: 20}
}

// checkBounded walks msg and checks the guarantees that hold whatever the
// input: no error from a reader that cannot fail, and every bound kept.
func checkBounded(t *testing.T, msg []byte) {
	lim := fuzzLimits()
	var total int64
	objects := 0
	err := Walk(bytes.NewReader(msg), lim, func(o *Object) error {
		objects++
		total += int64(len(o.Data))
		if o.Size != int64(len(o.Data)) || o.Size > lim.MaxObject {
			t.Fatalf("%s: size %d, data %d", o.Path, o.Size, len(o.Data))
		}
		if o.Depth > lim.MaxDepth+1 {
			t.Fatalf("%s: depth %d", o.Path, o.Depth)
		}
		if o.Part == "" {
			t.Fatalf("%s: no part", o.Path)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("Walk: %v", err)
	}
	if total > lim.MaxTotal {
		t.Fatalf("%d bytes of data, MaxTotal %d", total, lim.MaxTotal)
	}
	if objects > lim.MaxObjects+1 || objects == 0 {
		t.Fatalf("%d objects", objects)
	}
}

func FuzzWalk(f *testing.F) {
	f.Add(mail("Content-Type: text/plain\r\n\r\n" + string(eicar())))
	f.Add(attachMail("a.zip", zipOf(f, file{"eicar.com", eicar()})))
	f.Add(mail("Content-Type: text/plain\r\n\r\n" + uuencode("x", eicar())))
	f.Add(mail(multipart("multipart/mixed", "o", part("Content-Type: message/rfc822", "Subject: x\r\n\r\nhi"))))
	f.Add([]byte("Content-Type: multipart/mixed; boundary=a\r\n\r\n--a\r\nContent-Type: multipart/mixed; boundary=a\r\n\r\n--a--"))
	f.Add([]byte{})
	f.Fuzz(checkBounded)
}

// FuzzArchive feeds arbitrary bytes as an attachment, where archives are
// opened.
func FuzzArchive(f *testing.F) {
	f.Add(zipOf(f, file{"eicar.com", eicar()}))
	f.Add(gzipOf(f, "x.tar", tarOf(f, file{"a", eicar()})))
	f.Add(mustB64(f, eicarBzip2))
	f.Add([]byte("PK\x03\x04"))
	f.Fuzz(func(t *testing.T, data []byte) {
		checkBounded(t, binaryMail("fuzz.bin", data))
	})
}
