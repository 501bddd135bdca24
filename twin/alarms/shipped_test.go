package alarms

import (
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/otwin/otwin/scenarios"
	"github.com/otwin/otwin/twin"
)

// withoutFaults is sc with no fault that fires by itself and no timeline
// entry that injects one: the line as it runs when nothing is wrong.
func withoutFaults(sc *scenarios.Scenario) *scenarios.Scenario {
	out := *sc
	out.Faults = slices.Clone(sc.Faults)
	for i := range out.Faults {
		out.Faults[i].Start = nil
	}
	out.Timeline = nil
	for _, ev := range sc.Timeline {
		if ev.Fault == "" && ev.Clear == "" {
			out.Timeline = append(out.Timeline, ev)
		}
	}
	return &out
}

// TestShippedScenariosRaiseNoAlarmWithoutAFault runs every shipped
// scenario for ten simulated minutes with its faults left out (its other
// timeline entries kept): no alarm may go active. Then each fault that a
// shipped alarm is meant for raises it.
func TestShippedScenariosRaiseNoAlarmWithoutAFault(t *testing.T) {
	raisedBy := map[string]map[string]string{ // scenario → fault → alarm
		"bottling": {
			"co2-overpressure":        "filler1-co2-pressure",
			"product-temp-sensor-bad": "filler1-product-temp-sensor",
			"fill-drift":              "filler1-fill-volume",
		},
		"pasteurizer": {
			"heater-drift":          "htst-heating-temp",
			"tank-level-high":       "balance-tank-level",
			"holding-rtd-uncertain": "htst-holding-rtd",
		},
		"cnc": {
			"mill1-wear-drift": "mill1-vibration",
			"cmm-bad-probe":    "cmm1-bore-probe",
		},
	}
	for _, name := range scenarios.Examples() {
		t.Run(name, func(t *testing.T) {
			sc, err := scenarios.Example(name)
			if err != nil {
				t.Fatal(err)
			}
			if len(sc.Alarms) == 0 {
				t.Fatal("the scenario has no alarms")
			}
			quiet := slog.New(slog.DiscardHandler)
			e, err := twin.New(withoutFaults(sc), twin.Options{Logger: quiet})
			if err != nil {
				t.Fatal(err)
			}
			set, err := New(e, sc, Options{Logger: quiet})
			if err != nil {
				t.Fatal(err)
			}
			e.Step(int(10 * time.Minute / sc.Tick.D()))
			if evs, _ := set.Events(0); len(evs) > 0 {
				for _, ev := range evs {
					t.Errorf("%s at %s without a fault: %s (value %v)", ev.Name, ev.Elapsed, ev.Cause, ev.State.Value)
				}
			}
			for fault, alarm := range raisedBy[name] {
				if err := e.InjectNamed(fault); err != nil {
					t.Fatal(err)
				}
				i, ok := set.Lookup(alarm)
				if !ok {
					t.Fatalf("no alarm %s", alarm)
				}
				// Within ten simulated minutes of the fault.
				for k := 0; k < int(10*time.Minute/sc.Tick.D()) && !set.State(i).Active; k++ {
					e.Step(1)
				}
				st := set.State(i)
				if !st.Active {
					t.Errorf("fault %s did not raise alarm %s", fault, alarm)
				}
				t.Logf("%s raised %s: %s, value %v", fault, alarm, st.Message, st.Value)
				if err := e.Clear(fault); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}
