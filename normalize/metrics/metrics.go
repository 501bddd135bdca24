// Package metrics exposes a collector's figures to Prometheus: its
// connectors (link up, readings, errors, reconnects, sequence gaps, the
// last round trip), its live store (tags, subscribers, samples published,
// updates subscribers lost), its alerts (active and unacknowledged, by
// kind and severity) and its data-quality scorecards (normalize/score:
// completeness, validity, availability, p95 age and alerts per site, line
// and machine over the rolling window, and per line over the open work
// order, batch and shift).
//
// Every figure is read from the store and the board at scrape time; the
// package keeps no state of its own.
//
// Label cardinality is bounded by the plant, not by its data: labels name
// endpoints (source), assets (site, line, machine), alert kinds and
// severities, and context roles — never a tag, and never a work order or
// batch id. A series per tag would multiply the series by the tags (100k
// on a large line) for figures the store already gives per tag; a series
// per batch id would grow without end, a new one each batch. The JSON
// scorecard event (otwin watch --headless) and the dashboard carry the
// periods by their ids.
package metrics

import (
	"net/http"
	"sort"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/otwin/otwin/connectors"
	"github.com/otwin/otwin/normalize"
	"github.com/otwin/otwin/normalize/score"
	"github.com/otwin/otwin/normalize/store"
)

// Sources are what the metrics are read from.
type Sources struct {
	// Store is the live store: health, counters and alerts. Required.
	Store *store.Store
	// Scores, when set, gives the scorecards: a collector's score.Board,
	// or the scorecards of every collector a dashboard reads from a
	// broker (mqttsub.Reader).
	Scores Reporter
}

// Reporter gives data-quality scorecards.
type Reporter interface {
	Report() score.Report
}

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc("otwin_"+name, help, labels, nil)
}

var (
	connUp         = desc("connector_up", "1 when the endpoint's link is connected, else 0.", "source", "protocol")
	connReadings   = desc("connector_readings_total", "Readings the endpoint's connector delivered.", "source", "protocol")
	connErrors     = desc("connector_errors_total", "Failed requests of the endpoint's connector.", "source", "protocol")
	connReconnects = desc("connector_reconnects_total", "Reconnections of the endpoint's connector.", "source", "protocol")
	connGaps       = desc("connector_sequence_gaps_total", "Missing OPC UA notification sequence numbers.", "source", "protocol")
	connLatency    = desc("connector_latency_seconds", "The endpoint's last request round trip (Modbus poll, OPC UA read or publish).", "source", "protocol")

	storeTags        = desc("store_tags", "Tags in the live store.")
	storeSubscribers = desc("store_subscribers", "Subscribers of the live store (dashboards, SSH sessions, exporters).")
	storePublished   = desc("store_published_total", "Samples published to the live store.")
	storeDropped     = desc("store_dropped_total", "Sample updates subscribers never received because a newer value of the same tag replaced them first.")
	storeSkipped     = desc("store_skipped_frames_total", "Frames skipped because a subscriber had not taken its previous batch.")

	alertsActive  = desc("alerts_active", "Active alerts (acknowledged or not).", "kind", "severity")
	alertsUnacked = desc("alerts_unacked", "Alerts waiting for an acknowledgement (active or returned to normal).", "kind", "severity")

	scoreWindow       = desc("scorecard_window_seconds", "The scorecards' rolling window.")
	scoreCompleteness = desc("scorecard_completeness_ratio", "Samples received / expected over the window.", "level", "asset")
	scoreValidity     = desc("scorecard_validity_ratio", "Share of received samples that were Good, over the window.", "level", "asset")
	scoreAvailability = desc("scorecard_availability_ratio", "Share of the window the endpoint links were up.", "level", "asset")
	scoreAge          = desc("scorecard_p95_age_seconds", "95th percentile of received - source time over the window.", "level", "asset")
	scoreAlerts       = desc("scorecard_alerts", "Alerts raised in the window, by kind.", "level", "asset", "kind")

	periodCompleteness = desc("scorecard_period_completeness_ratio", "Samples received / expected since the line's current work order, batch or shift began.", "line", "role")
	periodValidity     = desc("scorecard_period_validity_ratio", "Share of Good samples since the line's current work order, batch or shift began.", "line", "role")
	periodAvailability = desc("scorecard_period_availability_ratio", "Share of time the links were up since the line's current work order, batch or shift began.", "line", "role")
)

