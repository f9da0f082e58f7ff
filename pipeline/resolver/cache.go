package resolver

import (
	"sync"
	"time"

	"github.com/miekg/dns"
)

type cacheKey struct {
	name  string
	qtype uint16
}

type cached struct {
	msg     *dns.Msg
	expires time.Time
}

// cache keeps answers until their TTL runs out. When full, an expired
// entry goes, else an arbitrary one: map order is random enough to keep
// a flood of one-off names from pinning the cache.
type cache struct {
	mu      sync.Mutex
	max     int
	entries map[cacheKey]cached
}

func newCache(max int) *cache { return &cache{max: max, entries: map[cacheKey]cached{}} }

func (c *cache) get(k cacheKey, now time.Time) (*dns.Msg, bool) {
	if c.max == 0 {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[k]
	if !ok || now.After(e.expires) {
		return nil, false
	}
	return e.msg, true
}

func (c *cache) put(k cacheKey, m *dns.Msg, ttl time.Duration, now time.Time) {
	if c.max == 0 || ttl <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= c.max {
		victim, found := cacheKey{}, false
		for key, e := range c.entries {
			victim, found = key, true
			if now.After(e.expires) {
				break
			}
		}
		if found {
			delete(c.entries, victim)
		}
	}
	c.entries[k] = cached{msg: m, expires: now.Add(ttl)}
}
