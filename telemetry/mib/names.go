package mib

import (
	"strings"

	"github.com/gatewatch/gatewatch/telemetry/stats"
)

// camel turns a statistics or event name ("route_delivered_messages_total",
// "queue.size_high") into a MIB descriptor part ("RouteDeliveredMessages",
// "QueueSizeHigh"): SMIv2 descriptors are letters and digits only.
func camel(name string) string {
	name = strings.TrimSuffix(name, "_total")
	var b strings.Builder
	up := true
	for _, r := range name {
		switch {
		case r == '_' || r == '.' || r == '-':
			up = true
		case up:
			b.WriteString(strings.ToUpper(string(r)))
			up = false
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// histogramBase is the descriptor part of a histogram, without its unit.
func histogramBase(name string) string {
	return camel(strings.TrimSuffix(name, "_seconds"))
}

// figureName is the descriptor of a figure's object: "gw" and its name in
// camel case, without "_total" unless a figure of that name exists
// (incoming_connections_total beside incoming_connections).
func figureName(name string, taken map[string]bool) string {
	if strings.HasSuffix(name, "_total") && taken[strings.TrimSuffix(name, "_total")] {
		return "gw" + camel(strings.TrimSuffix(name, "_total")) + "Total"
	}
	return "gw" + camel(name)
}

func figureNames(descs []stats.Desc) map[string]bool {
	taken := map[string]bool{}
	for _, d := range descs {
		taken[d.Name] = true
	}
	return taken
}
