package objects

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestPlainBody(t *testing.T) {
	objs := collect(t, mail("Content-Type: text/plain\r\n\r\n"+string(eicar())), Limits{})
	o := withEicar(t, objs)
	if o.Path != "1" || o.Part != "1" || o.Depth != 0 || o.Declared != "text/plain" || o.Size != 68 {
		t.Errorf("got path %q part %q depth %d declared %q size %d", o.Path, o.Part, o.Depth, o.Declared, o.Size)
	}
}

func TestBase64Attachment(t *testing.T) {
	msg := mail(multipart("multipart/mixed", "b1", part("Content-Type: text/plain", "hello"), attachment("eicar.com", eicar())))
	o := withEicar(t, collect(t, msg, Limits{}))
	if o.Path != "2:eicar.com" || o.Part != "2" || o.Name != "eicar.com" || o.Status != StatusOK {
		t.Errorf("got %+v", o)
	}
}

func TestBase64WithStrayCharacters(t *testing.T) {
	body := strings.ReplaceAll(b64Lines(eicar()), "A", "A !")
	msg := mail(multipart("multipart/mixed", "b1", part("Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64", body)))
	withEicar(t, collect(t, msg, Limits{}))
}

func TestQuotedPrintableAttachment(t *testing.T) {
	// Escapes and a soft line break, as a mailer folding the line would.
	e := string(eicar())
	qp := strings.ReplaceAll(e[:30], "$", "=24") + "=\r\n" + strings.ReplaceAll(e[30:], "$", "=24")
	msg := mail(multipart("multipart/mixed", "b1", part("Content-Type: text/plain", "hi"),
		part("Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: quoted-printable\r\nContent-Disposition: attachment; filename=\"e.com\"", qp)))
	o := withEicar(t, collect(t, msg, Limits{}))
	if o.Part != "2" {
		t.Errorf("part %q, want 2", o.Part)
	}
}

func uuencode(name string, data []byte) string {
	var b strings.Builder
	b.WriteString("begin 644 " + name + "\n")
	for len(data) > 0 {
		n := min(len(data), 45)
		line := data[:n]
		data = data[n:]
		b.WriteByte(byte(' ' + n))
		for i := 0; i < len(line); i += 3 {
			var g [3]byte
			copy(g[:], line[i:])
			for _, c := range []byte{g[0] >> 2, (g[0]<<4 | g[1]>>4) & 63, (g[1]<<2 | g[2]>>6) & 63, g[2] & 63} {
				if c == 0 {
					b.WriteByte('`')
				} else {
					b.WriteByte(' ' + c)
				}
			}
		}
		b.WriteByte('\n')
	}
	b.WriteString("`\nend\n")
	return b.String()
}

func TestUUEncodedInText(t *testing.T) {
	body := "Hello,\r\nbegin 100 metres away, nothing here\r\n\r\nthe file:\r\n" + uuencode("eicar.com", eicar()) + "bye\r\n"
	objs := collect(t, mail("Content-Type: text/plain\r\n\r\n"+body), Limits{})
	o := withEicar(t, objs)
	if o.Path != "1:eicar.com" || o.Name != "eicar.com" || o.Depth != 1 || o.Status != StatusOK {
		t.Errorf("got %+v", o)
	}
	if len(objs) != 2 {
		t.Errorf("prose starting with begin was taken for a block: %s", describe(objs))
	}
}

func TestUUEncodedWithoutEnd(t *testing.T) {
	body := strings.TrimSuffix(uuencode("x.bin", eicar()), "`\nend\n")
	objs := collect(t, mail("Content-Type: text/plain\r\n\r\n"+body), Limits{})
	withStatus(t, objs, StatusCorrupted, "no end line")
}

func TestForwardedMessage(t *testing.T) {
	inner := "From: c@example.org\r\nSubject: inner\r\nMIME-Version: 1.0\r\n" +
		multipart("multipart/mixed", "inner", part("Content-Type: text/plain", "see attached"), attachment("eicar.com", eicar()))
	msg := mail(multipart("multipart/mixed", "outer", part("Content-Type: text/plain", "fwd"),
		part("Content-Type: message/rfc822", inner)))
	objs := collect(t, msg, Limits{})
	o := withEicar(t, objs)
	if o.Path != "2/2:eicar.com" || o.Part != "2" || o.Depth != 1 {
		t.Errorf("got path %q part %q depth %d", o.Path, o.Part, o.Depth)
	}
}

