// Package alerts holds the Prometheus alerting rules shipped for Gatewatch
// (gatewatch.rules.yml) and their promtool unit tests
// (gatewatch.rules.test.yml). The Go tests here run promtool on both, check
// every alert's labels and annotations, check that every alert is tested
// firing and not firing, and check that every metric a rule selects is one
// the gateway exports.
package alerts

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/promql/parser"
	"gopkg.in/yaml.v3"

	"github.com/gatewatch/gatewatch/dashboards"
	"github.com/gatewatch/gatewatch/telemetry"
	"github.com/gatewatch/gatewatch/telemetry/prom"
	"github.com/gatewatch/gatewatch/telemetry/stats"
)

const (
	rulesFile      = "gatewatch.rules.yml"
	rulesTestFile  = "gatewatch.rules.test.yml"
	promConfigFile = "../../configs/prometheus/prometheus.yml"
	runbookPrefix  = "https://github.com/gatewatch/gatewatch#runbook-"
	requireEnv     = "GATEWATCH_REQUIRE_PEERS"
)

// promtool finds promtool, skipping the test when it is missing unless
// GATEWATCH_REQUIRE_PEERS=1 asks for a failure instead.
func promtool(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv(requireEnv) == "1" {
			t.Fatalf("promtool not found (%v) and %s=1; install Debian's prometheus package", err, requireEnv)
		}
		t.Skipf("promtool not found (%v); set %s=1 to fail instead", err, requireEnv)
	}
	return path
}

func runPromtool(t *testing.T, args ...string) {
	t.Helper()
	bin := promtool(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out.String())
	}
	t.Logf("promtool %s:\n%s", strings.Join(args, " "), out.String())
}

func TestPromtoolCheckRules(t *testing.T) {
	t.Parallel()
	runPromtool(t, "check", "rules", rulesFile)
}

func TestPromtoolTestRules(t *testing.T) {
	t.Parallel()
	runPromtool(t, "test", "rules", rulesTestFile)
}

func TestPromtoolCheckConfig(t *testing.T) {
	t.Parallel()
	runPromtool(t, "check", "config", promConfigFile)
}

