package main

import (
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatewatch/gatewatch/pipeline/antispam/bayes"
	"github.com/gatewatch/gatewatch/pipeline/store"
)

// TestReleasedSpamTeachesTheModel: a release keeps what it queued (up to
// the cap), and learning it as ham adds one ham message to the model file.
func TestReleasedSpamTeachesTheModel(t *testing.T) {
	path := filepath.Join(t.TempDir(), "model")
	if err := bayes.NewModel().Save(path); err != nil {
		t.Fatal(err)
	}
	msg := "Subject: quarterly figures\r\n\r\nthe figures you asked for\r\n"
	var queuedBody string
	inject, kept := learningRelease(func(_ store.Entry, _ []string, r io.Reader) (string, error) {
		b, err := io.ReadAll(r)
		queuedBody = string(b)
		return "0000000000000001", err
	})
	if _, err := inject(store.Entry{}, nil, strings.NewReader(msg)); err != nil {
		t.Fatal(err)
	}
	if queuedBody != msg || string(kept()) != msg {
		t.Fatalf("queued %q, kept %q", queuedBody, kept())
	}
	if err := learnFile(path, kept(), false); err != nil {
		t.Fatal(err)
	}
	m, err := bayes.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if spam, ham := m.Counts(); spam != 0 || ham != 1 {
		t.Errorf("model counts spam %d ham %d, want 0 and 1", spam, ham)
	}
	big := strings.Repeat("x", maxLearned+100)
	if _, err := inject(store.Entry{}, nil, strings.NewReader(big)); err != nil || len(kept()) != maxLearned || len(queuedBody) != len(big) {
		t.Errorf("cap: kept %d, queued %d (%v)", len(kept()), len(queuedBody), err)
	}
}
