package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gatewatch/gatewatch/pipeline/spool"
)

// queued is one message as the queue commands show it.
type queued struct {
	ID         string    `json:"id"`
	State      string    `json:"state"`
	Kind       string    `json:"kind"`
	From       string    `json:"from"`
	Recipients []string  `json:"recipients"`
	Status     string    `json:"status"` // per recipient: P pending, D delivered, F failed
	Size       int64     `json:"size"`
	Received   time.Time `json:"received"`
	Attempts   int       `json:"attempts"`
	Next       time.Time `json:"next_attempt,omitzero"`
	Client     string    `json:"client"`
}

func toQueued(e *spool.Entry, st spool.QState) queued {
	q := queued{ID: e.Meta.ID, State: string(st), Kind: string(e.Meta.Kind), From: e.Meta.Envelope.From,
		Status: string(e.State.Rcpts), Size: e.Meta.Size, Received: e.Meta.Received, Attempts: e.State.Attempts,
		Client: e.Meta.Client.IP}
	if e.State.Next > 0 {
		q.Next = time.UnixMilli(e.State.Next)
	}
	for _, r := range e.Meta.Envelope.Recipients {
		q.Recipients = append(q.Recipients, r.Addr)
	}
	return q
}

// listQueue reads every queued message's envelope straight from the spool
// directory; it never changes anything, so it is safe beside a running
// gateway (a message that moves meanwhile is simply skipped).
func listQueue(dir string) ([]queued, error) {
	items := []queued{}
	for _, st := range append(spool.QueueStates(), spool.Corrupt) {
		ents, err := os.ReadDir(filepath.Join(dir, string(st)))
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			return nil, err
		}
		for _, ent := range ents {
			if !spool.ValidID(ent.Name()) {
				continue
			}
			if st == spool.Corrupt {
				items = append(items, queued{ID: ent.Name(), State: string(st)})
				continue
			}
			e, err := spool.ReadFile(filepath.Join(dir, string(st), ent.Name()), false)
			if err != nil {
				continue
			}
			items = append(items, toQueued(e, st))
		}
	}
	return items, nil
}

func showQueued(dir, id string) (queued, error) {
	if !spool.ValidID(id) {
		return queued{}, fmt.Errorf("invalid queue ID %q: queue IDs are %d characters of 0-9 and A-Z", id, spool.IDLen)
	}
	for _, st := range spool.QueueStates() {
		e, err := spool.ReadFile(filepath.Join(dir, string(st), id), true)
		if errors.Is(err, spool.ErrNotFound) {
			continue
		}
		if err != nil {
			return queued{}, err
		}
		return toQueued(e, st), nil
	}
	return queued{}, fmt.Errorf("%s: %w", id, spool.ErrNotFound)
}

const queueUsage = `Usage: gatewatch queue [-config FILE] [-json] COMMAND
  list            every queued message (state, sender, recipients, attempts)
  show ID         one message's envelope and delivery state
  flush [ID]      try deferred messages (or one) now
  hold ID         stop delivering a message until it is released
  release ID      deliver a held message
  delete ID       remove a message without delivering it
`

// storeCommandFlags parses the flags the queue and quarantine commands
// share (-config, -json) and returns the words after them.
func storeCommandFlags(name, usage string, args []string, stderr io.Writer) (path string, asJSON bool, rest []string, code int, ok bool) {
	fs, code, ok := parseFlags(name, args, stderr, func(fs *flag.FlagSet) {
		fs.StringVar(&path, "config", "", "configuration file (YAML)")
		fs.BoolVar(&asJSON, "json", false, "print JSON")
		fs.Usage = func() { fmt.Fprint(stderr, usage) }
	})
	if !ok {
		return "", false, nil, code, false
	}
	return path, asJSON, fs.Args(), 0, true
}

