package agentx

import (
	"sync"
	"time"

	"github.com/gatewatch/gatewatch/telemetry/mib"
	"github.com/gatewatch/gatewatch/telemetry/stats"
)

// viewCache hands out one mib.View for up to maxAge. A walk is many
// GetNext requests; serving them from one view makes the walk show one
// moment (no counter moves between two columns of a row) and reads the
// statistics once per walk instead of once per object.
type viewCache struct {
	st     *stats.Stats
	groups *mib.Groups // MTA-MIB group numbers must stay stable for the process
	maxAge time.Duration

	mu    sync.Mutex
	view  *mib.View
	taken time.Time
}

func newViewCache(st *stats.Stats, maxAge time.Duration) *viewCache {
	return &viewCache{st: st, groups: mib.NewGroups(), maxAge: maxAge}
}

// get returns a view no older than maxAge. Without statistics it serves an
// empty view, so a mis-wired subagent answers "no such object" instead of
// crashing the gateway.
func (c *viewCache) get() table {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	if c.view == nil || now.Sub(c.taken) >= c.maxAge || now.Before(c.taken) {
		if c.st == nil {
			c.view = &mib.View{}
		} else {
			c.view = mib.NewView(c.st, c.groups)
		}
		c.taken = now
	}
	return c.view
}
