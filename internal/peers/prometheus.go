package peers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// PrometheusBin is the Prometheus server (Debian package prometheus).
const PrometheusBin = "/usr/bin/prometheus"

// promStartTimeout bounds the wait for /-/ready (0.14-0.39 s measured; an
// empty TSDB has no WAL to replay).
const promStartTimeout = 30 * time.Second

// PrometheusOptions configures StartPrometheus.
type PrometheusOptions struct {
	// Targets are the "host:port" addresses scraped (path /metrics) by
	// one job, named by Job.
	Targets []string
	// Job is the scrape job's name; "" means "gatewatch".
	Job string
	// ScrapeInterval and EvaluationInterval are the global intervals; 0
	// means 1s, so that tests see data quickly.
	ScrapeInterval     time.Duration
	EvaluationInterval time.Duration
	// RuleFiles are rule files (recording and alerting rules) to load.
	// They are copied into the server's directory, so the caller may
	// remove or change its own copies afterwards.
	RuleFiles []string
}

// Prometheus is a running Prometheus server on 127.0.0.1 with a private
// TSDB. Its first scrape lands only about 5.5-6.2 s after start: target
// discovery updates reach the scrape manager throttled to 5 s.
type Prometheus struct {
	Dir string // private directory: prometheus.yml, rules/, data/, the log

	addr   string
	client *http.Client
	proc   *process
}

// PromSample is one sample of a query result: its labels (__name__
// included when the series has one) and its value as Prometheus prints it
// ("3", "0.5", "NaN", "+Inf"), with the evaluation time in Unix seconds.
// A string result has its text in Value and no labels.
type PromSample struct {
	Labels map[string]string
	Value  string
	Time   float64
}

// QueryResult is an instant query's answer. Type is Prometheus'
// resultType: "vector", "scalar", "matrix" or "string". A matrix (a range
// selector such as x[1m]) gives one sample per point of each series.
type QueryResult struct {
	Type     string
	Samples  []PromSample
	Warnings []string
}

// PromAPIError is an error answer of the HTTP API, for example a PromQL
// parse error: Type "bad_data", Msg `1:5: parse error: unclosed left
// parenthesis`.
type PromAPIError struct {
	Status int    // HTTP status
	Type   string // errorType
	Msg    string // error
}

func (e *PromAPIError) Error() string {
	return fmt.Sprintf("prometheus API: %s (%s, HTTP %d)", e.Msg, e.Type, e.Status)
}

// PromTarget is one active scrape target.
type PromTarget struct {
	Job        string // labels.job
	Instance   string // labels.instance
	ScrapeURL  string
	Health     string // "up", "down" or "unknown" (not scraped yet)
	LastError  string
	LastScrape time.Time
}

// PromRule is one loaded rule.
type PromRule struct {
	Group     string
	Name      string // the alert's name, or the recorded series' name
	Type      string // "alerting" or "recording"
	Health    string // "ok", "err" or "unknown" (not evaluated yet)
	State     string // alerting rules: "inactive", "pending" or "firing"; "" for recording rules
	LastError string
}

// StartPrometheus writes prometheus.yml into a private directory, starts
// Prometheus on a free 127.0.0.1 port and returns once /-/ready answers.
// It is stopped (SIGTERM, by PID) at cleanup.
func StartPrometheus(t testing.TB, opts PrometheusOptions) *Prometheus {
	t.Helper()
	Require(t, PrometheusBin)
	p := &Prometheus{Dir: peerDir(t, "prometheus"), client: &http.Client{Timeout: 10 * time.Second}}
	p.addr = FreeAddr(t)
	conf := filepath.Join(p.Dir, "prometheus.yml")
	text, err := promConfig(p.Dir, opts)
	if err != nil {
		t.Fatalf("peers: %v", err)
	}
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		t.Fatalf("peers: %v", err)
	}
	// promtool names the line of a broken rule file or config; Prometheus
	// itself would only exit with the first error in its log.
	if _, err := os.Stat(PromtoolBin); err == nil {
		if out, err := runTool(t, 30*time.Second, nil, PromtoolBin, "check", "config", conf); err != nil {
			t.Fatalf("peers: promtool check config: %v\n%s\n%s", err, out, text)
		}
	}
	p.proc = startProcess(t, p.Dir, "prometheus", []string{PrometheusBin,
		"--config.file=" + conf,
		"--storage.tsdb.path=" + filepath.Join(p.Dir, "data"),
		"--web.listen-address=" + p.addr,
		"--log.level=warn",
	})
	deadline := time.Now().Add(promStartTimeout)
	for {
		err := p.ready()
		if err == nil {
			return p
		}
		select {
		case <-p.proc.exited():
			t.Fatalf("peers: prometheus exited during start-up: %s", p.proc.describe())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("peers: prometheus not ready after %v (%v): %s", promStartTimeout, err, p.proc.describe())
		}
		time.Sleep(pollInterval)
	}
}

