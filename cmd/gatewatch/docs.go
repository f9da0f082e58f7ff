package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/gatewatch/gatewatch/telemetry"
	"github.com/gatewatch/gatewatch/telemetry/prom"
)

// writeReference writes the event catalog and the statistics as Markdown,
// straight from the code; the README carries this text and a test keeps it
// in step (`make docs` rewrites it).
func writeReference(w io.Writer) {
	fmt.Fprintln(w, "### Events")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| event | CEF id | CEF name | severity | log level | trap | meaning |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|")
	for _, t := range telemetry.Types() {
		s := t.Spec()
		trap := ""
		if s.Trap {
			trap = "yes"
		}
		fmt.Fprintf(w, "| `%s` | %d | %s | %d | %s | %s | %s |\n", s.Name, t.SignatureID(), s.CEFName, s.Severity,
			levelName(s.Level), trap, s.Description)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Event fields (log key / CEF key): ")
	var ev telemetry.Event
	ev.QueueID, ev.SessionID, ev.ClientIP, ev.ClientPort, ev.Helo = "x", "x", "x", 1, "x"
	ev.Sender, ev.Recipient, ev.Recipients, ev.Size, ev.Route, ev.Remote, ev.Stage = "x", "x", 1, 1, "x", "x", "x"
	ev.Reason, ev.Code, ev.Status, ev.Text, ev.Channel, ev.Count, ev.Attempt, ev.Duration, ev.Err = "x", 1, "x", "x", "x", 1, 1, 1, "x"
	var fields []string
	ev.Fields(func(f telemetry.Field) { fields = append(fields, fmt.Sprintf("`%s`/`%s`", f.Name, f.CEFKey)) })
	fmt.Fprintln(w, strings.Join(fields, ", ")+".")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "### Statistics")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| Prometheus metric | type | label | `/stats` name (replaced product) | MIB arc | meaning |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|")
	for _, d := range telemetry.NewStats().Descs() {
		legacy := d.Legacy
		if d.LegacyEach != "" {
			legacy += ", " + strings.ReplaceAll(d.LegacyEach, "%s", "<"+d.Label+">")
		}
		fmt.Fprintf(w, "| `%s_%s` | %s | %s | %s | %d | %s |\n", prom.Namespace, d.Name, d.Kind, d.Label, code(legacy), d.Arc, d.Help)
	}
}

func code(s string) string {
	if s == "" {
		return ""
	}
	return "`" + s + "`"
}

func levelName(l telemetry.Level) string {
	switch l {
	case telemetry.LevelDebug:
		return "debug"
	case telemetry.LevelWarn:
		return "warn"
	case telemetry.LevelError:
		return "error"
	}
	return "info"
}
