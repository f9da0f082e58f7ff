package clamd

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Version is clamd's answer to VERSION.
type Version struct {
	Engine     string    // "1.4.6"
	Signatures int       // version of the daily signature database; 0 if none is loaded
	DBTime     time.Time // build time of that database; zero if none is loaded
}

// parseVersion reads "ClamAV 1.4.6/27462/Mon Nov 17 09:28:03 2026". clamd
// leaves out the database fields when only unofficial signatures are
// loaded, as in the tests. The time carries no zone (it is ctime output), so
// it is read as UTC; it serves for staleness alarms, where hours matter
// little.
func parseVersion(line string) (Version, error) {
	rest, ok := strings.CutPrefix(line, "ClamAV ")
	if !ok {
		return Version{}, fmt.Errorf("clamd: unexpected VERSION reply %q", line)
	}
	parts := strings.SplitN(rest, "/", 3)
	v := Version{Engine: strings.TrimSpace(parts[0])}
	if v.Engine == "" {
		return Version{}, fmt.Errorf("clamd: VERSION reply %q names no engine version", line)
	}
	if len(parts) > 1 {
		n, err := strconv.Atoi(parts[1])
		if err != nil || n < 0 {
			return Version{}, fmt.Errorf("clamd: VERSION reply %q: bad database version %q", line, parts[1])
		}
		v.Signatures = n
	}
	if len(parts) > 2 {
		t, err := time.Parse(time.ANSIC, strings.TrimSpace(parts[2]))
		if err != nil {
			return Version{}, fmt.Errorf("clamd: VERSION reply %q: database time: %w", line, err)
		}
		v.DBTime = t
	}
	return v, nil
}
