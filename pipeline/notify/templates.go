package notify

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/template"

	"github.com/gatewatch/gatewatch/pipeline"
)

// maxOutput bounds what one template may produce: a loop gone wrong in an
// override must not fill the spool.
const maxOutput = 1 << 20

// shippedDir is how errors name the directory of the shipped templates,
// which exist only inside the binary.
const shippedDir = "shipped"

// tmpl is one loaded template and the file it came from.
type tmpl struct {
	path string // for messages: the file, or shipped/<name>
	t    *template.Template
}

// templates are the loaded templates by notification kind.
type templates map[string]*tmpl

func kinds() []string {
	return []string{pipeline.NotifySender, pipeline.NotifyRecipients, pipeline.NotifyAdmin}
}

// events are the actions a notification can be about; an override
// directory may hold a template per kind and event, <kind>.<event>.tmpl,
// used instead of <kind>.tmpl for that event.
func events() []string { return []string{"deliver", "reject", "drop", "quarantine"} }

func fileName(kind string) string { return kind + ".tmpl" }

func funcs() template.FuncMap {
	return template.FuncMap{"join": strings.Join}
}

// Check loads every template a configuration can use, the shipped ones and
// those in cfg.Templates, and renders each with sample data, so that syntax
// errors, unknown fields and output without a Subject or a blank line show
// before a message needs them. Errors read "<file>:<line>: <what>"; they
// do not name the notify.templates key, which callers add.
func Check(cfg Config, shipped fs.FS) error {
	if err := checkDir(cfg.Templates); err != nil {
		return err
	}
	var errs []error
	for _, kind := range kinds() {
		if _, err := loadShipped(shipped, kind); err != nil {
			errs = append(errs, err)
		}
		if cfg.Templates == "" {
			continue
		}
		for _, name := range append([]string{kind}, eventNames(kind)...) {
			if _, err := loadOverride(cfg.Templates, name); err != nil && !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// loadTemplates loads the template for each kind: the override in dir
// when there is one, else the shipped one.
func loadTemplates(dir string, shipped fs.FS) (templates, error) {
	if err := checkDir(dir); err != nil {
		return nil, err
	}
	ts := templates{}
	var errs []error
	for _, kind := range kinds() {
		t, err := loadOverride(dir, kind)
		if dir == "" || errors.Is(err, fs.ErrNotExist) {
			t, err = loadShipped(shipped, kind)
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		ts[kind] = t
		for _, name := range eventNames(kind) {
			t, err := loadOverride(dir, name)
			switch {
			case err == nil:
				ts[name] = t
			case !errors.Is(err, fs.ErrNotExist):
				errs = append(errs, err)
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return ts, nil
}

func eventNames(kind string) []string {
	var out []string
	for _, ev := range events() {
		out = append(out, kind+"."+ev)
	}
	return out
}

// pick is the template for kind about an event: the event's own when the
// override directory has one.
func (ts templates) pick(kind, event string) *tmpl {
	if t, ok := ts[kind+"."+event]; ok {
		return t
	}
	return ts[kind]
}

func checkDir(dir string) error {
	if dir == "" {
		return nil
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("template directory: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("template directory %s is not a directory", dir)
	}
	return nil
}

// loadOverride loads kind's template from dir; an error wrapping
// fs.ErrNotExist means dir has none.
func loadOverride(dir, kind string) (*tmpl, error) {
	if dir == "" {
		return nil, fs.ErrNotExist
	}
	path := filepath.Join(dir, fileName(kind))
	text, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read template: %w", err)
	}
	return load(path, kind, text)
}

func loadShipped(shipped fs.FS, kind string) (*tmpl, error) {
	path := shippedDir + "/" + fileName(kind)
	text, err := fs.ReadFile(shipped, fileName(kind))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return load(path, kind, text)
}

// load parses a template and renders it with every sample.
func load(path, kind string, text []byte) (*tmpl, error) {
	name := fileName(kind)
	t, err := template.New(name).Funcs(funcs()).Parse(string(text))
	if err != nil {
		return nil, locate(err, name, path)
	}
	tp := &tmpl{path: path, t: t}
	for _, d := range samples() {
		out, err := tp.execute(d)
		if err != nil {
			return nil, err
		}
		fields, _, err := parseOutput(out)
		if err != nil {
			return nil, fmt.Errorf("%s: output: %w", path, err)
		}
		if _, ok := subjectOf(fields); !ok {
			return nil, fmt.Errorf("%s: output has no Subject field", path)
		}
	}
	return tp, nil
}

// execute renders the template; errors name the file and line.
func (tp *tmpl) execute(d *Data) ([]byte, error) {
	b := &boundedBuffer{}
	if err := tp.t.Execute(b, d); err != nil {
		return nil, locate(err, tp.t.Name(), tp.path)
	}
	return b.Bytes(), nil
}

// boundedBuffer is a buffer that refuses to grow beyond maxOutput.
type boundedBuffer struct{ bytes.Buffer }

func (b *boundedBuffer) Write(p []byte) (int, error) {
	if b.Len()+len(p) > maxOutput {
		return 0, fmt.Errorf("output exceeds %d bytes", maxOutput)
	}
	return b.Buffer.Write(p)
}

// locate rewrites a text/template error, "template: NAME:LINE[:COL]: what",
// to "PATH:LINE: what", the form editors and people look for.
func locate(err error, name, path string) error {
	msg := err.Error()
	rest, ok := strings.CutPrefix(msg, "template: "+name+":")
	if !ok {
		return fmt.Errorf("%s: %w", path, err)
	}
	line, rest, ok := cutNumber(rest)
	if !ok {
		return fmt.Errorf("%s: %w", path, err)
	}
	if _, r, ok := cutNumber(rest); ok {
		rest = r // the column: lines are what people go by
	}
	rest = strings.TrimPrefix(rest, " ")
	// Execution errors say which template ran, which the path says better.
	if strings.HasPrefix(rest, "executing ") {
		if i := strings.Index(rest, " at <"); i >= 0 {
			rest = rest[i+len(" at "):]
		}
	}
	return fmt.Errorf("%s:%d: %s", path, line, rest)
}

// cutNumber reads "DIGITS:" from the start of s.
func cutNumber(s string) (int, string, bool) {
	digits, rest, ok := strings.Cut(s, ":")
	if !ok {
		return 0, s, false
	}
	n, err := strconv.Atoi(digits)
	if err != nil || n < 0 {
		return 0, s, false
	}
	return n, rest, true
}
