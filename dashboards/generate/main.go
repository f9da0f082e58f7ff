// Command generate writes the Grafana dashboards to dashboards/grafana/
// (run from the module root: go run ./dashboards/generate).
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/gatewatch/gatewatch/dashboards"
)

func main() {
	dir := "dashboards/grafana"
	if len(os.Args) > 1 {
		dir = os.Args[1]
	}
	if err := write(dir); err != nil {
		fmt.Fprintln(os.Stderr, "generate:", err)
		os.Exit(1)
	}
}

func write(dir string) error {
	boards, err := dashboards.All()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, b := range boards {
		data, err := b.JSON()
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, b.File), data, 0o644); err != nil {
			return err
		}
	}
	return nil
}
