package metrics

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/otwin/otwin/connectors"
	"github.com/otwin/otwin/normalize"
	"github.com/otwin/otwin/normalize/metrics/metricstest"
	"github.com/otwin/otwin/normalize/score"
	"github.com/otwin/otwin/normalize/store"
)

var t0 = time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)

func TestScrape(t *testing.T) {
	st := store.New(store.Config{})
	defer st.Close()
	st.SetHealth(
		connectors.Health{Source: "plc", Protocol: "modbus", State: connectors.Connected, Readings: 120, Errors: 3, Reconnects: 1, Latency: 4 * time.Millisecond},
		connectors.Health{Source: "ua", Protocol: "opcua", State: connectors.Down, SequenceGaps: 2},
	)
	st.Publish(normalize.Sample{ID: "acme/s1/a/l1/m1/t", Asset: "acme/s1/a/l1/m1", Tag: "t", Status: connectors.Good})
	st.PublishConditions(
		normalize.Condition{Kind: normalize.AlertStale, Target: "acme/s1/a/l1/m1/t", Active: true, Severity: normalize.SeverityMedium, At: t0},
		normalize.Condition{Kind: normalize.AlertStale, Target: "acme/s1/a/l1/m1/u", Active: true, Severity: normalize.SeverityMedium, At: t0},
		normalize.Condition{Kind: normalize.AlertCommLoss, Target: "ua", Active: true, Severity: normalize.SeverityHigh, At: t0},
	)
	if err := st.Ack("comm_loss:ua", "ana", ""); err != nil {
		t.Fatal(err)
	}
	b := score.New(score.Config{
		Sources: []score.Source{{Name: "plc", Poll: time.Second}},
		Points:  []score.Point{{ID: "acme/s1/a/l1/m1/t", Asset: "acme/s1/a/l1/m1", Source: "plc"}},
	})
	b.Tick(t0, []connectors.Health{{Source: "plc", State: connectors.Connected}})
	b.Observe(&normalize.Output{Samples: []normalize.Sample{
		{ID: "acme/s1/a/l1/m1/t", Asset: "acme/s1/a/l1/m1", Source: "plc", Status: connectors.Good, Received: t0.Add(time.Second)},
		{ID: "acme/s1/a/l1/m1/t", Asset: "acme/s1/a/l1/m1", Source: "plc", Status: connectors.BadSensorFailure, Received: t0.Add(2 * time.Second)},
	}, Conditions: []normalize.Condition{{Kind: normalize.AlertStale, Target: "acme/s1/a/l1/m1/t", Active: true}}})
	b.Tick(t0.Add(4*time.Second), []connectors.Health{{Source: "plc", State: connectors.Connected}})

	srv := httptest.NewServer(Handler(Sources{Store: st, Scores: b}))
	defer srv.Close()
	fams := metricstest.Scrape(t, srv.URL)
	for _, tt := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"otwin_connector_up", []string{"source=plc", "protocol=modbus"}, 1},
		{"otwin_connector_up", []string{"source=ua"}, 0},
		{"otwin_connector_readings_total", []string{"source=plc"}, 120},
		{"otwin_connector_errors_total", []string{"source=plc"}, 3},
		{"otwin_connector_reconnects_total", []string{"source=plc"}, 1},
		{"otwin_connector_sequence_gaps_total", []string{"source=ua"}, 2},
		{"otwin_connector_latency_seconds", []string{"source=plc"}, 0.004},
		{"otwin_store_tags", nil, 1},
		{"otwin_store_published_total", nil, 1},
		{"otwin_alerts_active", []string{"kind=stale", "severity=medium"}, 2},
		{"otwin_alerts_unacked", []string{"kind=stale", "severity=medium"}, 2},
		{"otwin_alerts_active", []string{"kind=comm_loss", "severity=high"}, 1},
		{"otwin_scorecard_window_seconds", nil, 900},
		// 4 s at one poll a second: 4 expected, 2 received, 1 of 2 good.
		{"otwin_scorecard_completeness_ratio", []string{"level=machine", "asset=acme/s1/a/l1/m1"}, 0.5},
		{"otwin_scorecard_validity_ratio", []string{"level=line", "asset=acme/s1/a/l1"}, 0.5},
		{"otwin_scorecard_availability_ratio", []string{"level=site", "asset=acme/s1"}, 1},
		{"otwin_scorecard_alerts", []string{"level=machine", "asset=acme/s1/a/l1/m1", "kind=stale"}, 1},
	} {
		got, ok := metricstest.Value(fams, tt.name, tt.labels...)
		if !ok || got != tt.want {
			t.Errorf("%s%v = %v (found %v), want %v", tt.name, tt.labels, got, ok, tt.want)
		}
	}
	if _, ok := metricstest.Value(fams, "otwin_alerts_unacked", "kind=comm_loss"); ok {
		t.Error("an acknowledged alert counted as unacked")
	}
	if _, ok := metricstest.Value(fams, "otwin_scorecard_p95_age_seconds"); ok {
		t.Error("a figure without data (no source times) was exported")
	}
	if _, ok := fams["go_goroutines"]; !ok {
		t.Error("no Go runtime metrics")
	}
	// No series is labelled per tag.
	for name, f := range fams {
		for _, m := range f.Metric {
			for _, l := range m.Label {
				if l.GetName() == "tag" || l.GetName() == "id" || strings.HasSuffix(l.GetValue(), "/t") {
					t.Errorf("%s has a per-tag label %s=%s", name, l.GetName(), l.GetValue())
				}
			}
		}
	}
}