func cmdQueue(args []string, stdout, stderr io.Writer) int {
	path, asJSON, rest, code, ok := storeCommandFlags("queue", queueUsage, args, stderr)
	if !ok {
		return code
	}
	if len(rest) == 0 {
		fmt.Fprint(stderr, queueUsage)
		return exitUsage
	}
	l, err := loadConfig(path)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitConfig
	}
	cfg := l.cfg
	op, rest := rest[0], rest[1:]
	needID := map[string]bool{"show": true, "hold": true, "release": true, "delete": true}
	switch {
	case op == "list" && len(rest) == 0, needID[op] && len(rest) == 1, op == "flush" && len(rest) <= 1:
	default:
		fmt.Fprintf(stderr, "gatewatch queue: bad arguments for %q\n%s", op, queueUsage)
		return exitUsage
	}
	id := ""
	if len(rest) == 1 {
		id = rest[0]
		if !spool.ValidID(id) {
			fmt.Fprintf(stderr, "gatewatch queue %s: invalid queue ID %q: queue IDs are %d characters of 0-9 and A-Z\n", op, id, spool.IDLen)
			return exitUsage
		}
	}
	switch op {
	case "list":
		items, err := listQueue(cfg.Spool.Dir)
		if err != nil {
			fmt.Fprintf(stderr, "gatewatch queue list: %v\n", err)
			return exitFailure
		}
		if asJSON {
			return printJSON(stdout, items)
		}
		tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tSTATE\tSIZE\tRECEIVED\tATTEMPTS\tFROM\tRECIPIENTS")
		for _, q := range items {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%d\t<%s>\t%s\n", q.ID, q.State, q.Size, q.Received.Format(time.RFC3339), q.Attempts, q.From, strings.Join(q.Recipients, ","))
		}
		tw.Flush()
		fmt.Fprintf(stdout, "%d message(s)\n", len(items))
		return exitOK
	case "show":
		q, err := showQueued(cfg.Spool.Dir, id)
		if err != nil {
			fmt.Fprintf(stderr, "gatewatch queue show: %v\n", err)
			return exitNotFound
		}
		return printJSON(stdout, q)
	}
	// Changes go through the running gateway, which also reschedules; with
	// none running they are made on the spool directly.
	if spool.InUse(cfg.Spool.Dir) {
		return queueViaAdmin(cfg.Admin.Listen, op, id, stdout, stderr)
	}
	return queueOffline(cfg.Spool.Dir, op, id, stdout, stderr)
}

func queueViaAdmin(addr, op, id string, stdout, stderr io.Writer) int {
	if addr == "" {
		fmt.Fprintln(stderr, "gatewatch queue: the gateway is running with no admin listener; set admin.listen")
		return exitFailure
	}
	u := fmt.Sprintf("http://%s/queue/%s?id=%s", addr, op, url.QueryEscape(id))
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Post(u, "text/plain", nil)
	if err != nil {
		fmt.Fprintf(stderr, "gatewatch queue %s: %v\n", op, err)
		return exitFailure
	}
	defer resp.Body.Close()
	var res opResult
	if err := json.NewDecoder(resp.Body).Decode(&res); err != nil {
		fmt.Fprintf(stderr, "gatewatch queue %s: bad answer from the gateway: %v\n", op, err)
		return exitFailure
	}
	if !res.OK {
		fmt.Fprintf(stderr, "gatewatch queue %s: %s\n", op, res.Error)
		return exitNotFound
	}
	report(stdout, op, id, res.Count)
	return exitOK
}

func queueOffline(dir, op, id string, stdout, stderr io.Writer) int {
	sp, err := spool.Open(spool.Config{Dir: dir}, discard{}, nil)
	if err != nil {
		fmt.Fprintf(stderr, "gatewatch queue %s: %v\n", op, err)
		return exitFailure
	}
	defer sp.Close()
	// Holding the owner lock, no gateway delivers anything: a message left
	// in active by a gateway that stopped between picking it up and trying
	// it is queued, exactly as the next start would find it.
	if _, _, err := sp.Recover(); err != nil {
		fmt.Fprintf(stderr, "gatewatch queue %s: %v\n", op, err)
		return exitFailure
	}
	n := 1
	switch op {
	case "hold":
		err = sp.Hold(id)
	case "release":
		err = sp.Release(id)
	case "delete":
		_, err = sp.Delete(id)
	case "flush":
		n, err = sp.FlushDeferred(id)
	}
	if err != nil {
		fmt.Fprintf(stderr, "gatewatch queue %s: %v\n", op, err)
		return exitNotFound
	}
	report(stdout, op, id, n)
	return exitOK
}

func report(w io.Writer, op, id string, n int) {
	if op == "flush" {
		fmt.Fprintf(w, "flushed %d message(s)\n", n)
		return
	}
	fmt.Fprintf(w, "%s: %s done\n", id, op)
}

func printJSON(w io.Writer, v any) int {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return exitFailure
	}
	return exitOK
}
