package dashboards

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/prometheus/prometheus/promql/parser"
)

// grafanaJSON is what a dashboard file holds, as far as the checks go.
type grafanaJSON struct {
	UID           string `json:"uid"`
	Title         string `json:"title"`
	SchemaVersion int    `json:"schemaVersion"`
	Tags          []string
	Links         []struct {
		Type        string   `json:"type"`
		Tags        []string `json:"tags"`
		IncludeVars bool     `json:"includeVars"`
	} `json:"links"`
	Templating struct {
		List []struct {
			Name  string `json:"name"`
			Type  string `json:"type"`
			Query any    `json:"query"`
		} `json:"list"`
	} `json:"templating"`
	Panels []grafanaPanel `json:"panels"`
}

type grafanaPanel struct {
	ID          int    `json:"id"`
	Type        string `json:"type"`
	Title       string `json:"title"`
	Description string `json:"description"`
	GridPos     struct{ X, Y, W, H int }
	Datasource  *struct{ Type, UID string }
	FieldConfig struct {
		Defaults struct {
			Unit string `json:"unit"`
		} `json:"defaults"`
	} `json:"fieldConfig"`
	Targets []struct {
		Expr       string `json:"expr"`
		RefID      string `json:"refId"`
		Datasource *struct{ Type, UID string }
	} `json:"targets"`
}

func loadCommitted(t *testing.T) map[string]grafanaJSON {
	t.Helper()
	files, err := filepath.Glob("grafana/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no dashboards in dashboards/grafana: %v", err)
	}
	out := map[string]grafanaJSON{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var d grafanaJSON
		if err := json.Unmarshal(data, &d); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out[filepath.Base(f)] = d
	}
	return out
}

// TestCommittedDashboardsAreGenerated: the files Grafana provisions are
// exactly what the generator prints (run make dashboards after a change).
func TestCommittedDashboardsAreGenerated(t *testing.T) {
	boards, err := All()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, b := range boards {
		want, err := b.JSON()
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join("grafana", b.File))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("dashboards/grafana/%s is not what the generator prints (run make dashboards): %v", b.File, err)
		}
		names = append(names, b.File)
	}
	for f := range loadCommitted(t) {
		if !slices.Contains(names, f) {
			t.Errorf("dashboards/grafana/%s is not generated: remove it", f)
		}
	}
	if len(boards) != 4 {
		t.Errorf("%d dashboards, want Overview, Security, Delivery & queue, Gateway health", len(boards))
	}
}

func TestDashboardStructure(t *testing.T) {
	current := dashboard.NewDashboard().SchemaVersion
	uids := map[string]bool{}
	for file, d := range loadCommitted(t) {
		if d.SchemaVersion != int(current) {
			t.Errorf("%s: schemaVersion %d, want %d", file, d.SchemaVersion, current)
		}
		if uids[d.UID] || d.UID == "" {
			t.Errorf("%s: uid %q empty or used twice", file, d.UID)
		}
		uids[d.UID] = true
		vars := map[string]string{}
		for _, v := range d.Templating.List {
			vars[v.Name] = v.Type
		}
		if vars["datasource"] != "datasource" || vars["instance"] != "query" {
			t.Errorf("%s: variables %v, want a datasource variable and an instance query variable", file, vars)
		}
		if len(d.Links) == 0 || d.Links[0].Type != "dashboards" || !slices.Contains(d.Links[0].Tags, Tag) || !d.Links[0].IncludeVars {
			t.Errorf("%s: no link to the other Gatewatch dashboards: %+v", file, d.Links)
		}
		ids := map[int]bool{}
		type cell struct{ x, y int }
		taken := map[cell]string{}
		for _, p := range d.Panels {
			if ids[p.ID] || p.ID == 0 {
				t.Errorf("%s: panel id %d of %q is 0 or not unique", file, p.ID, p.Title)
			}
			ids[p.ID] = true
			g := p.GridPos
			if g.W <= 0 || g.H <= 0 || g.X < 0 || g.X+g.W > 24 {
				t.Errorf("%s: %q has gridPos %+v outside the 24 columns", file, p.Title, g)
			}
			for x := g.X; x < g.X+g.W; x++ {
				for y := g.Y; y < g.Y+g.H; y++ {
					if other, ok := taken[cell{x, y}]; ok {
						t.Errorf("%s: %q overlaps %q at (%d,%d)", file, p.Title, other, x, y)
						x, y = g.X+g.W, g.Y+g.H // once per pair is enough
						continue
					}
					taken[cell{x, y}] = p.Title
				}
			}
			if p.Type == "row" {
				continue
			}
			if p.Description == "" || p.FieldConfig.Defaults.Unit == "" {
				t.Errorf("%s: %q lacks a description or a unit", file, p.Title)
			}
			if p.Datasource == nil || p.Datasource.UID != "${datasource}" {
				t.Errorf("%s: %q does not use the datasource variable", file, p.Title)
			}
			if len(p.Targets) == 0 {
				t.Errorf("%s: %q has no query", file, p.Title)
			}
			for _, q := range p.Targets {
				if q.Datasource == nil || q.Datasource.UID != "${datasource}" || !strings.Contains(q.Expr, `instance=~"$instance"`) {
					t.Errorf("%s: %q query %s: not templated on datasource and instance: %s", file, p.Title, q.RefID, q.Expr)
				}
			}
		}
	}
}

// TestMetricCoverage: every query parses; every metric a panel names is
// exported, and every exported metric is on some panel.
func TestMetricCoverage(t *testing.T) {
	exported := map[string]bool{}
	for _, name := range Exported() {
		exported[name] = true
	}
	histograms := map[string]bool{}
	for _, d := range exportedCatalogHistograms() {
		histograms[d] = true
	}
	used := map[string]bool{}
	p := parser.NewParser(parser.Options{})
	for file, d := range loadCommitted(t) {
		for _, panel := range d.Panels {
			for _, q := range panel.Targets {
				expr, err := p.ParseExpr(Substitute(q.Expr))
				if err != nil {
					t.Errorf("%s: %q: %s does not parse: %v", file, panel.Title, q.Expr, err)
					continue
				}
				parser.Inspect(expr, func(node parser.Node, _ []parser.Node) error {
					vs, ok := node.(*parser.VectorSelector)
					if !ok {
						return nil
					}
					name := vs.Name
					for _, suffix := range histogramSeries {
						if base, ok := strings.CutSuffix(name, suffix); ok && histograms[base] {
							name = base
						}
					}
					if !exported[name] {
						t.Errorf("%s: %q uses %s, which the gateway does not export", file, panel.Title, vs.Name)
					}
					used[name] = true
					return nil
				})
			}
		}
	}
	for name := range exported {
		if !used[name] {
			t.Errorf("%s is exported but on no dashboard panel", name)
		}
	}
}

func exportedCatalogHistograms() []string {
	var out []string
	for name, d := range exported() {
		if d.Kind.String() == "histogram" {
			out = append(out, "gatewatch_"+name)
		}
	}
	return out
}

func TestQueriesListsEveryTarget(t *testing.T) {
	qs, err := Queries()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, d := range loadCommitted(t) {
		for _, p := range d.Panels {
			n += len(p.Targets)
		}
	}
	if len(qs) != n || n == 0 {
		t.Errorf("Queries lists %d queries, the dashboards hold %d", len(qs), n)
	}
}
