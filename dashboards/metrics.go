package dashboards

import (
	"fmt"
	"sort"

	"github.com/gatewatch/gatewatch/telemetry"
	"github.com/gatewatch/gatewatch/telemetry/prom"
	"github.com/gatewatch/gatewatch/telemetry/stats"
)

// catalog is every figure the gateway exports to Prometheus, by its name
// without the namespace.
type catalog map[string]stats.Desc

func exported() catalog {
	c := catalog{}
	for _, d := range telemetry.NewStats().Descs() {
		if !d.MIBOnly {
			c[d.Name] = d
		}
	}
	return c
}

// metric is the full name of a figure; an unknown one is an error the
// build reports, so a renamed metric cannot leave a dashboard behind.
func (c catalog) metric(name string) (string, error) {
	if _, ok := c[name]; !ok {
		return "", fmt.Errorf("no metric %q is exported", name)
	}
	return prom.Namespace + "_" + name, nil
}

// Exported lists the full names of every metric the gateway exports (a
// histogram by its base name; Prometheus adds _bucket, _sum and _count).
func Exported() []string {
	var out []string
	for name := range exported() {
		out = append(out, prom.Namespace+"_"+name)
	}
	sort.Strings(out)
	return out
}
