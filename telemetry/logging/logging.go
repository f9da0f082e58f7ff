// Package logging sets up zerolog and writes every event as one log line
// whose fields carry the catalog's names.
package logging

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/gatewatch/gatewatch/telemetry"
)

// Config is the log section of the configuration.
type Config struct {
	Level  string `yaml:"level"`  // debug, info, warn, error
	Format string `yaml:"format"` // json, console, or auto (console on a terminal; also when empty)
}

// Validate checks the section; errors name the key.
func (c Config) Validate() error {
	if _, err := parseLevel(c.Level); err != nil {
		return fmt.Errorf("log.level: %w", err)
	}
	switch c.Format {
	case "json", "console", "auto", "":
		return nil
	}
	return fmt.Errorf("log.format: %q is not json, console or auto", c.Format)
}

func parseLevel(s string) (telemetry.Level, error) {
	switch strings.ToLower(s) {
	case "debug":
		return telemetry.LevelDebug, nil
	case "info", "":
		return telemetry.LevelInfo, nil
	case "warn", "warning":
		return telemetry.LevelWarn, nil
	case "error":
		return telemetry.LevelError, nil
	}
	return 0, fmt.Errorf("%q is not debug, info, warn or error", s)
}

// timeFormat stamps log lines to the millisecond: events come in bursts.
const timeFormat = "2006-01-02T15:04:05.000Z07:00"

// Logger writes events (and the process's own messages) to one output.
// Event lines are buffered and written whenever no further event is
// waiting; subscribed with a linger, a busy gateway's log is written in
// batches.
type Logger struct {
	mu    sync.Mutex
	buf   *bufio.Writer
	zl    zerolog.Logger // the process's own messages, stamped now
	ev    zerolog.Logger // events, stamped with their own time
	level telemetry.Level
}

// New creates a logger writing to w in the configured format.
func New(cfg Config, w io.Writer) (*Logger, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	lvl, _ := parseLevel(cfg.Level)
	l := &Logger{level: lvl}
	l.buf = bufio.NewWriterSize(w, 64<<10)
	var out io.Writer = lockedWriter{l}
	if cfg.Format == "console" || (cfg.Format == "auto" || cfg.Format == "") && isTerminal(w) {
		out = zerolog.ConsoleWriter{Out: out, TimeFormat: time.RFC3339}
	}
	l.ev = zerolog.New(out)
	l.zl = l.ev.With().Timestamp().Logger()
	return l, nil
}

// lockedWriter lets the process's own messages and the event channel share
// the buffer.
type lockedWriter struct{ l *Logger }

func (w lockedWriter) Write(p []byte) (int, error) {
	w.l.mu.Lock()
	defer w.l.mu.Unlock()
	return w.l.buf.Write(p)
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// Flush writes out what is buffered.
func (l *Logger) Flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	_ = l.buf.Flush()
}

// Info logs a message of the process itself (start-up, shutdown) at once.
func (l *Logger) Info(msg string, kv ...string) { l.message(zerolog.InfoLevel, msg, kv) }

// Error logs a failure of the process itself at once.
func (l *Logger) Error(msg string, kv ...string) { l.message(zerolog.ErrorLevel, msg, kv) }

func (l *Logger) message(lvl zerolog.Level, msg string, kv []string) {
	e := l.zl.WithLevel(lvl)
	for i := 0; i+1 < len(kv); i += 2 {
		e = e.Str(kv[i], kv[i+1])
	}
	e.Msg(msg)
	l.Flush()
}

// Wants reports whether events of type t are logged at the configured
// level; the log channel subscribes only to those.
func (l *Logger) Wants(t telemetry.Type) bool { return t.Spec().Level >= l.level }

// Handle is the event channel's handler: one line per event at or above
// the configured level.
func (l *Logger) Handle(ev telemetry.Event, more bool) {
	spec := ev.Type.Spec()
	if spec.Level >= l.level {
		e := l.ev.WithLevel(zerologLevel(spec.Level)).Str("time", ev.Time.UTC().Format(timeFormat)).Str("event", spec.Name)
		ev.Fields(func(f telemetry.Field) {
			if f.Numeric {
				e = e.Float64(f.Name, f.Num)
			} else {
				e = e.Str(f.Name, f.Text)
			}
		})
		e.Msg(spec.CEFName)
	}
	if !more {
		l.Flush()
	}
}

func zerologLevel(l telemetry.Level) zerolog.Level {
	switch l {
	case telemetry.LevelDebug:
		return zerolog.DebugLevel
	case telemetry.LevelWarn:
		return zerolog.WarnLevel
	case telemetry.LevelError:
		return zerolog.ErrorLevel
	}
	return zerolog.InfoLevel
}
