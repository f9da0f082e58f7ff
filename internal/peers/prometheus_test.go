package peers

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A real Prometheus scrapes a static exposition from an httptest server:
// the series arrive with job and instance labels, a parse error comes back
// with Prometheus' message, the target is up, and a recording and an
// alerting rule from a rule file are evaluated.
func TestPrometheusScrapesAndQueries(t *testing.T) {
	t.Parallel()
	const exposition = `# HELP demo_messages_total Messages by verdict.
# TYPE demo_messages_total counter
demo_messages_total{verdict="spam"} 3
demo_messages_total{verdict="ham"} 7
`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/metrics" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		_, _ = w.Write([]byte(exposition))
	}))
	defer srv.Close()
	target := strings.TrimPrefix(srv.URL, "http://")

	rules := filepath.Join(t.TempDir(), "rules.yml")
	if err := os.WriteFile(rules, []byte(`groups:
  - name: demo
    rules:
      - record: demo:messages:sum
        expr: sum(demo_messages_total)
      - alert: DemoSpamSeen
        expr: demo_messages_total{verdict="spam"} > 1
`), 0o644); err != nil {
		t.Fatal(err)
	}
	p := StartPrometheus(t, PrometheusOptions{Targets: []string{target}, RuleFiles: []string{rules}})
	if !strings.HasPrefix(p.Addr(), "127.0.0.1:") || p.URL() != "http://"+p.Addr() {
		t.Errorf("Addr %q, URL %q", p.Addr(), p.URL())
	}

	start := time.Now()
	r := p.WaitForData(t, `demo_messages_total{verdict="spam"}`, 20*time.Second)
	t.Logf("first sample after %v", time.Since(start).Round(10*time.Millisecond))
	if r.Type != "vector" || len(r.Samples) != 1 {
		t.Fatalf("result %+v", r)
	}
	s := r.Samples[0]
	if s.Value != "3" || s.Labels["job"] != "gatewatch" || s.Labels["instance"] != target ||
		s.Labels["__name__"] != "demo_messages_total" || s.Labels["verdict"] != "spam" {
		t.Errorf("sample %+v", s)
	}

	if r, err := p.Query(t, "1 + 1"); err != nil || r.Type != "scalar" || len(r.Samples) != 1 || r.Samples[0].Value != "2" {
		t.Errorf("1 + 1: %+v, %v", r, err)
	}
	if r, err := p.Query(t, "demo_messages_total[1m]"); err != nil || r.Type != "matrix" || len(r.Samples) < 2 {
		t.Errorf("range selector: %+v, %v", r, err)
	}
	if r, err := p.Query(t, "no_such_metric"); err != nil || r.Type != "vector" || len(r.Samples) != 0 {
		t.Errorf("unknown metric: %+v, %v", r, err)
	}
	_, err := p.Query(t, "sum(demo_messages_total")
	var apiErr *PromAPIError
	if !errors.As(err, &apiErr) || apiErr.Type != "bad_data" || !strings.Contains(apiErr.Msg, "parse error") {
		t.Errorf("parse error: %v", err)
	}

	targets := p.Targets(t)
	if len(targets) != 1 || targets[0].Health != "up" || targets[0].Job != "gatewatch" || targets[0].Instance != target ||
		targets[0].ScrapeURL != srv.URL+"/metrics" {
		t.Errorf("targets %+v", targets)
	}

	deadline := time.Now().Add(20 * time.Second)
	for {
		byName := map[string]PromRule{}
		for _, rule := range p.Rules(t) {
			byName[rule.Name] = rule
		}
		rec, alert := byName["demo:messages:sum"], byName["DemoSpamSeen"]
		if len(byName) == 2 && rec.Type == "recording" && rec.Health == "ok" && rec.State == "" &&
			alert.Type == "alerting" && alert.Health == "ok" && alert.State == "firing" && alert.Group == "demo" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("rules %+v", byName)
		}
		time.Sleep(100 * time.Millisecond)
	}
	r = p.WaitForData(t, "demo:messages:sum", 20*time.Second)
	if r.Samples[0].Value != "10" {
		t.Errorf("recorded sum %+v", r.Samples)
	}
}

// prometheus.yml carries the intervals, the job and its targets, and the
// copies of the rule files.
func TestPrometheusConfigRendering(t *testing.T) {
	dir := t.TempDir()
	rules := filepath.Join(t.TempDir(), "r.yml")
	if err := os.WriteFile(rules, []byte("groups: []\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := promConfig(dir, PrometheusOptions{Targets: []string{"127.0.0.1:1", "127.0.0.1:2"}, Job: "x",
		ScrapeInterval: 2 * time.Second, RuleFiles: []string{rules}})
	if err != nil {
		t.Fatal(err)
	}
	want := "global: {scrape_interval: 2000ms, evaluation_interval: 1000ms}\n" +
		`rule_files: ["` + filepath.Join(dir, "rules", "00-r.yml") + "\"]\n" +
		"scrape_configs:\n  - job_name: \"x\"\n    static_configs: [{targets: [\"127.0.0.1:1\",\"127.0.0.1:2\"]}]\n"
	if got != want {
		t.Errorf("config:\n%s\nwant:\n%s", got, want)
	}
	if _, err := os.Stat(filepath.Join(dir, "rules", "00-r.yml")); err != nil {
		t.Error(err)
	}
}
