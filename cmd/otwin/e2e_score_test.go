package main

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/otwin/otwin/connectors"
	"github.com/otwin/otwin/normalize/metrics/metricstest"
	"github.com/otwin/otwin/normalize/score"
	"github.com/otwin/otwin/normalize/sources"
	"github.com/otwin/otwin/scenarios"
)

// scoreScenario has a machine read over Modbus (polled) and one over OPC
// UA (subscribed).
const scoreScenario = `
name: e2escore
tick: 100ms
location: {enterprise: acme, site: s1, area: a1, line: l1}
opcua: {security: [none]}
machines:
  - name: mb1
    modbus: {port: 0}
    tags:
      - {name: a, model: {sine: {offset: 50, amplitude: 10, period: 20s}}, modbus: {table: input, address: 0, type: float32}}
      - {name: b, model: {ramp: {min: 0, max: 10, period: 5s}}, modbus: {table: input, address: 2, type: int16}}
  - name: ua1
    opcua: {port: 0}
    tags:
      - {name: a, model: {sine: {offset: 50, amplitude: 10, period: 20s}}}
`

const scoreLine = "acme/s1/a1/l1/"

// machineCard returns the window card of machine path in r.
func machineCard(t testing.TB, r score.Report, path string) score.Card {
	t.Helper()
	for _, c := range r.Machines {
		if c.Asset == path {
			return c
		}
	}
	t.Fatalf("no card of %s in %+v", path, r.Machines)
	return score.Card{}
}

