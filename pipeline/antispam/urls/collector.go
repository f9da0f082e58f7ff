package urls

// collector gathers distinct hosts in the order they are found, up to a
// limit; the first way a host was found is the one kept.
type collector struct {
	max   int
	seen  map[string]bool
	hosts []Host
}

func newCollector(max int) *collector {
	return &collector{max: max, seen: make(map[string]bool)}
}

// full tells scanners to stop: nothing more would be kept.
func (c *collector) full() bool { return len(c.hosts) >= c.max }

func (c *collector) add(h Host) {
	if c.full() || c.seen[h.Name] {
		return
	}
	c.seen[h.Name] = true
	c.hosts = append(c.hosts, h)
}

// addLink adds the hosts a link names, recorded as found via (text links
// that were defanged as "deobfuscated"), and then the hosts of the URLs it
// carries. It reports whether the link named a usable host; a link that
// names none is not followed, since a browser would go nowhere.
func (c *collector) addLink(l link, via string, depth int) bool {
	found := false
	for h, defanged := range l.hosts(false) {
		found = true
		h.Via = via
		if via == viaText && defanged {
			h.Via = viaDeobfuscated
		}
		c.add(h)
	}
	if found {
		c.carried(l.rest, depth+1)
	}
	return found
}