// The shipped Prometheus configuration loads this rules file (rule_files are
// relative to the configuration's directory) and scrapes the gateway under a
// job name GatewatchDown selects.
func TestPromConfigLoadsRules(t *testing.T) {
	t.Parallel()
	var cfg struct {
		RuleFiles     []string `yaml:"rule_files"`
		ScrapeConfigs []struct {
			JobName       string `yaml:"job_name"`
			StaticConfigs []struct {
				Targets []string `yaml:"targets"`
			} `yaml:"static_configs"`
		} `yaml:"scrape_configs"`
	}
	readYAML(t, promConfigFile, &cfg)
	want, err := filepath.Abs(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, f := range cfg.RuleFiles {
		got, err := filepath.Abs(filepath.Join(filepath.Dir(promConfigFile), f))
		if err != nil {
			t.Fatal(err)
		}
		found = found || got == want
	}
	if !found {
		t.Errorf("%s: rule_files %q do not load %s", promConfigFile, cfg.RuleFiles, want)
	}
	scraped := false
	for _, sc := range cfg.ScrapeConfigs {
		for _, s := range sc.StaticConfigs {
			if strings.Contains(sc.JobName, "gatewatch") && slices.Contains(s.Targets, "127.0.0.1:9465") {
				scraped = true
			}
		}
	}
	if !scraped {
		t.Errorf("%s: no job named *gatewatch* scrapes 127.0.0.1:9465", promConfigFile)
	}
}

type rule struct {
	Alert       string            `yaml:"alert"`
	Record      string            `yaml:"record"`
	Expr        string            `yaml:"expr"`
	For         string            `yaml:"for"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
}

type ruleFile struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []rule `yaml:"rules"`
	} `yaml:"groups"`
}

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func loadRules(t *testing.T) []rule {
	t.Helper()
	var f ruleFile
	readYAML(t, rulesFile, &f)
	var rules []rule
	for _, g := range f.Groups {
		if !strings.HasPrefix(g.Name, "gatewatch-") {
			t.Errorf("group %q: name does not start with gatewatch-", g.Name)
		}
		rules = append(rules, g.Rules...)
	}
	if len(rules) == 0 {
		t.Fatalf("%s: no rules", rulesFile)
	}
	return rules
}

func TestAlertLabelsAndAnnotations(t *testing.T) {
	t.Parallel()
	for _, r := range loadRules(t) {
		if r.Alert == "" {
			continue // a recording rule
		}
		if s := r.Labels["severity"]; s != "warning" && s != "critical" {
			t.Errorf("%s: severity %q, want warning or critical", r.Alert, s)
		}
		for _, a := range []string{"summary", "description", "runbook_url"} {
			if strings.TrimSpace(r.Annotations[a]) == "" {
				t.Errorf("%s: no %s annotation", r.Alert, a)
			}
		}
		if !strings.Contains(r.Annotations["description"], "{{ $labels.instance }}") {
			t.Errorf("%s: description does not name {{ $labels.instance }}", r.Alert)
		}
		if want := runbookPrefix + strings.ToLower(r.Alert); r.Annotations["runbook_url"] != want {
			t.Errorf("%s: runbook_url %q, want %q", r.Alert, r.Annotations["runbook_url"], want)
		}
		if !strings.HasPrefix(r.Alert, "Gatewatch") {
			t.Errorf("%s: alert name does not start with Gatewatch", r.Alert)
		}
	}
}

// Every alert is tested at least once firing and once quiet, and the tests
// name no alert the rules do not define.
func TestEveryAlertTested(t *testing.T) {
	t.Parallel()
	var tf struct {
		RuleFiles []string `yaml:"rule_files"`
		Tests     []struct {
			Name           string `yaml:"name"`
			AlertRuleTests []struct {
				EvalTime  string `yaml:"eval_time"`
				Alertname string `yaml:"alertname"`
				ExpAlerts []struct {
					ExpLabels      map[string]string `yaml:"exp_labels"`
					ExpAnnotations map[string]string `yaml:"exp_annotations"`
				} `yaml:"exp_alerts"`
			} `yaml:"alert_rule_test"`
		} `yaml:"tests"`
	}
	readYAML(t, rulesTestFile, &tf)
	if !slices.Contains(tf.RuleFiles, rulesFile) {
		t.Errorf("%s: rule_files %q do not include %s", rulesTestFile, tf.RuleFiles, rulesFile)
	}
	defined := map[string]bool{}
	for _, r := range loadRules(t) {
		if r.Alert != "" {
			defined[r.Alert] = true
		}
	}
	firing, quiet := map[string]bool{}, map[string]bool{}
	for _, tc := range tf.Tests {
		for _, a := range tc.AlertRuleTests {
			if !defined[a.Alertname] {
				t.Errorf("test %q at %s: no alert %q in %s", tc.Name, a.EvalTime, a.Alertname, rulesFile)
			}
			if len(a.ExpAlerts) == 0 {
				quiet[a.Alertname] = true
				continue
			}
			firing[a.Alertname] = true
			for _, e := range a.ExpAlerts {
				for _, k := range []string{"summary", "description"} {
					if e.ExpAnnotations[k] == "" {
						t.Errorf("test %q at %s, %s: expected alert without its %s", tc.Name, a.EvalTime, a.Alertname, k)
					}
				}
				if e.ExpLabels["severity"] == "" {
					t.Errorf("test %q at %s, %s: expected alert without its severity", tc.Name, a.EvalTime, a.Alertname)
				}
			}
		}
	}
	for name := range defined {
		if !firing[name] {
			t.Errorf("%s: no test case where it fires", name)
		}
		if !quiet[name] {
			t.Errorf("%s: no test case where it does not fire", name)
		}
	}
}

// exportedNames is every series name the gateway exports: the names from
// dashboards.Exported, and _bucket, _sum and _count of each histogram.
func exportedNames(t *testing.T) map[string]bool {
	t.Helper()
	names := map[string]bool{}
	for _, n := range dashboards.Exported() {
		names[n] = true
	}
	if len(names) == 0 {
		t.Fatal("dashboards.Exported() is empty")
	}
	for _, d := range telemetry.NewStats().Descs() {
		full := prom.Namespace + "_" + d.Name
		if d.Kind != stats.KindHistogram || !names[full] {
			continue
		}
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			names[full+suffix] = true
		}
	}
	return names
}

// Every metric a rule selects exists: `up`, or one the gateway exports. The
// rules select gateway series by name only, never by job.
func TestExprMetricsExist(t *testing.T) {
	t.Parallel()
	exported := exportedNames(t)
	p := parser.NewParser(parser.Options{})
	for _, r := range loadRules(t) {
		name := r.Alert + r.Record
		expr, err := p.ParseExpr(r.Expr)
		if err != nil {
			t.Errorf("%s: expr does not parse: %v", name, err)
			continue
		}
		selectors := 0
		parser.Inspect(expr, func(node parser.Node, _ []parser.Node) error {
			vs, ok := node.(*parser.VectorSelector)
			if !ok {
				return nil
			}
			selectors++
			switch {
			case vs.Name == "":
				t.Errorf("%s: selector %s has no metric name", name, vs)
			case vs.Name == "up":
				if !hasMatcher(vs, "job") {
					t.Errorf("%s: %s selects every target's up, not the gateway's job", name, vs)
				}
			case !exported[vs.Name]:
				t.Errorf("%s: metric %s is not exported by the gateway", name, vs.Name)
			case hasMatcher(vs, "job"):
				t.Errorf("%s: %s selects on the job label; the job name is not assumed", name, vs)
			}
			return nil
		})
		if selectors == 0 {
			t.Errorf("%s: expr %q selects no metric", name, r.Expr)
		}
	}
}

func hasMatcher(vs *parser.VectorSelector, label string) bool {
	for _, m := range vs.LabelMatchers {
		if m.Name == label {
			return true
		}
	}
	return false
}

// A histogram's derived series count as exported, other suffixed names not.
func TestExportedNamesHistogramSeries(t *testing.T) {
	t.Parallel()
	exported := exportedNames(t)
	for _, n := range []string{"gatewatch_delivery_duration_seconds_bucket", "gatewatch_delivery_duration_seconds_count", "gatewatch_delivery_duration_seconds_sum"} {
		if !exported[n] {
			t.Errorf("%s not accepted", n)
		}
	}
	if exported["gatewatch_route_up_count"] {
		t.Error("gatewatch_route_up_count accepted: route_up is no histogram")
	}
}
