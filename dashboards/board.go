//lint:file-ignore SA1019 The v1 dashboard schema (schemaVersion 42) is what Grafana's file provisioning and every Grafana before 12 read; dashboardv2 needs Grafana 12's new API.

package dashboards

import (
	"encoding/json"
	"fmt"

	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
)

// Tag marks every Gatewatch dashboard; the links between them follow it.
const Tag = "gatewatch"

// board is one dashboard as described here.
type board struct {
	file, uid, title, desc string
	rows                   []row
}

// Board is one built dashboard and the file it is written to.
type Board struct {
	File      string // base name under dashboards/grafana/
	Dashboard dashboard.Dashboard
}

// JSON is the dashboard as the committed file holds it.
func (b Board) JSON() ([]byte, error) {
	out, err := json.MarshalIndent(b.Dashboard, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", b.File, err)
	}
	return append(out, '\n'), nil
}

// All builds every dashboard.
func All() ([]Board, error) {
	c := exported()
	var out []Board
	for _, b := range []board{overview(), security(), delivery(), health()} {
		d, err := c.assemble(b)
		if err != nil {
			return nil, fmt.Errorf("dashboard %s: %w", b.title, err)
		}
		out = append(out, Board{File: b.file, Dashboard: d})
	}
	return out, nil
}

// assemble lays the rows out on Grafana's 24-column grid, left to right
// and top to bottom, and numbers the panels.
func (c catalog) assemble(b board) (dashboard.Dashboard, error) {
	db := dashboard.NewDashboardBuilder(b.title).Uid(b.uid).Description(b.desc).Tags([]string{Tag}).
		Refresh("30s").Time("now-6h", "now").Timezone(common.TimeZoneBrowser).Tooltip(dashboard.DashboardCursorSyncCrosshair).
		Editable().
		WithVariable(dashboard.NewDatasourceVariableBuilder("datasource").Label("Data source").Type("prometheus")).
		WithVariable(dashboard.NewQueryVariableBuilder("instance").Label("Instance").Datasource(datasource()).
			Query(dashboard.StringOrMap{String: ptr(`label_values(gatewatch_uptime_seconds, instance)`)}).
			Refresh(dashboard.VariableRefreshOnTimeRangeChanged).Sort(dashboard.VariableSortAlphabeticalAsc).
			Multi(true).IncludeAll(true).AllValue(".*")).
		Link(dashboard.NewDashboardLinkBuilder("Gatewatch").Type(dashboard.DashboardLinkTypeDashboards).Tags([]string{Tag}).
			AsDropdown(true).IncludeVars(true).KeepTime(true))
	var id, y uint32 = 1, 0
	for _, r := range b.rows {
		db = db.WithRow(dashboard.NewRowBuilder(r.title).Id(id).GridPos(dashboard.GridPos{X: 0, Y: y, W: 24, H: 1}))
		id++
		y++
		var x, rowH uint32
		for _, p := range r.panels {
			w, h := p.w, p.h
			if w == 0 {
				w = 12
			}
			if h == 0 {
				h = 8
			}
			if x+w > 24 {
				x, y, rowH = 0, y+rowH, 0
			}
			pb, err := c.build(p, id, dashboard.GridPos{X: x, Y: y, W: w, H: h})
			if err != nil {
				return dashboard.Dashboard{}, err
			}
			db = db.WithPanel(pb)
			id++
			x += w
			rowH = max(rowH, h)
		}
		y += rowH
	}
	return db.Build()
}

func ptr[T any](v T) *T { return &v }
