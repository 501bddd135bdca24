package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/otwin/otwin/cmd/otwin/internal/workshop"
	"github.com/otwin/otwin/normalize"
	"github.com/otwin/otwin/twin"
)

// scenarioQuietSpeed is the scenario clock's speed of
// TestE2EShippedScenariosRaiseNoAlert: 10 simulated minutes in 75 s. With
// the fast sources (Modbus polled every 100 ms, OPC UA sampled every
// 50 ms) the collector sees the line every 0.4–0.8 s of scenario time,
// about as often as the shipped sources see it at 1×: rate rules (spike)
// judge what people would see.
const scenarioQuietSpeed = 8

// quietSampleGap is the most scenario time between two readings of a tag
// for a spike to count: twice what the shipped sources allow at 1×. On a
// machine too busy to keep up with the fast clock (the race detector on
// a loaded machine) the collector reads less often, and a run-up seen
// across a longer gap is a jump no one at 1× would see.
const quietSampleGap = 2 * time.Second

// TestE2EShippedScenariosRaiseNoAlert: each shipped scenario, served by
// its real OPC UA and Modbus servers and read by the real collector over
// the sources the workshop exports, runs 10 simulated minutes on a fast
// clock without a fault and raises no alert. An alert here would greet
// every demo and workshop without anyone having done anything.
func TestE2EShippedScenariosRaiseNoAlert(t *testing.T) {
	if testing.Short() {
		t.Skip("runs 10 simulated minutes of each shipped scenario")
	}
	t.Parallel()
	for _, name := range []string{"bottling", "pasteurizer", "cnc"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			sc := shippedScenario(t, name)
			tw := startE2ETwin(t, sc)
			col := startE2ECollector(t, exportFast(t, sc, tw.Endpoints))
			waitUntil(t, 30*time.Second, "every endpoint connected", func() bool { return allConnected(col.collector) })
			if err := tw.Engine.SetSpeed(scenarioQuietSpeed); err != nil {
				t.Fatal(err)
			}
			start := tw.Engine.Status().Elapsed.D()
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			if !waitFor(ctx, 2*time.Minute, func() bool { return tw.Engine.Status().Elapsed.D()-start >= 10*time.Minute }) {
				t.Fatalf("the scenario clock did not reach 10 minutes: %s", tw.Engine.Status().Elapsed.D()-start)
			}
			// The scenario's own timeline injects faults: their alerts are
			// what they are for.
			evs, _ := tw.Engine.Events(0)
			var raised []string
			for _, a := range col.Rec.Alerts() {
				if a.Transition != "raised" || byTimelineFault(evs, a.Alert.Target, a.At) {
					continue
				}
				if gap := sampleGap(col.Rec.Samples(a.Alert.Target), a.At) * scenarioQuietSpeed; a.Alert.Kind == normalize.AlertSpike && gap > quietSampleGap {
					t.Logf("%s: not counted, the collector read the tag %v of scenario time apart (more than %v): %s", a.Alert.ID, gap, quietSampleGap, a.Alert.Message)
					continue
				}
				raised = append(raised, fmt.Sprintf("%s %s (%s)", a.At.Format("15:04:05.000"), a.Alert.ID, a.Alert.Message))
			}
			if len(raised) > 0 {
				var log []string
				for _, e := range evs {
					log = append(log, fmt.Sprintf("%s %s %s %s", e.Time.Format("15:04:05.000"), e.Kind, e.Fault, e.Target))
				}
				t.Errorf("%s raised %d alerts without a fault:\n%s\nthe twin's events:\n%s", name, len(raised), strings.Join(raised, "\n"), strings.Join(log, "\n"))
			}
		})
	}
}

// sampleGap is the wall time between the last sample received by at and
// the one before it (0 with fewer than two).
func sampleGap(samples []normalize.Sample, at time.Time) time.Duration {
	i := len(samples) - 1
	for i >= 0 && samples[i].Received.After(at) {
		i--
	}
	if i < 1 {
		return 0
	}
	return samples[i].Received.Sub(samples[i-1].Received)
}

// byTimelineFault reports whether an alert on target raised at at falls
// within a fault of the twin's event log on that target (from its
// injection to 5 s after it ended).
func byTimelineFault(evs []twin.Event, target string, at time.Time) bool {
	for i, e := range evs {
		if e.Kind != "inject" || !workshop.Relates(target, e.Target) || at.Before(e.Time) {
			continue
		}
		end := time.Time{}
		for _, x := range evs[i+1:] {
			if (x.Kind == "clear" || x.Kind == "expire") && x.Fault == e.Fault {
				end = x.Time
				break
			}
		}
		if end.IsZero() || at.Before(end.Add(5*time.Second)) {
			return true
		}
	}
	return false
}

// TestSampleGap: the gap is the one before the last sample received by
// the alert's time, whatever came after.
func TestSampleGap(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := func(ms int) normalize.Sample {
		return normalize.Sample{Received: t0.Add(time.Duration(ms) * time.Millisecond)}
	}
	samples := []normalize.Sample{s(0), s(100), s(600), s(700)}
	for _, c := range []struct {
		at   int
		want time.Duration
	}{{50, 0}, {100, 100 * time.Millisecond}, {650, 500 * time.Millisecond}, {900, 100 * time.Millisecond}} {
		if got := sampleGap(samples, t0.Add(time.Duration(c.at)*time.Millisecond)); got != c.want {
			t.Errorf("gap at +%dms = %v, want %v", c.at, got, c.want)
		}
	}
}
