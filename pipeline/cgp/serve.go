package cgp

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Options tunes Serve. The zero value is usable.
type Options struct {
	Concurrency int           // requests judged at once; 0: 8
	MaxMessage  int64         // bytes read from one file; 0: 100 MiB (larger: ERROR for that request)
	BaseDir     string        // relative FILE paths are resolved against it (CGP passes paths relative to its base directory); "" : the working directory
	Timeout     time.Duration // per request; 0: 5 minutes
}

const (
	defaultConcurrency = 8
	defaultMaxMessage  = 100 << 20
	defaultTimeout     = 5 * time.Minute
	// maxLine is the longest request line read; CGP's own lines are short
	// (a sequence number, a command, a relative path).
	maxLine = 64 << 10
)

func (o Options) withDefaults() Options {
	if o.Concurrency <= 0 {
		o.Concurrency = defaultConcurrency
	}
	if o.MaxMessage <= 0 {
		o.MaxMessage = defaultMaxMessage
	}
	if o.Timeout <= 0 {
		o.Timeout = defaultTimeout
	}
	return o
}

// hooks lets tests see protocol steps that leave no trace on the wire.
type hooks struct {
	quitRead func() // QUIT was read; in-flight requests are not answered yet
}

// Serve reads requests from r until QUIT or EOF and writes responses to w.
// Requests are judged concurrently and answered as they finish (out of
// order, each with its own sequence number, as CGP allows); writes to w are
// serialized, one whole line at a time. A malformed line gets an ERROR for
// its sequence number (or, when it has none, a "* " comment line) and Serve
// goes on; a missing or unreadable file, a judge error or a timeout give
// "seq ERROR text". Serve returns nil on QUIT (after answering every request
// already started and replying "seq OK" to QUIT) or EOF (after answering
// every request started), and ctx.Err() when ctx ends. When ctx ends, the
// requests in flight are not answered: CGP sends pending requests again to
// the helper it starts next. A failed write to w ends Serve with that
// error. Serve does not close r; a goroutine stays blocked reading r until
// r returns.
func Serve(ctx context.Context, r io.Reader, w io.Writer, j Judge, opts Options) error {
	return serve(ctx, r, w, j, opts, hooks{})
}

func serve(ctx context.Context, r io.Reader, w io.Writer, j Judge, opts Options, h hooks) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	parent := ctx
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s := &session{
		ctx:  ctx,
		j:    j,
		opts: opts.withDefaults(),
		out:  &lineWriter{w: w, failed: make(chan struct{})},
	}
	s.sem = make(chan struct{}, s.opts.Concurrency)

	lines := make(chan inLine)
	stop := make(chan struct{})
	defer close(stop)
	go readLines(bufio.NewReaderSize(r, maxLine+2), lines, stop)

	// finish is the way out of the loop: a failed write wins, then the
	// end of ctx, then the loop's own result.
	finish := func(err error) error {
		cancel() // only matters on a failed write: stop the requests in flight
		s.wg.Wait()
		if werr := s.out.error(); werr != nil {
			return werr
		}
		if cerr := parent.Err(); cerr != nil {
			return cerr
		}
		return err
	}
	for {
		select {
		case <-ctx.Done():
			return finish(nil)
		case <-s.out.failed:
			return finish(nil)
		case in := <-lines:
			if in.err != nil {
				s.wg.Wait() // answer what was started before the input ended
				if errors.Is(in.err, io.EOF) {
					return finish(nil)
				}
				return finish(fmt.Errorf("cgp: read request: %w", in.err))
			}
			if !s.handleLine(in, h) {
				return finish(nil)
			}
		}
	}
}

// session is the state of one Serve call.
type session struct {
	ctx  context.Context // ends when Serve's ctx ends or a write fails
	j    Judge
	opts Options
	out  *lineWriter
	sem  chan struct{} // one token per request inside the judge
	wg   sync.WaitGroup
}

// handleLine answers or starts one request; it reports false once QUIT has
// been answered.
func (s *session) handleLine(in inLine, h hooks) bool {
	if in.tooLong {
		s.answerMalformed(seqPrefix(in.text), fmt.Errorf("cgp: request line longer than %d bytes", maxLine))
		return true
	}
	if strings.Trim(in.text, " \t") == "" {
		return true
	}
	req, err := ParseRequest(in.text)
	if err != nil {
		s.answerMalformed(req.Seq, err)
		return true
	}
	switch req.Command {
	case "INTF":
		s.out.write(fmt.Sprintf("%s INTF %d\n", req.Seq, interfaceVersion))
	case "FILE":
		path, err := fileArg(req.Arg)
		if err != nil {
			s.answerMalformed(req.Seq, err)
			return true
		}
		s.start(req.Seq, path)
	case "QUIT":
		if h.quitRead != nil {
			h.quitRead()
		}
		s.wg.Wait()
		if s.ctx.Err() == nil {
			s.out.write(req.Seq + " OK\n")
		}
		return false
	default:
		s.out.write(errorLine(req.Seq, "unknown command"))
	}
	return true
}

// answerMalformed answers a line that could not be parsed. Without a
// sequence number there is nothing CGP could match an ERROR to, so the
// complaint goes to CGP's log as a comment.
func (s *session) answerMalformed(seq string, err error) {
	text := strings.TrimPrefix(err.Error(), "cgp: ")
	if seq == "" {
		s.out.write(comment("malformed request ignored: " + text))
		return
	}
	s.out.write(errorLine(seq, text))
}

