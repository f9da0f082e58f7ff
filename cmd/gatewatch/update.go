package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/gatewatch/gatewatch/pipeline/antivirus/sigupdate"
	"github.com/gatewatch/gatewatch/pipeline/spool"
)

const updateUsage = `Usage: gatewatch update [-config FILE] [-json] [--from DIR|URL]

Fetches the builtin scanner's signature files (*.hdb, *.hsb; a URL needs an
"index" file listing them) and installs them atomically as
antivirus.signatures. A running gateway does it itself and scans with the
new set from the next object on; otherwise the next start loads it.
--from defaults to antivirus.update.from.
`

// updateResult is the admin endpoint's answer and the -json output.
type updateResult struct {
	OK         bool      `json:"ok"`
	Changed    bool      `json:"changed"`
	Version    string    `json:"version,omitempty"`
	Signatures int       `json:"signatures"`
	Files      []string  `json:"files,omitempty"`
	Released   time.Time `json:"released,omitzero"`
	Error      string    `json:"error,omitempty"`
}

func resultOf(r sigupdate.Result) updateResult {
	return updateResult{OK: true, Changed: r.Changed, Version: r.Version, Signatures: r.Signatures, Files: r.Files, Released: r.Released}
}

func cmdUpdate(args []string, stdout, stderr io.Writer) int {
	var from string
	var asJSON bool
	cfg, code, ok := configCommand("update", updateUsage, args, stderr, func(fs *flag.FlagSet) {
		fs.StringVar(&from, "from", "", "directory or http(s) URL of the signature set")
		fs.BoolVar(&asJSON, "json", false, "print JSON")
	})
	if !ok {
		return code
	}
	if from == "" {
		from = cfg.Antivirus.Update.From
	}
	if err := checkUpdateSource(from); err != nil {
		fmt.Fprintf(stderr, "gatewatch update: %v\n%s", err, updateUsage)
		return exitUsage
	}
	if cfg.Antivirus.Signatures == "" {
		fmt.Fprintln(stderr, "gatewatch update: antivirus.signatures: not set, so there is nowhere to install signatures")
		return exitConfig
	}
	var res updateResult
	var err error
	if spool.InUse(cfg.Spool.Dir) {
		if cfg.Admin.Listen == "" {
			fmt.Fprintln(stderr, "gatewatch update: the gateway is running with no admin listener; set admin.listen")
			return exitFailure
		}
		res, err = updateViaAdmin(cfg.Admin.Listen, from)
	} else {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		var r sigupdate.Result
		r, err = sigupdate.Install(ctx, from, cfg.Antivirus.Signatures, sigupdate.Options{})
		res = resultOf(r)
	}
	if err != nil {
		fmt.Fprintf(stderr, "gatewatch update: %v\n", err)
		return exitFailure
	}
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(res)
		return exitOK
	}
	word := "not needed (already installed)"
	if res.Changed {
		word = "updated"
	}
	fmt.Fprintf(stdout, "%s: version %s, %d signatures in %s, released %s\n", word, res.Version, res.Signatures,
		strings.Join(res.Files, ", "), res.Released.UTC().Format(time.RFC3339))
	return exitOK
}

// checkUpdateSource refuses what is neither an http(s) URL nor a directory.
func checkUpdateSource(from string) error {
	if from == "" {
		return fmt.Errorf("no source: give --from DIR|URL or set antivirus.update.from")
	}
	if strings.Contains(from, "://") {
		u, err := url.Parse(from)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("--from %q: want an http:// or https:// URL or a directory", from)
		}
		return nil
	}
	if st, err := os.Stat(from); err != nil || !st.IsDir() {
		return fmt.Errorf("--from %q: not a directory", from)
	}
	return nil
}

func updateViaAdmin(addr, from string) (updateResult, error) {
	u := fmt.Sprintf("http://%s/antivirus/update?%s", addr, url.Values{"from": {from}}.Encode())
	resp, err := (&http.Client{Timeout: 10 * time.Minute}).Post(u, "text/plain", nil)
	if err != nil {
		return updateResult{}, err
	}
	defer resp.Body.Close()
	var res updateResult
	if err := json.NewDecoder(resp.Body).Decode(&res); err != nil {
		return updateResult{}, fmt.Errorf("bad answer from the gateway: %w", err)
	}
	if !res.OK {
		return res, fmt.Errorf("%s", res.Error)
	}
	return res, nil
}

// antivirusUpdate runs an update in the gateway, so that it reports it
// (av.update_done, av.db_loaded, av.update_failed) and swaps the set in.
func (a *adminServer) antivirusUpdate(w http.ResponseWriter, r *http.Request) {
	if !fromLoopback(r) {
		writeJSON(w, http.StatusForbidden, updateResult{Error: "updates are only accepted from loopback"})
		return
	}
	if a.gw.av == nil || a.gw.av.av == nil {
		writeJSON(w, http.StatusConflict, updateResult{Error: "the anti-virus stage is off"})
		return
	}
	from := r.URL.Query().Get("from")
	if err := checkUpdateSource(from); err != nil {
		writeJSON(w, http.StatusBadRequest, updateResult{Error: err.Error()})
		return
	}
	res, err := a.gw.av.av.Update(r.Context(), from)
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, updateResult{Error: err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, resultOf(res))
}
