// Package dashboards builds the Grafana dashboards Gatewatch ships, with
// grafana-foundation-sdk, from the metric names the gateway registers: a
// panel can only name a metric that exists. `make dashboards` writes them
// to dashboards/grafana/*.json (what Grafana provisions); a test checks
// the committed files are what this package prints.
package dashboards
