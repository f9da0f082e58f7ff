package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/gatewatch/gatewatch/pipeline/antispam"
	"github.com/gatewatch/gatewatch/telemetry"
	"github.com/gatewatch/gatewatch/telemetry/cef"
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
	fmt.Fprintln(w, "Event fields (log keys): ")
	var fields []string
	fullEvent().Fields(func(f telemetry.Field) { fields = append(fields, "`"+f.Name+"`") })
	fmt.Fprintln(w, strings.Join(fields, ", ")+".")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "### CEF field dictionary")
	fmt.Fprintln(w)
	fmt.Fprintf(w, "Header: `CEF:0|%s|%s|<version>|<CEF id>|<CEF name>|<severity>|`. Extension keys, in record order "+
		"(limits in UTF-16 code units; a longer value is cut and ends with `%s`):\n", cef.Vendor, cef.Product, cef.TruncationMarker)
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| key | label | limit | log field | meaning |")
	fmt.Fprintln(w, "|---|---|---|---|---|")
	for _, k := range cef.Dictionary() {
		limit := ""
		if k.Max > 0 {
			limit = fmt.Sprint(k.Max)
		}
		label := k.Label
		if label == "*" {
			label = "per event type"
		}
		fmt.Fprintf(w, "| `%s` | %s | %s | %s | %s |\n", k.Key, label, limit, code(k.Field), k.Doc)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "### Anti-spam checks")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Scores are the defaults; `antispam.scores` replaces any of them. Each DNS list adds `DNSBL_<NAME>` "+
		"(ip lists: the client and, with `received: true`, the relays in Received fields) or `URIBL_<NAME>` (domain lists: "+
		"the registrable domains and IP literals of the message's URLs), scored by the list's `score` or its `codes`.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| check | score | fires when |")
	fmt.Fprintln(w, "|---|---|---|")
	for _, c := range antispam.Checks() {
		fmt.Fprintf(w, "| `%s` | %g | %s |\n", c.Name, c.Score, c.Doc)
	}
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
		name := fmt.Sprintf("`%s_%s`", prom.Namespace, d.Name)
		if d.MIBOnly {
			name = fmt.Sprintf("(not exported) `%s`", d.Name)
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %d | %s |\n", name, d.Kind, d.Label, code(legacy), d.Arc, d.Help)
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

// fullEvent has every field set, so that Fields lists them all.
func fullEvent() *telemetry.Event {
	return &telemetry.Event{QueueID: "x", SessionID: "x", ClientIP: "x", ClientPort: 1, Helo: "x", Sender: "x",
		Recipient: "x", Recipients: 1, Size: 1, Subject: "x", MessageID: "x", Attachments: []string{"x"}, Verdicts: "x",
		Action: "x", Outcome: "x", Route: "x", Remote: "x", Stage: "x", Reason: "x", Code: 1, Status: "x", Text: "x",
		Channel: "x", Count: 1, Threshold: 1, Attempt: 1, Duration: 1, Err: "x"}
}
