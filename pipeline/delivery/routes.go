package delivery

import (
	"path"
	"strings"
)

// table is the compiled routing table: first match wins.
type table struct {
	routes []compiledRoute
}

type compiledRoute struct {
	name   string
	match  string // lower-cased mask
	target target
	conc   int
}

func compileTable(cfg Config) table {
	t := table{routes: make([]compiledRoute, 0, len(cfg.Routes))}
	for _, r := range cfg.Routes {
		tg, _ := parseTarget(r.To) // validated already
		conc := r.Concurrency
		if conc == 0 {
			conc = cfg.Concurrency
		}
		t.routes = append(t.routes, compiledRoute{name: r.label(), match: strings.ToLower(r.Match), target: tg, conc: conc})
	}
	return t
}

// lookup returns the route for a recipient address, or false.
func (t table) lookup(rcpt string) (compiledRoute, bool) {
	addr := strings.ToLower(rcpt)
	for _, r := range t.routes {
		if r.match == "*" {
			return r, true
		}
		if ok, _ := path.Match(r.match, addr); ok {
			return r, true
		}
	}
	return compiledRoute{}, false
}
