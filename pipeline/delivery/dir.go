package delivery

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/gatewatch/gatewatch/pipeline"

	"github.com/gatewatch/gatewatch/internal/durable"
)

// deliverDir writes the message for j's recipients into the route's
// directory as <queue ID>.<first recipient index>.eml, durably (file and
// directory fsync'd) before the recipients count as delivered. A
// Return-Path and one X-Original-To per recipient carry the envelope.
func (p *pool) deliverDir(j *job) []rcptResult {
	start := time.Now()
	res := p.writeDir(j)
	p.report(j, res, time.Since(start))
	return res
}

func (p *pool) writeDir(j *job) []rcptResult {
	e := j.msg.entry
	dir := p.route.target.dir
	fail := func(err error) []rcptResult {
		return allResults(j, deferred, localError("Cannot write to %s: %v", dir, err), "", "")
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fail(err)
	}
	content, err := e.OpenContent()
	if err != nil {
		return fail(err)
	}
	defer content.Close()
	name := e.Meta.ID + "." + strconv.Itoa(j.rcpts[0]) + ".eml"
	tmp := filepath.Join(dir, "."+name+".tmp")
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o640)
	if err != nil {
		return fail(err)
	}
	var head bytes.Buffer
	fmt.Fprintf(&head, "Return-Path: <%s>\r\n", e.Meta.Envelope.From)
	for _, idx := range j.rcpts {
		fmt.Fprintf(&head, "X-Original-To: <%s>\r\n", e.Meta.Envelope.Recipients[idx].Addr)
	}
	_, err = f.Write(head.Bytes())
	if err == nil {
		buf := p.bufs.Get().(*[]byte)
		// *os.File would take the reader through ReadFrom, which allocates
		// a fresh buffer per copy; a pooled one keeps the GC quiet.
		_, err = io.CopyBuffer(struct{ io.Writer }{f}, content, *buf)
		p.bufs.Put(buf)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(dir, name))
	}
	if err == nil {
		err = durable.SyncDir(dir)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fail(err)
	}
	return allResults(j, delivered, pipeline.Reply{Code: 250, Enhanced: [3]int{2, 0, 0}, Text: "Written to " + filepath.Join(dir, name)}, "", "")
}