// promConfig renders prometheus.yml and copies the rule files. Every string
// is written as a JSON string, which YAML reads as the same string.
func promConfig(dir string, opts PrometheusOptions) (string, error) {
	interval := func(d time.Duration) string {
		if d <= 0 {
			d = time.Second
		}
		return strconv.FormatInt(d.Milliseconds(), 10) + "ms"
	}
	job := opts.Job
	if job == "" {
		job = "gatewatch"
	}
	var rules []string
	if len(opts.RuleFiles) > 0 {
		if err := os.Mkdir(filepath.Join(dir, "rules"), 0o755); err != nil {
			return "", err
		}
	}
	for i, src := range opts.RuleFiles {
		data, err := os.ReadFile(src)
		if err != nil {
			return "", fmt.Errorf("rule file: %w", err)
		}
		// The index keeps two files of the same name apart.
		dst := filepath.Join(dir, "rules", fmt.Sprintf("%02d-%s", i, filepath.Base(src)))
		if err := os.WriteFile(dst, data, 0o644); err != nil {
			return "", err
		}
		rules = append(rules, dst)
	}
	q := func(v any) string { b, _ := json.Marshal(v); return string(b) }
	targets := opts.Targets
	if targets == nil {
		targets = []string{}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "global: {scrape_interval: %s, evaluation_interval: %s}\n",
		interval(opts.ScrapeInterval), interval(opts.EvaluationInterval))
	if len(rules) > 0 {
		fmt.Fprintf(&b, "rule_files: %s\n", q(rules))
	}
	fmt.Fprintf(&b, "scrape_configs:\n  - job_name: %s\n    static_configs: [{targets: %s}]\n", q(job), q(targets))
	return b.String(), nil
}

// Addr is the web listener, "127.0.0.1:PORT".
func (p *Prometheus) Addr() string { return p.addr }

// URL is the web UI and API base, "http://127.0.0.1:PORT".
func (p *Prometheus) URL() string { return "http://" + p.addr }

// PID is the running server's process id.
func (p *Prometheus) PID() int { return p.proc.cmd.Process.Pid }

// Stop ends Prometheus now instead of at cleanup.
func (p *Prometheus) Stop(t testing.TB) {
	t.Helper()
	p.proc.stop(t)
}

func (p *Prometheus) ready() error {
	resp, err := p.client.Get(p.URL() + "/-/ready")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("/-/ready: %s", resp.Status)
	}
	return nil
}

