package dashboards

// quantiles is the median and 95th percentile of a histogram, per label.
func quantiles(metric, by string) []query {
	return []query{
		{"histogram_quantile(0.5, sum by (le" + by + ") (rate(gw:" + metric + "_bucket[$__rate_interval])))", "p50"},
		{"histogram_quantile(0.95, sum by (le" + by + ") (rate(gw:" + metric + "_bucket[$__rate_interval])))", "p95"},
	}
}

func labelled(qs []query, label string) []query {
	for i := range qs {
		qs[i].legend = "{{" + label + "}} " + qs[i].legend
	}
	return qs
}

func heat(metric string) []query {
	return []query{{"sum by (le) (rate(gw:" + metric + "_bucket[$__rate_interval]))", "{{le}}"}}
}

func health() board {
	return board{file: "gatewatch-health.json", uid: "gatewatch-health", title: "Gatewatch / Gateway health",
		desc: "Where the time goes in each phase, the telemetry channels (AgentX, traps, CEF), configuration reloads, the spool's disk and the signature databases.",
		rows: []row{
			{"Phase latency", []panel{
				{kind: kindHeatmap, title: "SMTP session duration", unit: "s", w: 8,
					desc: "Length of inbound SMTP sessions, connect to close.", queries: heat("smtp_session_duration_seconds")},
				{kind: kindHeatmap, title: "Scan stage duration", unit: "s", w: 8,
					desc: "Time one scan stage took for one message, all stages.", queries: heat("scan_stage_duration_seconds")},
				{kind: kindHeatmap, title: "Spool write duration", unit: "s", w: 8,
					desc: "Time to write and fsync a message to the spool before the 250.", queries: heat("spool_write_duration_seconds")},
				{kind: kindSeries, title: "Session and spool quantiles", unit: "s", w: 8,
					desc:    "Median and 95th percentile of SMTP session length and spool write time.",
					queries: append(labelled(quantiles("smtp_session_duration_seconds", ""), "session"), labelled(quantiles("spool_write_duration_seconds", ""), "spool")...)},
				{kind: kindSeries, title: "Scan stage quantiles", unit: "s", w: 8,
					desc:    "Median and 95th percentile of each scan stage's time per message.",
					queries: labelled(quantiles("scan_stage_duration_seconds", ", stage"), "stage")},
				{kind: kindSeries, title: "Anti-spam check quantiles", unit: "s", w: 8,
					desc:    "95th percentile of each anti-spam check group's time per message.",
					queries: []query{{"histogram_quantile(0.95, sum by (le, check) (rate(gw:antispam_check_duration_seconds_bucket[$__rate_interval])))", "{{check}} p95"}}},
				{kind: kindHeatmap, title: "Anti-virus scan duration", unit: "s",
					desc: "Time a scanner took per object, all scanners.", queries: heat("av_scan_duration_seconds")},
				{kind: kindSeries, title: "Anti-virus scan quantiles", unit: "s",
					desc:    "Median and 95th percentile of each scanner's time per object.",
					queries: labelled(quantiles("av_scan_duration_seconds", ", scanner"), "scanner")},
			}},
			{"Telemetry channels", []panel{
				{kind: kindStat, title: "Channels connected", unit: "bool_on_off", w: 24, h: 4,
					desc:    "1 while a telemetry channel has its consumer (AgentX master agent, CEF receivers, trap targets); 0 while it is down.",
					queries: []query{{"min by (channel) (gw:channel_up)", "{{channel}}"}}},
				{kind: kindSeries, title: "Events", unit: "ops",
					desc: "Events of the catalog per second (the ten most frequent types), and events a channel dropped because its buffer was full.",
					queries: []query{{"topk(10, sum by (event) (rate(gw:events_total[$__rate_interval])))", "{{event}}"},
						{"sum by (channel) (rate(gw:events_dropped_total[$__rate_interval]))", "dropped by {{channel}}"}}},
				{kind: kindSeries, title: "Channel records sent and waiting", unit: "short",
					desc: "Records each channel delivered per second, and records and bytes waiting in its disk buffer (CEF targets while the SIEM is away).",
					queries: []query{{"sum by (channel) (rate(gw:channel_sent_total[$__rate_interval]))", "{{channel}} sent/s"},
						{"sum by (channel) (gw:channel_backlog_records)", "{{channel}} waiting"},
						{"sum by (channel) (gw:channel_backlog_bytes)", "{{channel}} bytes waiting"}}},
				{kind: kindSeries, title: "Traps", unit: "short",
					desc: "Notifications sent and held back by the storm guard (per type), and per receiver sent and failed, over each interval.",
					queries: []query{{"sum by (event) (increase(gw:traps_sent_total[$__rate_interval]))", "sent {{event}}"},
						{"sum by (event) (increase(gw:traps_suppressed_total[$__rate_interval]))", "held back {{event}}"},
						{"sum by (target) (increase(gw:trap_target_sent_total[$__rate_interval]))", "to {{target}}"},
						{"sum by (target) (increase(gw:trap_target_failures_total[$__rate_interval]))", "failed to {{target}}"}}},
				{kind: kindSeries, title: "AgentX", unit: "short",
					desc: "Sessions opened with the master agent (a rise means snmpd restarted or the link broke) and requests it sent per second.",
					queries: []query{{"sum(increase(gw:agentx_sessions_total[$__rate_interval]))", "sessions opened"},
						{"sum(rate(gw:agentx_requests_total[$__rate_interval]))", "requests/s"}}},
			}},
			{"Process, configuration and disk", []panel{
				{kind: kindSeries, title: "Configuration reloads", unit: "short", w: 8,
					desc:    "Reloads (SIGHUP) by result; a failure keeps the previous configuration in force.",
					queries: []query{{"sum by (result) (increase(gw:config_reloads_total[$__rate_interval]))", "{{result}}"}}},
				{kind: kindStat, title: "Started and configuration loaded", unit: "dateTimeAsIso", w: 8,
					desc:    "When the gateway started and when its configuration was last loaded.",
					queries: []query{{"max(gw:start_time_seconds) * 1000", "started"}, {"max(gw:config_load_time_seconds) * 1000", "configuration loaded"}}},
				{kind: kindSeries, title: "Inbound connections and bad input", unit: "ops", w: 8,
					desc: "Connections accepted, connection errors, and messages refused as malformed, per second.",
					queries: []query{{"sum(rate(gw:incoming_connections_total[$__rate_interval]))", "connections"},
						{"sum(rate(gw:incoming_connection_errors_total[$__rate_interval]))", "connection errors"},
						{"sum(rate(gw:malformed_messages_total[$__rate_interval]))", "malformed"}}},
				{kind: kindSeries, title: "Spool disk", unit: "bytes",
					desc:    "Space the gateway can still use on the spool's file system, and the file system's size.",
					queries: []query{{"min(gw:spool_free_bytes)", "free"}, {"max(gw:spool_filesystem_bytes)", "size"}}},
				{kind: kindSeries, title: "Signature database age", unit: "s",
					desc:    "Age of each scanner's signature database (see the Security dashboard for the details).",
					queries: []query{{"max by (scanner) (gw:av_db_age_seconds)", "{{scanner}}"}}},
			}},
		}}
}
