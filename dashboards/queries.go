package dashboards

import (
	"strings"

	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
)

// PanelQuery is one query of one panel, as Grafana sends it before
// substitution.
type PanelQuery struct {
	Dashboard, Panel, Expr string
}

// Queries lists every panel query of every dashboard.
func Queries() ([]PanelQuery, error) {
	boards, err := All()
	if err != nil {
		return nil, err
	}
	var out []PanelQuery
	for _, b := range boards {
		for _, p := range b.Dashboard.Panels {
			if p.Panel == nil {
				continue
			}
			for _, t := range p.Panel.Targets {
				var expr string
				switch q := t.(type) {
				case prometheus.Dataquery:
					expr = q.Expr
				case *prometheus.Dataquery:
					expr = q.Expr
				default:
					continue
				}
				out = append(out, PanelQuery{Dashboard: derefOr(b.Dashboard.Title), Panel: derefOr(p.Panel.Title), Expr: expr})
			}
		}
	}
	return out, nil
}

// Substitute replaces Grafana's variables and macros with values PromQL
// accepts, as Grafana does before it sends a query: every instance, a
// one-minute rate window, a one-hour range.
func Substitute(expr string) string {
	return strings.NewReplacer("$__rate_interval", "1m", "$__range", "1h", "$__interval", "15s", "$instance", ".*").Replace(expr)
}

func derefOr(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