func TestForwardedTooDeep(t *testing.T) {
	msg := "Content-Type: text/plain\r\n\r\n" + string(eicar())
	for range 4 {
		msg = "Content-Type: message/rfc822\r\n\r\n" + msg
	}
	objs := collect(t, mail(msg), Limits{MaxDepth: 2})
	o := withStatus(t, objs, StatusSuspicious, "MaxDepth")
	if o.Depth > 2 {
		t.Errorf("depth %d beyond MaxDepth", o.Depth)
	}
}

func TestPartNumbers(t *testing.T) {
	alt := multipart("multipart/alternative", "alt", part("Content-Type: text/plain", "plain"), part("Content-Type: text/html", "<p>html</p>"))
	msg := mail(multipart("multipart/mixed", "mixed", alt, attachment("a.bin", []byte("aaa")), attachment("b.bin", []byte("bbb"))))
	var parts, paths []string
	for _, o := range collect(t, msg, Limits{}) {
		parts = append(parts, o.Part)
		paths = append(paths, o.Path)
	}
	if want := []string{"1.1", "1.2", "2", "3"}; !slices.Equal(parts, want) {
		t.Errorf("parts %q, want %q", parts, want)
	}
	if want := []string{"1.1", "1.2", "2:a.bin", "3:b.bin"}; !slices.Equal(paths, want) {
		t.Errorf("paths %q, want %q", paths, want)
	}
}

func TestEncodedFileName(t *testing.T) {
	msg := mail(multipart("multipart/mixed", "b", part("Content-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=\"=?iso-8859-1?q?r=E9sum=E9.exe?=\"", "MZ")))
	objs := collect(t, msg, Limits{})
	if len(objs) != 1 || objs[0].Name != "résumé.exe" {
		t.Errorf("got %s", describe(objs))
	}
}

func TestBrokenMultipart(t *testing.T) {
	msg := mail("Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: text/plain\r\n\r\nunterminated")
	objs := collect(t, msg, Limits{})
	withStatus(t, objs, StatusCorrupted, "multipart")
}

func TestMaxObjects(t *testing.T) {
	var parts []string
	for range 20 {
		parts = append(parts, part("Content-Type: text/plain", "x"))
	}
	objs := collect(t, mail(multipart("multipart/mixed", "b", parts...)), Limits{MaxObjects: 5})
	if len(objs) != 6 {
		t.Errorf("%d objects, want 5 and the note", len(objs))
	}
	withStatus(t, objs, StatusSuspicious, "MaxObjects")
}

func TestMaxTotal(t *testing.T) {
	big := bytes.Repeat([]byte("y"), 1000)
	var parts []string
	for i := range 5 {
		parts = append(parts, attachment(string(rune('a'+i))+".bin", big))
	}
	lim := Limits{MaxTotal: 2500}
	objs := collect(t, mail(multipart("multipart/mixed", "b", parts...)), lim)
	withStatus(t, objs, StatusSuspicious, "MaxTotal")
	if n := totalData(objs); n > lim.MaxTotal {
		t.Errorf("%d bytes of data, MaxTotal %d", n, lim.MaxTotal)
	}
	if len(objs) != 3 {
		t.Errorf("walk went on after MaxTotal: %s", describe(objs))
	}
}

func TestMaxObjectTruncates(t *testing.T) {
	msg := mail(multipart("multipart/mixed", "b", attachment("big.bin", bytes.Repeat([]byte("z"), 5000)), attachment("eicar.com", eicar())))
	objs := collect(t, msg, Limits{MaxObject: 1000})
	o := withStatus(t, objs, StatusSuspicious, "MaxObject")
	if o.Size != 1000 || len(o.Data) != 1000 {
		t.Errorf("size %d, data %d, want 1000", o.Size, len(o.Data))
	}
	withEicar(t, objs)
}

func TestCallbackErrorStops(t *testing.T) {
	msg := mail(multipart("multipart/mixed", "b", part("Content-Type: text/plain", "1"), part("Content-Type: text/plain", "2")))
	errFound := errors.New("found")
	calls := 0
	err := Walk(bytes.NewReader(msg), Limits{}, func(*Object) error {
		calls++
		return errFound
	})
	if !errors.Is(err, errFound) || calls != 1 {
		t.Errorf("err %v after %d calls, want errFound after 1", err, calls)
	}
}

type failingReader struct{ err error }

func (f failingReader) Read([]byte) (int, error) { return 0, f.err }

func TestReaderErrorReturned(t *testing.T) {
	errDisk := errors.New("disk")
	err := Walk(failingReader{errDisk}, Limits{}, func(*Object) error { return nil })
	if !errors.Is(err, errDisk) {
		t.Errorf("err %v, want the reader's", err)
	}
}
