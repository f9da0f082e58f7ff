package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gatewatch/gatewatch/pipeline"
	"github.com/gatewatch/gatewatch/pipeline/antispam/bayes"
	"github.com/gatewatch/gatewatch/pipeline/spool"
	"github.com/gatewatch/gatewatch/pipeline/store"
)

const quarantineUsage = `Usage: gatewatch quarantine [-config FILE] [-json] COMMAND
  list [--category C] [--since T] [--sender PAT] [--recipient PAT]
                  quarantined messages; T is RFC 3339 or a duration back from now (24h)
  show ID         one entry's metadata (client, envelope, subject, reasons, size, category)
  release ID [--to ADDR[,ADDR]]
                  queue the message for delivery as it was received, without scanning
                  it again, to its recipients or to the given addresses
  delete ID       remove the message from the quarantine
`

func cmdQuarantine(args []string, stdout, stderr io.Writer) int {
	path, asJSON, words, code, ok := storeCommandFlags("quarantine", quarantineUsage, args, stderr)
	if !ok {
		return code
	}
	if len(words) == 0 {
		fmt.Fprint(stderr, quarantineUsage)
		return exitUsage
	}
	op, rest := words[0], words[1:]
	var f store.Filter
	var since, to string
	sub := flag.NewFlagSet("quarantine "+op, flag.ContinueOnError)
	sub.SetOutput(io.Discard)
	switch op {
	case "list":
		sub.StringVar(&f.Category, "category", "", "")
		sub.StringVar(&since, "since", "", "")
		sub.StringVar(&f.Sender, "sender", "", "")
		sub.StringVar(&f.Recipient, "recipient", "", "")
	case "release":
		sub.StringVar(&to, "to", "", "")
	case "show", "delete":
	default:
		fmt.Fprintf(stderr, "gatewatch quarantine: unknown command %q\n%s", op, quarantineUsage)
		return exitUsage
	}
	// The ID may come before or after the flags.
	var id string
	if len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
		id, rest = rest[0], rest[1:]
	}
	if err := sub.Parse(rest); err != nil {
		fmt.Fprintf(stderr, "gatewatch quarantine %s: %v\n%s", op, err, quarantineUsage)
		return exitUsage
	}
	if id == "" && sub.NArg() > 0 {
		id = sub.Arg(0)
		rest = sub.Args()[1:]
	} else {
		rest = sub.Args()
	}
	if len(rest) > 0 || (op == "list") != (id == "") {
		fmt.Fprintf(stderr, "gatewatch quarantine %s: bad arguments\n%s", op, quarantineUsage)
		return exitUsage
	}
	if op != "list" {
		if err := store.CheckID(id); err != nil {
			fmt.Fprintf(stderr, "gatewatch quarantine %s: %v\n", op, err)
			return exitUsage
		}
	}
	var toList []string
	if to != "" {
		toList = strings.Split(to, ",")
		if err := checkAddresses(toList); err != nil {
			fmt.Fprintf(stderr, "gatewatch quarantine release: --to: %v\n", err)
			return exitUsage
		}
	}
	if f.Category != "" && !slices.Contains(pipeline.Categories(), f.Category) {
		fmt.Fprintf(stderr, "gatewatch quarantine list: --category %q: want one of %s\n", f.Category, strings.Join(pipeline.Categories(), ", "))
		return exitUsage
	}
	if since != "" {
		t, err := parseSince(since, time.Now())
		if err != nil {
			fmt.Fprintf(stderr, "gatewatch quarantine list: --since: %v\n", err)
			return exitUsage
		}
		f.Since = t
	}
	l, err := loadConfig(path)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitConfig
	}
	cfg := l.cfg
	switch op {
	case "list", "show":
		return quarantineRead(cfg.Store.Dir, op, id, f, asJSON, stdout, stderr)
	}
	if spool.InUse(cfg.Spool.Dir) {
		return quarantineViaAdmin(cfg.Admin.Listen, op, id, to, stdout, stderr)
	}
	return quarantineOffline(cfg, op, id, toList, stdout, stderr)
}

// parseSince reads an RFC 3339 time or a duration back from now.
func parseSince(s string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither an RFC 3339 time nor a duration such as 24h", s)
	}
	return t, nil
}

