package main

import (
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/gatewatch/gatewatch/telemetry"
)

// cmdStats prints the running gateway's statistics, as /stats serves them.
func cmdStats(args []string, stdout, stderr io.Writer) int {
	path, code, ok := configOnly("stats", args, stderr)
	if !ok {
		return code
	}
	l, err := loadConfig(path)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitConfig
	}
	if l.cfg.Admin.Listen == "" {
		fmt.Fprintln(stderr, "gatewatch stats: admin.listen is empty, so there is no gateway to ask")
		return exitFailure
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Get("http://" + l.cfg.Admin.Listen + "/stats")
	if err != nil {
		fmt.Fprintf(stderr, "gatewatch stats: is the gateway running? %v\n", err)
		return exitFailure
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(stderr, "gatewatch stats: %s\n", resp.Status)
		return exitFailure
	}
	if _, err := io.Copy(stdout, resp.Body); err != nil {
		return exitFailure
	}
	return exitOK
}

// discard is an emitter for offline tools that have no telemetry.
type discard struct{}

func (discard) Emit(telemetry.Event) {}
