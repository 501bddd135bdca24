package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/otwin/otwin/cmd/otwin/internal/workshop"
	"github.com/otwin/otwin/twin"
)

// scenarioQuietSpeed is the scenario clock's speed of
// TestE2EShippedScenariosRaiseNoAlert: 10 simulated minutes in 75 s. With
// the fast sources (Modbus polled every 100 ms, OPC UA sampled every
// 50 ms) the collector sees the line every 0.4–0.8 s of scenario time,
// about as often as the shipped sources see it at 1×: rate rules (spike)
// judge what people would see.
const scenarioQuietSpeed = 8

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
				if a.Transition == "raised" && !byTimelineFault(evs, a.Alert.Target, a.At) {
					raised = append(raised, fmt.Sprintf("%s %s (%s)", a.At.Format("15:04:05.000"), a.Alert.ID, a.Alert.Message))
				}
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
