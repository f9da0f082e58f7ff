// Package prom serves telemetry/stats to Prometheus. It never counts on
// its own: every value is read from a stats snapshot at scrape time.
package prom

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/gatewatch/gatewatch/telemetry/stats"
)

// Namespace prefixes every metric name.
const Namespace = "gatewatch"

// Collector exports every stats figure.
type Collector struct {
	st    *stats.Stats
	descs map[string]*prometheus.Desc
	info  *prometheus.Desc
}

// NewCollector creates the collector over st.
func NewCollector(st *stats.Stats) *Collector {
	c := &Collector{st: st, descs: map[string]*prometheus.Desc{}}
	for _, d := range st.Descs() {
		if d.MIBOnly {
			continue
		}
		var labels []string
		if d.Label != "" {
			labels = []string{d.Label}
		}
		c.descs[d.Name] = prometheus.NewDesc(Namespace+"_"+d.Name, d.Help, labels, nil)
	}
	c.info = prometheus.NewDesc(Namespace+"_build_info", "Version of the running gateway (always 1).", []string{"version", "config_hash"}, nil)
	return c
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs {
		ch <- d
	}
	ch <- c.info
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	snap := c.st.Snapshot()
	for _, s := range snap.Samples {
		if s.Desc.MIBOnly {
			continue
		}
		vt := prometheus.GaugeValue
		if s.Desc.Kind == stats.KindCounter {
			vt = prometheus.CounterValue
		}
		var labels []string
		if s.Desc.Label != "" {
			labels = []string{s.Label}
		}
		ch <- prometheus.MustNewConstMetric(c.descs[s.Desc.Name], vt, float64(s.Value), labels...)
	}
	for _, h := range snap.Histograms {
		buckets := make(map[float64]uint64, len(h.Value.Bounds))
		for i, b := range h.Value.Bounds {
			buckets[b] = h.Value.Cumulative[i]
		}
		var labels []string
		if h.Desc.Label != "" {
			labels = []string{h.Label}
		}
		ch <- prometheus.MustNewConstHistogram(c.descs[h.Desc.Name], h.Value.Count, h.Value.Sum, buckets, labels...)
	}
	version, _ := c.st.Info()
	hash, _ := c.st.Config()
	ch <- prometheus.MustNewConstMetric(c.info, prometheus.GaugeValue, 1, version, hash)
}

// Handler serves the exposition of st plus the Go runtime and process
// figures.
func Handler(st *stats.Stats) http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(NewCollector(st), collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}
