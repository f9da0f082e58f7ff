package urls

// FromText finds the hosts of URLs in plain text: URLs with a scheme
// (http, https, ftp and defanged spellings such as hxxp), bare hosts
// starting with "www.", bare domains followed by a path ("example.com/x"),
// defanged hosts ("example[.]com"), and URLs carried inside those URLs.
func FromText(text string, lim Limits) []Host {
	lim = lim.withDefaults()
	c := newCollector(lim.MaxHosts)
	c.scanText(clip(text, lim.MaxBytes))
	return c.hosts
}

func (c *collector) scanText(text string) {
	for l := range links(text) {
		if c.full() {
			return
		}
		c.addLink(l, viaText, 0)
	}
}
