package dashboards

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/grafana/grafana-foundation-sdk/go/bargauge"
	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/variants"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/heatmap"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"
)

// Panel kinds.
const (
	kindSeries  = "timeseries"
	kindStat    = "stat"
	kindHeatmap = "heatmap"
	kindBars    = "bargauge"
)

// panel is one panel as the dashboards describe it; build turns it into
// the SDK's.
type panel struct {
	kind        string
	title, desc string
	unit        string
	w, h        uint32
	queries     []query
	stacked     bool
}

// query is one PromQL expression. Metrics are written gw:name (or
// gw:name{label="x"}): the expander checks the name and adds the instance
// filter.
type query struct {
	expr, legend string
}

// row starts a row of panels.
type row struct {
	title  string
	panels []panel
}

var metricRef = regexp.MustCompile(`gw:([a-z0-9_]+)(\{([^}]*)\})?`)

// histogramSeries are the series Prometheus derives from a histogram.
var histogramSeries = []string{"_bucket", "_sum", "_count"}

// expand resolves gw:name references to full metric names filtered to the
// selected instances.
func (c catalog) expand(expr string) (string, error) {
	var errs []string
	out := metricRef.ReplaceAllStringFunc(expr, func(ref string) string {
		m := metricRef.FindStringSubmatch(ref)
		name, labels := m[1], m[3]
		base := name
		for _, suffix := range histogramSeries {
			if b, ok := strings.CutSuffix(name, suffix); ok {
				if d, known := c[b]; known && d.Kind.String() == "histogram" {
					base = b
				}
			}
		}
		full, err := c.metric(base)
		if err != nil {
			errs = append(errs, err.Error())
			return ref
		}
		full += strings.TrimPrefix(name, base)
		filter := `instance=~"$instance"`
		if labels != "" {
			filter += "," + labels
		}
		return full + "{" + filter + "}"
	})
	if len(errs) > 0 {
		return "", fmt.Errorf("%s: %s", expr, strings.Join(errs, "; "))
	}
	return out, nil
}

func datasource() common.DataSourceRef {
	t, uid := "prometheus", "${datasource}"
	return common.DataSourceRef{Type: &t, Uid: &uid}
}

// targets builds a panel's queries with reference IDs A, B, ...
func (c catalog) targets(p panel) ([]cog.Builder[variants.Dataquery], error) {
	var out []cog.Builder[variants.Dataquery]
	for i, q := range p.queries {
		expr, err := c.expand(q.expr)
		if err != nil {
			return nil, fmt.Errorf("panel %q: %w", p.title, err)
		}
		b := prometheus.NewDataqueryBuilder().Expr(expr).LegendFormat(q.legend).RefId(string(rune('A' + i))).Datasource(datasource())
		if p.kind == kindHeatmap {
			b = b.Format(prometheus.PromQueryFormatHeatmap)
		}
		out = append(out, b)
	}
	return out, nil
}

// build makes the SDK panel at pos with the given ID.
func (c catalog) build(p panel, id uint32, pos dashboard.GridPos) (cog.Builder[dashboard.Panel], error) {
	ts, err := c.targets(p)
	if err != nil {
		return nil, err
	}
	switch p.kind {
	case kindSeries:
		b := timeseries.NewPanelBuilder().Id(id).Title(p.title).Description(p.desc).Unit(p.unit).Datasource(datasource()).
			GridPos(pos).Targets(ts).Min(0).
			Legend(common.NewVizLegendOptionsBuilder().ShowLegend(true).DisplayMode(common.LegendDisplayModeList).Placement(common.LegendPlacementBottom))
		if p.stacked {
			b = b.Stacking(common.NewStackingConfigBuilder().Mode(common.StackingModeNormal)).FillOpacity(30)
		}
		return b, nil
	case kindStat:
		return stat.NewPanelBuilder().Id(id).Title(p.title).Description(p.desc).Unit(p.unit).Datasource(datasource()).
			GridPos(pos).Targets(ts).GraphMode(common.BigValueGraphModeArea).ColorMode(common.BigValueColorModeValue).
			ReduceOptions(common.NewReduceDataOptionsBuilder().Calcs([]string{"lastNotNull"})), nil
	case kindHeatmap:
		return heatmap.NewPanelBuilder().Id(id).Title(p.title).Description(p.desc).Unit(p.unit).Datasource(datasource()).
			GridPos(pos).Targets(ts).Calculate(false).
			YAxis(heatmap.NewYAxisConfigBuilder().Unit(p.unit)), nil
	case kindBars:
		return bargauge.NewPanelBuilder().Id(id).Title(p.title).Description(p.desc).Unit(p.unit).Datasource(datasource()).
			GridPos(pos).Targets(ts).DisplayMode(common.BarGaugeDisplayModeGradient).Orientation(common.VizOrientationHorizontal).
			ReduceOptions(common.NewReduceDataOptionsBuilder().Calcs([]string{"lastNotNull"})), nil
	}
	return nil, fmt.Errorf("panel %q: unknown kind %q", p.title, p.kind)
}