// start judges one FILE request in its own goroutine.
func (s *session) start(seq, path string) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		resp := s.judgeFile(seq, path)
		if s.ctx.Err() != nil {
			return // Serve is ending without QUIT: CGP re-sends this request
		}
		s.out.write(resp)
	}()
}

// Texts of the ERROR answers; the detail goes into a comment line before
// them, so it reaches CGP's log without becoming text CGP may show senders.
const (
	errTextRead     = "cannot read message file"
	errTextTooLarge = "message file too large"
	errTextFormat   = "malformed queue file"
	errTextJudge    = "scan failed"
	errTextTimeout  = "scan timed out"
)

// judgeFile returns the whole answer to one FILE request. The timeout
// covers waiting for a slot, reading and judging, as CGP's own time-out
// for the helper does.
func (s *session) judgeFile(seq, path string) string {
	ctx, cancel := context.WithTimeout(s.ctx, s.opts.Timeout)
	defer cancel()
	fail := func(text string, detail error) string {
		return comment("request "+seq+": "+detail.Error()) + errorLine(seq, text)
	}

	select {
	case s.sem <- struct{}{}:
	case <-ctx.Done():
		return fail(errTextTimeout, fmt.Errorf("no free slot within %v", s.opts.Timeout))
	}
	release := func() { <-s.sem }

	data, err := readFile(s.resolve(path), s.opts.MaxMessage)
	if err != nil {
		release()
		if errors.Is(err, errTooLarge) {
			return fail(errTextTooLarge, err)
		}
		return fail(errTextRead, err)
	}
	env, raw, err := ParseQueueFile(data)
	if err != nil {
		release()
		return fail(errTextFormat, fmt.Errorf("%s: %w", path, err))
	}
	env.QueueID = queueID(path)

	type result struct {
		v   Verdict
		err error
	}
	done := make(chan result, 1)
	go func() {
		// The slot is held until the judge returns, even past the
		// timeout, so a judge that ignores ctx cannot push the number
		// of judges running above Concurrency.
		defer release()
		defer func() {
			if p := recover(); p != nil {
				done <- result{err: fmt.Errorf("panicked: %v", p)}
			}
		}()
		v, err := s.j.Judge(ctx, env, raw)
		done <- result{v, err}
	}()
	select {
	case res := <-done:
		switch {
		case res.err == nil:
			return verdictResponse(seq, res.v)
		case errors.Is(res.err, context.DeadlineExceeded) && ctx.Err() != nil:
			// the same words whichever of the two reported it first
			return fail(errTextTimeout, fmt.Errorf("no verdict within %v", s.opts.Timeout))
		default:
			return fail(errTextJudge, fmt.Errorf("judge: %w", res.err))
		}
	case <-ctx.Done():
		return fail(errTextTimeout, fmt.Errorf("no verdict within %v", s.opts.Timeout))
	}
}

func (s *session) resolve(path string) string {
	if s.opts.BaseDir == "" || filepath.IsAbs(path) {
		return path
	}
	return filepath.Join(s.opts.BaseDir, path)
}

var errTooLarge = errors.New("message file too large")

// readFile reads at most max bytes of the file; a larger file is an error,
// checked before reading when the size is known.
func readFile(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() && st.Size() > max {
		return nil, fmt.Errorf("%s: %w: %d bytes, limit %d", path, errTooLarge, st.Size(), max)
	}
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("%s: %w: over %d bytes", path, errTooLarge, max)
	}
	return data, nil
}

// queueID is CGP's message number: CGP names queue files after it
// ("Queue/12345.msg"). Names that are not plain tokens are not reported.
func queueID(path string) string {
	base := path
	if i := strings.LastIndexAny(base, `/\`); i >= 0 {
		base = base[i+1:]
	}
	base = strings.TrimSuffix(base, ".msg")
	if base == "" || len(base) > 64 {
		return ""
	}
	for _, c := range []byte(base) {
		if !isDigit(c) && (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') && c != '-' && c != '_' && c != '.' {
			return ""
		}
	}
	return base
}

// lineWriter serializes responses so each reaches w in one Write call and
// lines of concurrent answers never interleave.
type lineWriter struct {
	mu     sync.Mutex
	w      io.Writer
	err    error
	failed chan struct{} // closed on the first failed write
}

func (lw *lineWriter) write(s string) {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	if lw.err != nil {
		return
	}
	if _, err := io.WriteString(lw.w, s); err != nil {
		lw.err = fmt.Errorf("cgp: write response: %w", err)
		close(lw.failed)
	}
}

func (lw *lineWriter) error() error {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	return lw.err
}

// inLine is one request line, or the read error that ends the input.
type inLine struct {
	text    string
	tooLong bool // text holds only the start of the line
	err     error
}

// readLines feeds lines to out until the input ends or stop is closed.
func readLines(br *bufio.Reader, out chan<- inLine, stop <-chan struct{}) {
	for {
		in := readLine(br)
		select {
		case out <- in:
		case <-stop:
			return
		}
		if in.err != nil {
			return
		}
	}
}

func readLine(br *bufio.Reader) inLine {
	b, err := br.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		prefix := string(b[:min(len(b), 128)])
		for errors.Is(err, bufio.ErrBufferFull) {
			_, err = br.ReadSlice('\n')
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return inLine{err: err}
		}
		return inLine{text: prefix, tooLong: true}
	}
	if err != nil && (len(b) == 0 || !errors.Is(err, io.EOF)) {
		return inLine{err: err}
	}
	// A last line without its line end is still a request.
	line := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
	if len(line) > maxLine {
		return inLine{text: line[:128], tooLong: true}
	}
	return inLine{text: line}
}
