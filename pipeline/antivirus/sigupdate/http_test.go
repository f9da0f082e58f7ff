package sigupdate

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// served is one file on the test server.
type served struct {
	content      string
	lastModified string // Last-Modified header; none when empty
}

// sigServer serves files under /sigs/ and records the paths asked for.
type sigServer struct {
	*httptest.Server
	mu    sync.Mutex
	files map[string]served
	paths []string
}

func newSigServer(t *testing.T, files map[string]served) *sigServer {
	s := &sigServer{files: files}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.paths = append(s.paths, r.URL.Path)
		f, ok := s.files[strings.TrimPrefix(r.URL.Path, "/sigs/")]
		s.mu.Unlock()
		if !ok || !strings.HasPrefix(r.URL.Path, "/sigs/") {
			http.NotFound(w, r)
			return
		}
		if f.lastModified != "" {
			w.Header().Set("Last-Modified", f.lastModified)
		}
		w.Write([]byte(f.content))
	}))
	t.Cleanup(s.Close)
	return s
}

func TestInstallHTTP(t *testing.T) {
	ctx := context.Background()
	main, daily := hdb("main", 3), hsb("daily", 4)
	srv := newSigServer(t, map[string]served{
		"index":     {content: "# set 1\nmain.hdb\ndaily.hsb " + specSum(daily) + "\n"},
		"main.hdb":  {content: main, lastModified: older.Format(http.TimeFormat)},
		"daily.hsb": {content: daily, lastModified: newer.Format(http.TimeFormat)},
	})
	dir := filepath.Join(t.TempDir(), "sigs")
	res, err := Install(ctx, srv.URL+"/sigs/", dir, Options{Client: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	want := set{"main.hdb": main, "daily.hsb": daily}
	if got := readSet(t, dir); !sameSet(got, want) || !res.Changed || res.Signatures != 7 ||
		res.Version != specVersion(want) || !res.Released.Equal(newer) {
		t.Errorf("installed %v: %+v", names(got), res)
	}
	srv.mu.Lock()
	for _, p := range srv.paths {
		if strings.Contains(p, "//") {
			t.Errorf("asked for %q", p)
		}
	}
	srv.mu.Unlock()

	// Without Last-Modified a file is dated when it was fetched.
	srv.mu.Lock()
	srv.files["main.hdb"] = served{content: hdb("main2", 2)}
	srv.mu.Unlock()
	before := time.Now()
	res, err = Install(ctx, srv.URL+"/sigs", dir, Options{Client: srv.Client()})
	after := time.Now()
	if err != nil {
		t.Fatal(err)
	}
	if !res.Changed || res.Signatures != 6 || res.Released.Before(before.Truncate(time.Second)) || res.Released.After(after) {
		t.Errorf("undated file: %+v, fetched between %v and %v", res, before, after)
	}
}

func TestInstallHTTPFailures(t *testing.T) {
	good := hdb("good", 2)
	dir := installed(t, set{"main.hdb": hdb("m", 1)})
	for _, tc := range []struct {
		name  string
		files map[string]served
		opt   Options
		want  []string
	}{
		{"no index", map[string]served{"main.hdb": {content: good}}, Options{},
			[]string{"/sigs/index", "404"}},
		{"listed file missing", map[string]served{"index": {content: "main.hdb\ngone.hsb\n"}, "main.hdb": {content: good}}, Options{},
			[]string{"/sigs/gone.hsb", "404 Not Found"}},
		{"digest mismatch", map[string]served{"index": {content: "main.hdb " + specSum("other") + "\n"}, "main.hdb": {content: good}}, Options{},
			[]string{"main.hdb", specSum("other"), specSum(good)}},
		{"file too large", map[string]served{"index": {content: "main.hdb\n"}, "main.hdb": {content: good}}, Options{MaxFileBytes: 10},
			[]string{"main.hdb", "10-byte per-file limit"}},
		{"bad signature", map[string]served{"index": {content: "main.hdb\n"}, "main.hdb": {content: good + "zz:1:X\n"}}, Options{},
			[]string{"main.hdb:3:"}},
		{"traversal in index", map[string]served{"index": {content: "../../main.hdb\n"}}, Options{},
			[]string{"index line 1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newSigServer(t, tc.files)
			tc.opt.Client = srv.Client()
			failedInstall(t, srv.URL+"/sigs", dir, tc.opt, append(tc.want, "signatures from "+srv.URL)...)
		})
	}
}

func TestInstallHTTPCancelled(t *testing.T) {
	arrived := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-r.Context().Done()
	}))
	defer srv.Close()
	dir := installed(t, set{"main.hdb": hdb("m", 1)})
	before := readSet(t, dir)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() {
		_, err := Install(ctx, srv.URL, dir, Options{Client: srv.Client()})
		done <- err
	}()
	<-arrived
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled Install: %v", err)
	}
	if !sameSet(before, readSet(t, dir)) {
		t.Error("dir changed")
	}
	if l := staged(t, dir); len(l) != 0 {
		t.Errorf("left behind: %v", l)
	}
}
