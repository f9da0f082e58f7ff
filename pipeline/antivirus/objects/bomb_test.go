package objects

import (
	"encoding/binary"
	"runtime"
	"testing"
	"time"
)

// binaryMail attaches data without base64, so that bomb fixtures of
// megabytes cost the test no encoding.
func binaryMail(name string, data []byte) []byte {
	return mail(multipart("multipart/mixed", "bomb-boundary-7f3a", part("Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\nContent-Disposition: attachment; filename=\""+name+"\"", string(data))))
}

// walkBounded walks msg and checks that it stayed within lim in bytes
// handed out, allocations and time.
func walkBounded(t *testing.T, msg []byte, lim Limits) []*Object {
	t.Helper()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	objs := collect(t, msg, lim)
	elapsed := time.Since(start)
	runtime.ReadMemStats(&after)
	full := lim.withDefaults()
	if n := totalData(objs); n > full.MaxTotal {
		t.Errorf("%d bytes of data, MaxTotal %d", n, full.MaxTotal)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 3*uint64(full.MaxTotal)+64<<20 {
		t.Errorf("walk allocated %d MiB", alloc>>20)
	}
	if elapsed > 30*time.Second {
		t.Errorf("walk took %v", elapsed)
	}
	return objs
}

func TestZipBombHonestHeader(t *testing.T) {
	deflated, crc := zeroDeflate(t, 1024)
	z := zipRaw(t, "zeros.bin", deflated, crc, 1<<30)
	objs := walkBounded(t, binaryMail("bomb.zip", z), Limits{})
	o := withStatus(t, objs, StatusSuspicious, "MaxRatio")
	if o.Name != "zeros.bin" || len(o.Data) != 0 {
		t.Errorf("bomb member %q was inflated to %d bytes", o.Path, len(o.Data))
	}
}

func TestZipBombLyingHeader(t *testing.T) {
	deflated, crc := zeroDeflate(t, 1024)
	// Declaring the packed size as the unpacked one passes the ratio
	// check; the reads have to stop it.
	z := zipRaw(t, "zeros.bin", deflated, crc, uint64(len(deflated)))
	objs := walkBounded(t, binaryMail("bomb.zip", z), Limits{})
	o := objs[len(objs)-1]
	if o.Name != "zeros.bin" || o.Status == StatusOK || o.Size > int64(len(deflated))+1 {
		t.Errorf("got %s", describe(objs))
	}
}

func gzipRaw(deflated []byte, crc uint32, size uint32) []byte {
	out := append([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff}, deflated...)
	out = binary.LittleEndian.AppendUint32(out, crc)
	return binary.LittleEndian.AppendUint32(out, size)
}

func TestGzipBomb(t *testing.T) {
	deflated, crc := zeroDeflate(t, 1024)
	gz := gzipRaw(deflated, crc, 0)
	t.Run("MaxObject", func(t *testing.T) {
		lim := Limits{MaxObject: 8 << 20}
		objs := walkBounded(t, binaryMail("zeros.gz", gz), lim)
		o := withStatus(t, objs, StatusSuspicious, "MaxObject")
		if o.Size != lim.MaxObject {
			t.Errorf("size %d", o.Size)
		}
	})
	t.Run("MaxRatio", func(t *testing.T) {
		lim := Limits{MaxRatio: 5}
		objs := walkBounded(t, binaryMail("zeros.gz", gz), lim)
		o := withStatus(t, objs, StatusSuspicious, "MaxRatio")
		if o.Size > max(5*int64(len(gz)), ratioFloor) {
			t.Errorf("size %d", o.Size)
		}
	})
	t.Run("MaxTotal", func(t *testing.T) {
		lim := Limits{MaxTotal: 4 << 20}
		objs := walkBounded(t, binaryMail("zeros.gz", gz), lim)
		withStatus(t, objs, StatusSuspicious, "MaxTotal")
	})
}

// TestNestedBomb is 42.zip in small: ten copies of ten copies of ten
// copies of a zip holding 16 MiB of zeros, 16 GiB in all.
func TestNestedBomb(t *testing.T) {
	deflated, crc := zeroDeflate(t, 16)
	data := zipRaw(t, "zeros.bin", deflated, crc, 16<<20)
	for level := range 3 {
		var files []file
		for i := range 10 {
			files = append(files, file{string(rune('0'+level)) + string(rune('0'+i)) + ".zip", data})
		}
		data = zipOf(t, files...)
	}
	lim := Limits{}
	objs := walkBounded(t, binaryMail("42.zip", data), lim)
	withStatus(t, objs, StatusSuspicious, "MaxRatio")
	withStatus(t, objs, StatusSuspicious, "MaxObjects")
	if len(objs) > defaultMaxObjects+1 {
		t.Errorf("%d objects", len(objs))
	}
	for _, o := range objs {
		if o.Name == "zeros.bin" && len(o.Data) > 0 {
			t.Fatalf("%s: the bomb was inflated to %d bytes", o.Path, len(o.Data))
		}
	}
}