// api calls an API endpoint (a POST with form values when form is not nil)
// and decodes the "data" member of a success answer into data.
func (p *Prometheus) api(path string, form url.Values, data any) (warnings []string, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var req *http.Request
	if form != nil {
		req, err = http.NewRequestWithContext(ctx, http.MethodPost, p.URL()+path, strings.NewReader(form.Encode()))
		if err == nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
	} else {
		req, err = http.NewRequestWithContext(ctx, http.MethodGet, p.URL()+path, nil)
	}
	if err != nil {
		return nil, err
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("prometheus %s: %w", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("prometheus %s: %w", path, err)
	}
	var env struct {
		Status    string          `json:"status"`
		Data      json.RawMessage `json:"data"`
		ErrorType string          `json:"errorType"`
		Error     string          `json:"error"`
		Warnings  []string        `json:"warnings"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, fmt.Errorf("prometheus %s: HTTP %s, not an API answer (%v): %.300s", path, resp.Status, err, body)
	}
	if env.Status != "success" {
		return env.Warnings, &PromAPIError{Status: resp.StatusCode, Type: env.ErrorType, Msg: env.Error}
	}
	if err := json.Unmarshal(env.Data, data); err != nil {
		return env.Warnings, fmt.Errorf("prometheus %s: decoding data: %w: %.300s", path, err, env.Data)
	}
	return env.Warnings, nil
}

// Query runs an instant query (POST /api/v1/query, evaluated now). An
// error answer, such as a PromQL parse error, is a *PromAPIError carrying
// Prometheus' message; a failure to reach the server is a plain error.
func (p *Prometheus) Query(t testing.TB, expr string) (QueryResult, error) {
	t.Helper()
	var data struct {
		ResultType string          `json:"resultType"`
		Result     json.RawMessage `json:"result"`
	}
	warnings, err := p.api("/api/v1/query", url.Values{"query": {expr}}, &data)
	if err != nil {
		return QueryResult{}, err
	}
	r := QueryResult{Type: data.ResultType, Warnings: warnings}
	switch data.ResultType {
	case "vector":
		var series []struct {
			Metric map[string]string `json:"metric"`
			Value  promPoint         `json:"value"`
		}
		if err = json.Unmarshal(data.Result, &series); err == nil {
			for _, s := range series {
				r.Samples = append(r.Samples, PromSample{Labels: s.Metric, Value: s.Value.v, Time: s.Value.t})
			}
		}
	case "matrix":
		var series []struct {
			Metric map[string]string `json:"metric"`
			Values []promPoint       `json:"values"`
		}
		if err = json.Unmarshal(data.Result, &series); err == nil {
			for _, s := range series {
				for _, v := range s.Values {
					r.Samples = append(r.Samples, PromSample{Labels: s.Metric, Value: v.v, Time: v.t})
				}
			}
		}
	case "scalar", "string":
		var v promPoint
		if err = json.Unmarshal(data.Result, &v); err == nil {
			r.Samples = []PromSample{{Labels: map[string]string{}, Value: v.v, Time: v.t}}
		}
	default:
		err = fmt.Errorf("unknown result type %q", data.ResultType)
	}
	if err != nil {
		return QueryResult{}, fmt.Errorf("prometheus query %q: %w: %.300s", expr, err, data.Result)
	}
	return r, nil
}

// promPoint is the API's [time, "value"] pair.
type promPoint struct {
	t float64
	v string
}

func (pp *promPoint) UnmarshalJSON(b []byte) error {
	var pair []json.RawMessage
	if err := json.Unmarshal(b, &pair); err != nil {
		return err
	}
	if len(pair) != 2 {
		return fmt.Errorf("a point of %d elements", len(pair))
	}
	if err := json.Unmarshal(pair[0], &pp.t); err != nil {
		return err
	}
	return json.Unmarshal(pair[1], &pp.v)
}

// WaitForData polls the query until it returns at least one sample and
// returns that result. It fails the test after timeout, with the last
// answer; a query Prometheus refuses (a parse error) fails at once.
// Allow about 20 s for data from a fresh server: the first scrape comes
// only 5.5-6.2 s after start.
func (p *Prometheus) WaitForData(t testing.TB, expr string, timeout time.Duration) QueryResult {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		r, err := p.Query(t, expr)
		if err == nil && len(r.Samples) > 0 {
			return r
		}
		if apiErr := (*PromAPIError)(nil); errors.As(err, &apiErr) && apiErr.Type == "bad_data" {
			t.Fatalf("peers: prometheus refuses %q: %v", expr, err)
		}
		select {
		case <-p.proc.exited():
			t.Fatalf("peers: prometheus exited: %s", p.proc.describe())
		default:
		}
		if !time.Now().Before(deadline) {
			t.Fatalf("peers: prometheus: no data for %q after %v (last error: %v; targets: %+v)",
				expr, timeout, err, p.targets())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// Targets returns the active scrape targets and their health; it fails the
// test if the API does not answer.
func (p *Prometheus) Targets(t testing.TB) []PromTarget {
	t.Helper()
	targets, err := p.targetsErr()
	if err != nil {
		t.Fatalf("peers: %v", err)
	}
	return targets
}

// targets is Targets for failure messages: errors become the answer.
func (p *Prometheus) targets() any {
	targets, err := p.targetsErr()
	if err != nil {
		return err.Error()
	}
	return targets
}

func (p *Prometheus) targetsErr() ([]PromTarget, error) {
	var data struct {
		ActiveTargets []struct {
			Labels     map[string]string `json:"labels"`
			ScrapeURL  string            `json:"scrapeUrl"`
			Health     string            `json:"health"`
			LastError  string            `json:"lastError"`
			LastScrape time.Time         `json:"lastScrape"`
		} `json:"activeTargets"`
	}
	if _, err := p.api("/api/v1/targets?state=active", nil, &data); err != nil {
		return nil, err
	}
	out := make([]PromTarget, 0, len(data.ActiveTargets))
	for _, a := range data.ActiveTargets {
		out = append(out, PromTarget{Job: a.Labels["job"], Instance: a.Labels["instance"], ScrapeURL: a.ScrapeURL,
			Health: a.Health, LastError: a.LastError, LastScrape: a.LastScrape})
	}
	return out, nil
}

// Rules returns every loaded rule with its health and, for alerting rules,
// its state; it fails the test if the API does not answer.
func (p *Prometheus) Rules(t testing.TB) []PromRule {
	t.Helper()
	var data struct {
		Groups []struct {
			Name  string `json:"name"`
			Rules []struct {
				Name      string `json:"name"`
				Type      string `json:"type"`
				Health    string `json:"health"`
				State     string `json:"state"`
				LastError string `json:"lastError"`
			} `json:"rules"`
		} `json:"groups"`
	}
	if _, err := p.api("/api/v1/rules", nil, &data); err != nil {
		t.Fatalf("peers: %v", err)
	}
	var out []PromRule
	for _, g := range data.Groups {
		for _, r := range g.Rules {
			out = append(out, PromRule{Group: g.Name, Name: r.Name, Type: r.Type, Health: r.Health, State: r.State, LastError: r.LastError})
		}
	}
	return out
}