// TestE2EScorecardCommLoss injects a comm_loss fault of 4s on both
// machines and measures how much of the window their links were down:
// with the window covering the whole run, (T2−T1) − (A2·T2 − A1·T1) is
// the down time between two reports (A availability, T the span
// covered). It must be the fault's 4s, give or take what the twin and the
// connectors add:
//
//   - late by the detection, which shortens the down time: the twin
//     applies and ends a fault at its tick (100ms); a Modbus poll (100ms)
//     then waits its timeout (500ms); an OPC UA subscription is found
//     silent by its watchdog (1s) after a publishing interval (100ms).
//   - late by the recovery, which lengthens it: the reconnect backoff
//     doubles from 100ms during the outage (0.1, 0.2, 0.4, 0.8, 1.6,
//     3.2s), so the next attempt after the fault's end comes at most one
//     step (3.2s for a 4s outage) later, plus one dial or request timeout
//     (500ms Modbus, 1s OPC UA).
//
// Each side gets 200ms more for scheduling on a loaded machine (-race,
// parallel tests). The board places each change of state at its
// Health.Since, so the pipeline's tick adds no error. The same figures
// reach /metrics.
func TestE2EScorecardCommLoss(t *testing.T) {
	t.Parallel()
	const fault = 4 * time.Second
	sc := parseScenario(t, "e2escore", scoreScenario)
	tw := startE2ETwin(t, sc)
	f := exportFast(t, sc, tw.Endpoints)
	f.Scorecard = &sources.Scorecard{Window: 10 * time.Minute, LineLevels: 4}
	col := startE2ECollector(t, f)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	met := metricsOptions{addr: "127.0.0.1:0"}
	addr, err := met.serve(ctx, col.collector, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + addr + "/metrics"

	connected := func() bool {
		for _, s := range []string{"mb1-modbus", "ua1-opcua"} {
			if h, ok := healthOf(col.Store, s); !ok || h.State != connectors.Connected {
				return false
			}
		}
		return true
	}
	waitUntil(t, 20*time.Second, "both endpoints connected", connected)
	settled := time.Now()
	waitUntil(t, 10*time.Second, "two seconds of the board after connecting", func() bool {
		return col.Board.Report().At.After(settled.Add(2 * time.Second))
	})
	r1 := col.Board.Report()

	mark := col.Rec.Mark()
	for _, m := range []string{"mb1", "ua1"} {
		if _, err := tw.Control.Inject(context.Background(), scenarios.Fault{Name: "e2e-down-" + m, Kind: scenarios.CommLoss, Target: m,
			Duration: scenarios.Duration(fault)}); err != nil {
			t.Fatal(err)
		}
	}
	for _, src := range []string{"mb1-modbus", "ua1-opcua"} {
		waitUntil(t, 5*time.Second, "comm_loss raised on "+src, func() bool {
			_, _, ok := col.Rec.AlertSince(mark, "comm_loss:"+src, "raised")
			return ok
		})
	}
	// During the outage /metrics says so.
	fams := metricstest.Scrape(t, url)
	for _, src := range []string{"mb1-modbus", "ua1-opcua"} {
		if v, ok := metricstest.Value(fams, "otwin_connector_up", "source="+src); !ok || v != 0 {
			t.Errorf("otwin_connector_up{source=%s} = %v (found %v) during the outage, want 0", src, v, ok)
		}
	}
	if v, ok := metricstest.Value(fams, "otwin_alerts_active", "kind=comm_loss", "severity=critical"); !ok || v != 2 {
		t.Errorf("otwin_alerts_active{kind=comm_loss} = %v (found %v), want 2", v, ok)
	}
	// The twin ends the fault after 4s of its clock; wait for the links
	// and two more seconds.
	waitUntil(t, 20*time.Second, "both endpoints back", connected)
	back := time.Now()
	waitUntil(t, 10*time.Second, "two seconds of the board after the links came back", func() bool {
		return col.Board.Report().At.After(back.Add(2 * time.Second))
	})
	r2 := col.Board.Report()

	const tick, sched = 100 * time.Millisecond, 200 * time.Millisecond
	bounds := map[string][2]time.Duration{ // detection, recovery allowances
		"mb1": {tick + 100*time.Millisecond + 500*time.Millisecond + sched, tick + 3200*time.Millisecond + 500*time.Millisecond + sched},
		"ua1": {tick + 100*time.Millisecond + time.Second + sched, tick + 3200*time.Millisecond + time.Second + sched},
	}
	for m, b := range bounds {
		c1, c2 := machineCard(t, r1, scoreLine+m), machineCard(t, r2, scoreLine+m)
		if !c1.From.Equal(c2.From) {
			t.Fatalf("%s: the window moved (%v, %v): it must cover the whole run", m, c1.From, c2.From)
		}
		t1, t2 := c1.To.Sub(c1.From).Seconds(), c2.To.Sub(c2.From).Seconds()
		down := (t2 - t1) - (c2.Availability*t2 - c1.Availability*t1)
		lo, hi := (fault - b[0]).Seconds(), (fault + b[1]).Seconds()
		// Availability is rounded to 4 decimals: at most 0.00005 × t.
		slack := 0.0001 * t2
		t.Logf("%s: availability %.4f over %.1fs, then %.4f over %.1fs: down %.2fs for a %s fault (allowed %.2f–%.2fs); completeness %.4f → %.4f",
			m, c1.Availability, t1, c2.Availability, t2, down, fault, lo, hi, c1.Completeness, c2.Completeness)
		if down < lo-slack || down > hi+slack {
			t.Errorf("%s: down %.2fs during a %s comm_loss, want %.2f–%.2fs", m, down, fault, lo, hi)
		}
		if c2.Completeness >= c1.Completeness || c2.Alerts["comm_loss"] != 1 {
			t.Errorf("%s: completeness %.4f → %.4f, alerts %v: want a drop and one comm_loss", m, c1.Completeness, c2.Completeness, c2.Alerts)
		}
	}
	// The scorecard gauges are the board's figures.
	fams = metricstest.Scrape(t, url)
	r3 := col.Board.Report()
	for _, m := range []string{"mb1", "ua1"} {
		want := machineCard(t, r3, scoreLine+m).Availability
		got, ok := metricstest.Value(fams, "otwin_scorecard_availability_ratio", "level=machine", "asset="+scoreLine+m)
		if !ok || got < want-0.01 || got > want+0.01 {
			t.Errorf("otwin_scorecard_availability_ratio{machine %s} = %v (found %v), the board says %v", m, got, ok, want)
		}
	}
	if v, ok := metricstest.Value(fams, "otwin_store_tags"); !ok || v != 3 {
		t.Errorf("otwin_store_tags = %v (found %v), want 3", v, ok)
	}
	if v, ok := metricstest.Value(fams, "otwin_connector_readings_total", "source=mb1-modbus", "protocol=modbus"); !ok || v == 0 {
		t.Errorf("otwin_connector_readings_total{mb1-modbus} = %v (found %v)", v, ok)
	}
}
