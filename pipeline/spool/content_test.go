package spool

import (
	"io"
	"testing"
	"testing/iotest"

	"github.com/gatewatch/gatewatch/pipeline"
)

// TestContentCarriesAddedHeaders: the fields the stages added come out on
// top of the spooled content, through Read and ReadAt at any offset, and
// Size counts them.
func TestContentCarriesAddedHeaders(t *testing.T) {
	e := newEnv(t)
	body := "Subject: hi\r\n\r\nbody\r\n"
	meta := sampleMeta(1)
	meta.Headers = []pipeline.HeaderField{{Name: "X-Spam", Value: "no"}, {Name: "Authentication-Results", Value: "gw;\r\n\tspf=pass"}}
	id := e.sp.NewID()
	d, err := e.sp.NewDraft(id, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Write([]byte(body)); err != nil {
		t.Fatal(err)
	}
	if err := d.Commit(meta); err != nil {
		t.Fatal(err)
	}
	en, err := e.sp.Find(id)
	if err != nil {
		t.Fatal(err)
	}
	c, err := en.OpenContent()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	want := "X-Spam: no\r\nAuthentication-Results: gw;\r\n\tspf=pass\r\n" + body
	if c.Size() != int64(len(want)) {
		t.Errorf("Size %d, want %d", c.Size(), len(want))
	}
	// TestReader reads with every pattern (Read, ReadAt across the seam, ...).
	if err := iotest.TestReader(io.NewSectionReader(c, 0, c.Size()), []byte(want)); err != nil {
		t.Error(err)
	}
	got, err := io.ReadAll(c)
	if err != nil || string(got) != want {
		t.Errorf("Read: %q, %v", got, err)
	}
}