// Collector is a prometheus.Collector of a collector's figures.
type Collector struct{ src Sources }

// NewCollector returns the Collector of src.
func NewCollector(src Sources) *Collector { return &Collector{src: src} }

// Describe sends every metric's description.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		connUp, connReadings, connErrors, connReconnects, connGaps, connLatency,
		storeTags, storeSubscribers, storePublished, storeDropped, storeSkipped,
		alertsActive, alertsUnacked,
		scoreWindow, scoreCompleteness, scoreValidity, scoreAvailability, scoreAge, scoreAlerts,
		periodCompleteness, periodValidity, periodAvailability,
	} {
		ch <- d
	}
}

// Collect reads the store and the board and sends every metric.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	st := c.src.Store
	for _, h := range st.Health() {
		up := 0.0
		if h.State == connectors.Connected {
			up = 1
		}
		gauge(connUp, up, h.Source, h.Protocol)
		counter(connReadings, h.Readings, h.Source, h.Protocol)
		counter(connErrors, h.Errors, h.Source, h.Protocol)
		counter(connReconnects, h.Reconnects, h.Source, h.Protocol)
		counter(connGaps, h.SequenceGaps, h.Source, h.Protocol)
		gauge(connLatency, h.Latency.Seconds(), h.Source, h.Protocol)
	}
	s := st.Stats()
	gauge(storeTags, float64(s.Tags))
	gauge(storeSubscribers, float64(s.Subscribers))
	counter(storePublished, s.Published)
	counter(storeDropped, s.Dropped)
	counter(storeSkipped, s.Skipped)
	collectAlerts(st.Alerts(), gauge)
	if c.src.Scores != nil {
		collectScores(c.src.Scores.Report(), gauge)
	}
}

type gaugeFunc func(d *prometheus.Desc, v float64, labels ...string)

// collectAlerts counts alerts by kind and severity.
func collectAlerts(as []normalize.Alert, gauge gaugeFunc) {
	type key struct{ kind, sev string }
	active, unacked := map[key]int{}, map[key]int{}
	for i := range as {
		a := &as[i]
		k := key{string(a.Kind), a.Severity.String()}
		if a.Active() {
			active[k]++
		}
		if a.Unacked() {
			unacked[k]++
		}
	}
	for _, m := range []struct {
		d *prometheus.Desc
		n map[key]int
	}{{alertsActive, active}, {alertsUnacked, unacked}} {
		keys := make([]key, 0, len(m.n))
		for k := range m.n {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool { return keys[i].kind+keys[i].sev < keys[j].kind+keys[j].sev })
		for _, k := range keys {
			gauge(m.d, float64(m.n[k]), k.kind, k.sev)
		}
	}
}

// collectScores sends the window's cards and the open periods' figures;
// figures without data (-1) are left out.
func collectScores(r score.Report, gauge gaugeFunc) {
	gauge(scoreWindow, r.Window)
	known := func(d *prometheus.Desc, v float64, labels ...string) {
		if v >= 0 {
			gauge(d, v, labels...)
		}
	}
	for _, cards := range [][]score.Card{r.Sites, r.Lines, r.Machines} {
		for _, c := range cards {
			known(scoreCompleteness, c.Completeness, c.Level, c.Asset)
			known(scoreValidity, c.Validity, c.Level, c.Asset)
			known(scoreAvailability, c.Availability, c.Level, c.Asset)
			known(scoreAge, c.P95Age, c.Level, c.Asset)
			kinds := make([]string, 0, len(c.Alerts))
			for k := range c.Alerts {
				kinds = append(kinds, k)
			}
			sort.Strings(kinds)
			for _, k := range kinds {
				gauge(scoreAlerts, float64(c.Alerts[k]), c.Level, c.Asset, k)
			}
		}
	}
	for _, c := range r.Periods {
		if !c.To.IsZero() {
			continue // closed: its id is history, not a series
		}
		known(periodCompleteness, c.Completeness, c.Asset, c.Level)
		known(periodValidity, c.Validity, c.Asset, c.Level)
		known(periodAvailability, c.Availability, c.Asset, c.Level)
	}
}

// Handler serves src's metrics, with the Go runtime's and the process's,
// in the Prometheus exposition formats.
func Handler(src Sources) http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(NewCollector(src), collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}
