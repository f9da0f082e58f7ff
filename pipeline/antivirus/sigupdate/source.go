package sigupdate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// indexName is the file that lists a source's set. It is required at a
// URL, where there is no directory listing to fall back on.
const indexName = "index"

// source is where a signature set comes from.
type source interface {
	// list says which files make the set.
	list(ctx context.Context, lim *limits) ([]IndexEntry, error)
	// open returns one file's content and the modification time to give it.
	open(ctx context.Context, name string) (io.ReadCloser, time.Time, error)
}

func newSource(from string, client *http.Client) (source, error) {
	if scheme, _, ok := strings.Cut(from, "://"); ok {
		u, err := url.Parse(from)
		if err != nil {
			return nil, fmt.Errorf("source URL: %w", err)
		}
		if u.Scheme != "http" && u.Scheme != "https" {
			return nil, fmt.Errorf("source URL scheme %q: want http or https", scheme)
		}
		if u.Host == "" {
			return nil, fmt.Errorf("source URL %s has no host", from)
		}
		return httpSource{base: u, client: client}, nil
	}
	if from == "" {
		return nil, errors.New("no source given")
	}
	return localSource(from), nil
}

// localSource is a directory on this machine.
type localSource string

func (s localSource) list(ctx context.Context, lim *limits) ([]IndexEntry, error) {
	f, err := os.Open(filepath.Join(string(s), indexName))
	switch {
	case err == nil:
		defer f.Close()
		return ParseIndex(lim.file(indexName, &ctxReader{ctx: ctx, r: f}))
	case !errors.Is(err, fs.ErrNotExist):
		return nil, err
	}
	des, err := os.ReadDir(string(s))
	if err != nil {
		return nil, err
	}
	var entries []IndexEntry
	for _, de := range des {
		name := de.Name()
		if !strings.HasSuffix(name, ".hdb") && !strings.HasSuffix(name, ".hsb") {
			continue
		}
		// Refused rather than skipped: silently leaving out a file the
		// operator put there would install a smaller set than intended.
		if !validName(name) {
			return nil, fmt.Errorf("%s: not a plain file name ending in .hdb or .hsb", name)
		}
		entries = append(entries, IndexEntry{Name: name})
	}
	if len(entries) == 0 {
		return nil, errors.New("no .hdb or .hsb files")
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name < entries[j].Name })
	return entries, nil
}

func (s localSource) open(ctx context.Context, name string) (io.ReadCloser, time.Time, error) {
	f, err := os.Open(filepath.Join(string(s), name))
	if err != nil {
		return nil, time.Time{}, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, time.Time{}, err
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, time.Time{}, fmt.Errorf("%s: not a regular file", name)
	}
	return readCloser{&ctxReader{ctx: ctx, r: f}, f}, st.ModTime(), nil
}

// httpSource is a directory served over HTTP(S).
type httpSource struct {
	base   *url.URL
	client *http.Client
}

func (s httpSource) list(ctx context.Context, lim *limits) ([]IndexEntry, error) {
	body, _, err := s.open(ctx, indexName)
	if err != nil {
		return nil, err
	}
	defer body.Close()
	return ParseIndex(lim.file(indexName, body))
}

func (s httpSource) open(ctx context.Context, name string) (io.ReadCloser, time.Time, error) {
	u := s.fileURL(name)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, time.Time{}, err
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, time.Time{}, err // already names method and URL
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, time.Time{}, fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	mtime := time.Now()
	if t, err := http.ParseTime(resp.Header.Get("Last-Modified")); err == nil {
		mtime = t
	}
	return resp.Body, mtime, nil
}

// fileURL joins name to the base with exactly one slash, keeping any
// query (signed URLs carry their credentials there).
func (s httpSource) fileURL(name string) string {
	u := *s.base
	u.Path = strings.TrimRight(u.Path, "/") + "/" + name
	u.RawPath = ""
	return u.String()
}

// ctxReader makes a long local copy stop when the update is cancelled;
// HTTP bodies get that from the request's context already.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

type readCloser struct {
	io.Reader
	io.Closer
}