// quarantineRead lists or shows from the files; it changes nothing, so it
// is safe beside a running gateway.
func quarantineRead(dir, op, id string, f store.Filter, asJSON bool, stdout, stderr io.Writer) int {
	st, err := store.OpenReadOnly(dir)
	if err != nil {
		fmt.Fprintf(stderr, "gatewatch quarantine %s: %v\n", op, err)
		return exitFailure
	}
	if op == "show" {
		e, err := st.Get(id)
		if err != nil {
			fmt.Fprintf(stderr, "gatewatch quarantine show: %v\n", err)
			return exitNotFound
		}
		return printJSON(stdout, e)
	}
	list, err := st.List(f)
	if err != nil {
		fmt.Fprintf(stderr, "gatewatch quarantine list: %v\n", err)
		return exitUsage
	}
	if asJSON {
		return printJSON(stdout, list)
	}
	tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tCATEGORY\tSTATUS\tGROUP\tSTORED\tSIZE\tFROM\tRECIPIENTS\tSUBJECT")
	for _, e := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t<%s>\t%s\t%s\n", e.ID, e.Category, e.Status, e.Group,
			e.Stored.Format(time.RFC3339), e.Size, e.From, strings.Join(e.Recipients, ","), e.Subject)
	}
	tw.Flush()
	fmt.Fprintf(stdout, "%d message(s)\n", len(list))
	return exitOK
}

// quarantineResult is the admin endpoint's answer.
type quarantineResult struct {
	OK      bool   `json:"ok"`
	Queued  string `json:"queued,omitempty"` // queue ID of a released message
	Warning string `json:"warning,omitempty"`
	Error   string `json:"error,omitempty"`
}

func quarantineViaAdmin(addr, op, id, to string, stdout, stderr io.Writer) int {
	if addr == "" {
		fmt.Fprintln(stderr, "gatewatch quarantine: the gateway is running with no admin listener; set admin.listen")
		return exitFailure
	}
	q := url.Values{"id": {id}}
	if to != "" {
		q.Set("to", to)
	}
	u := fmt.Sprintf("http://%s/quarantine/%s?%s", addr, op, q.Encode())
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Post(u, "text/plain", nil)
	if err != nil {
		fmt.Fprintf(stderr, "gatewatch quarantine %s: %v\n", op, err)
		return exitFailure
	}
	defer resp.Body.Close()
	var res quarantineResult
	if err := json.NewDecoder(resp.Body).Decode(&res); err != nil {
		fmt.Fprintf(stderr, "gatewatch quarantine %s: bad answer from the gateway: %v\n", op, err)
		return exitFailure
	}
	if !res.OK {
		fmt.Fprintf(stderr, "gatewatch quarantine %s: %s\n", op, res.Error)
		if resp.StatusCode == http.StatusBadRequest {
			return exitUsage
		}
		return exitNotFound
	}
	reportQuarantine(stdout, op, id, res.Queued)
	if res.Warning != "" {
		fmt.Fprintf(stderr, "gatewatch quarantine %s: %s\n", op, res.Warning)
	}
	return exitOK
}

// quarantineOffline changes the store with no gateway running; a released
// message waits in the spool for the next start.
func quarantineOffline(cfg *Config, op, id string, to []string, stdout, stderr io.Writer) int {
	st, err := store.Open(cfg.Store, discard{}, nil)
	if err != nil {
		fmt.Fprintf(stderr, "gatewatch quarantine %s: %v\n", op, err)
		return exitFailure
	}
	queued, err := quarantineChange(st, cfg, op, id, to, "command line", stderr)
	if err != nil {
		fmt.Fprintf(stderr, "gatewatch quarantine %s: %v\n", op, err)
		if errors.Is(err, store.ErrNotFound) {
			return exitNotFound
		}
		return exitFailure
	}
	reportQuarantine(stdout, op, id, queued)
	return exitOK
}

// quarantineChange releases or deletes with no gateway running: the spool
// is opened (and locked) for the release, and a released spam message
// teaches the classifier's model file, as the running gateway would.
func quarantineChange(st *store.Store, cfg *Config, op, id string, to []string, via string, stderr io.Writer) (string, error) {
	if op == "delete" {
		_, err := st.Delete(id, releasedBy(via))
		return "", err
	}
	sp, err := spool.Open(cfg.Spool, discard{}, nil)
	if err != nil {
		return "", err
	}
	defer sp.Close()
	inject, kept := learningRelease(injectInto(sp))
	e, queued, err := st.Release(id, to, inject, releasedBy(via))
	if err == nil && cfg.Antispam.Model != "" && e.Category == pipeline.CategorySpam {
		if lerr := learnFile(cfg.Antispam.Model, kept(), false); lerr != nil {
			fmt.Fprintf(stderr, "gatewatch quarantine release: released, but the classifier did not learn it: %v\n", lerr)
		}
	}
	return queued, err
}

// learnFile teaches the model file one message.
func learnFile(path string, raw []byte, spam bool) error {
	m, err := bayes.Load(path)
	if err != nil {
		return err
	}
	m.Learn(bayes.Tokenize(raw), spam)
	return m.Save(path)
}

func reportQuarantine(w io.Writer, op, id, queued string) {
	if op == "release" {
		fmt.Fprintf(w, "%s: released, queued as %s\n", id, queued)
		return
	}
	fmt.Fprintf(w, "%s: deleted\n", id)
}
