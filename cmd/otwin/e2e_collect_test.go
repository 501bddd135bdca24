package main

import (
	"context"
	"testing"
	"time"

	"github.com/otwin/otwin/connectors"
	"github.com/otwin/otwin/normalize"
	"github.com/otwin/otwin/normalize/sources"
	"github.com/otwin/otwin/scenarios"
)

// End-to-end acceptance of the production connectors and the normalizer
// against the twin: the twin serves over real OPC UA and Modbus TCP on
// 127.0.0.1, the collector reads it through the sources file the twin
// exports, exactly as `otwin sim --export-sources` and `otwin watch` do.

// TestE2EShippedScenarios: every configured tag of each shipped scenario
// arrives Good with the unit of the scenario; a tag whose model is outside
// its range at the time arrives Uncertain_EngineeringUnitsExceeded with
// the matching limit bit, and that is all that may differ from Good.
func TestE2EShippedScenarios(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"bottling", "cnc", "pasteurizer"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			sc := shippedScenario(t, name)
			tw := startE2ETwin(t, sc)
			f := exportFast(t, sc, tw.Endpoints)
			col := startE2ECollector(t, f)

			units := map[string]string{} // tag id -> UNECE code
			ranges := map[string]*scenarios.Range{}
			for i := range sc.Machines {
				m := &sc.Machines[i]
				for j := range m.Tags {
					tag := &m.Tags[j]
					id := m.AssetPath() + "/" + tag.Name
					if tag.Unit != "" {
						u, ok := scenarios.LookupUnit(tag.Unit)
						if !ok {
							t.Fatalf("%s: unknown unit %q in the scenario", id, tag.Unit)
						}
						units[id] = u.Code
					}
					ranges[id] = tag.Range
				}
			}
			ids := pointIDs(f)
			if len(ids) == 0 {
				t.Fatal("exported sources have no points")
			}
			settled := func(s normalize.Sample) bool {
				return s.Status.IsGood() || s.Status&0xFFFF0000 == connectors.UncertainEngineeringUnitsExceeded
			}
			waitUntil(t, 20*time.Second, "every tag to arrive", func() bool {
				for _, id := range ids {
					s, ok := col.Store.Latest(id)
					if !ok || !settled(s) {
						return false
					}
				}
				return true
			})
			var outside []string
			for _, id := range ids {
				s, _ := col.Store.Latest(id)
				if s.Unit.Code != units[id] {
					t.Errorf("%s: unit %q (%s), want %q", id, s.Unit.Code, s.Unit.Symbol, units[id])
				}
				if s.Status.IsGood() {
					continue
				}
				// Uncertain_EngineeringUnitsExceeded: the value must really
				// be outside the scenario's range, on the side the limit
				// bit names.
				r := ranges[id]
				switch {
				case r == nil:
					t.Errorf("%s: %s without a range", id, s.Status.Name())
				case s.Value < r.Low && s.Status&connectors.LimitLow != 0,
					s.Value > r.High && s.Status&connectors.LimitHigh != 0:
					outside = append(outside, id)
				default:
					t.Errorf("%s: %s (0x%08X) with value %g in range [%g, %g]", id, s.Status.Name(), uint32(s.Status), s.Value, r.Low, r.High)
				}
			}
			t.Logf("%d tags: all Good except these, outside their range by their model now: %v", len(ids), outside)
			for _, a := range col.Store.Alerts() {
				if a.Active() && a.Kind != normalize.AlertOutOfRange {
					t.Errorf("unexpected alert %s: %s", a.ID, a.Message)
				}
			}
		})
	}
}

// faultScenario is the twin of the fault tests: "uav" (OPC UA) has one tag
// per tag-level fault, "uax" (OPC UA) takes the machine-level OPC UA faults
// one after another, and each Modbus machine has a server of its own for
// one machine-level fault. Every tag moves every tick (sine plus noise)
// within its range 0..100.
const faultScenario = `
name: e2efaults
seed: 7
tick: 100ms
location: {enterprise: acme, site: test, area: faults, line: line1}
opcua: {security: [none]}
templates:
  Sensor:
    tags:
      - name: v
        unit: degC
        range: {low: 0, high: 100}
        model:
          sine: {offset: 50, amplitude: 10, period: 20s}
          noise: {stddev: 0.5}
        modbus: {table: input, address: 0, type: float32}
      - name: w
        unit: bar
        range: {low: 0, high: 100}
        model:
          sine: {offset: 40, amplitude: 5, period: 30s}
          noise: {stddev: 0.5}
        modbus: {table: holding, address: 10, type: int16, scale: 0.01}
machines:
  - name: uav
    opcua: {port: 4901}
    tags:
      - {name: stuck, unit: degC, range: {low: 0, high: 100}, model: {sine: {offset: 50, amplitude: 10, period: 20s}, noise: {stddev: 0.5}}}
      - {name: oor, unit: degC, range: {low: 0, high: 100}, model: {sine: {offset: 50, amplitude: 10, period: 20s}, noise: {stddev: 0.5}}}
      - {name: spike, unit: degC, range: {low: 0, high: 100}, model: {sine: {offset: 50, amplitude: 10, period: 20s}, noise: {stddev: 0.5}}}
      - {name: bad, unit: degC, range: {low: 0, high: 100}, model: {sine: {offset: 50, amplitude: 10, period: 20s}, noise: {stddev: 0.5}}}
      - {name: unc, unit: degC, range: {low: 0, high: 100}, model: {sine: {offset: 50, amplitude: 10, period: 20s}, noise: {stddev: 0.5}}}
      - {name: drift, unit: degC, range: {low: 0, high: 100}, model: {sine: {offset: 50, amplitude: 2, period: 20s}, noise: {stddev: 0.2}}}
      - {name: noise, unit: degC, range: {low: 0, high: 100}, model: {sine: {offset: 50, amplitude: 10, period: 20s}, noise: {stddev: 0.5}}}
      - name: sp
        unit: degC
        range: {low: 0, high: 100}
        writable: true
        model: {constant: {value: 10}}
  - {name: uax, template: Sensor, opcua: {port: 4902}}
  - {name: mbx2, template: Sensor, modbus: {port: 5101}}
  - {name: mbx4, template: Sensor, modbus: {port: 5102}}
  - {name: mbdown, template: Sensor, modbus: {port: 5103}}
  - {name: mbslow, template: Sensor, modbus: {port: 5104}}
  - {name: mbdisc, template: Sensor, modbus: {port: 5105}}
`

const faultAsset = "acme/test/faults/line1/"

// TestE2EFaults: each fault kind injected through the control API raises
// its alert within twice its detection window, and clearing the fault
// returns the alert to normal. Faults are ad-hoc injections on tags and
// machines of faultScenario, so they do not depend on a shipped
// scenario's named faults. Detection windows are the short rules set
// below (frozen 1.5s, stale 1s, comm loss 1s, clock skew 2s) plus the
// transport's own timeouts (OPC UA watchdog 1s, Modbus request 500ms);
// value and quality faults are seen at the next publish or poll (window
// 1s).
func TestE2EFaults(t *testing.T) {
	t.Parallel()
	sc := parseScenario(t, "e2efaults", faultScenario)
	tw := startE2ETwin(t, sc)
	f := exportFast(t, sc, tw.Endpoints)
	setRules(t, f, faultAsset+"uav/stuck", sources.Rules{Frozen: 1500 * time.Millisecond})
	setRules(t, f, faultAsset+"mbslow/v", sources.Rules{Stale: time.Second})
	sourceOf(t, f, faultAsset+"mbslow/v").Modbus.Timeout = 5 * time.Second
	for _, tag := range []string{"v", "w"} {
		setRules(t, f, faultAsset+"uax/"+tag, sources.Rules{ClockSkew: 2 * time.Second})
	}
	col := startE2ECollector(t, f)
	ids := pointIDs(f)
	waitUntil(t, 20*time.Second, "every tag Good", func() bool {
		for _, id := range ids {
			if s, ok := col.Store.Latest(id); !ok || !s.Status.IsGood() {
				return false
			}
		}
		return true
	})
	// The scenario must start clean for the alerts below to mean anything.
	for _, a := range col.Store.Alerts() {
		if a.Active() {
			t.Fatalf("alert %s active before any fault: %s", a.ID, a.Message)
		}
	}

	val := func(v float64) *float64 { return &v }
	d := func(x time.Duration) scenarios.Duration { return scenarios.Duration(x) }
	tests := []struct {
		name   string
		fault  scenarios.Fault
		alert  string        // id of the alert it must raise
		window time.Duration // detection window: the alert within 2× this
		// selfClearing: the condition ends by itself (a one-tick spike).
		selfClearing bool
	}{
		{name: "stuck", fault: scenarios.Fault{Kind: scenarios.Stuck, Target: "uav/stuck"},
			alert: "frozen:" + faultAsset + "uav/stuck", window: 1500 * time.Millisecond},
		{name: "out_of_range", fault: scenarios.Fault{Kind: scenarios.OutOfRange, Target: "uav/oor", Value: val(150)},
			alert: "out_of_range:" + faultAsset + "uav/oor", window: time.Second},
		{name: "spike", fault: scenarios.Fault{Kind: scenarios.Spike, Target: "uav/spike", Magnitude: 80},
			alert: "spike:" + faultAsset + "uav/spike", window: time.Second, selfClearing: true},
		{name: "bad_quality", fault: scenarios.Fault{Kind: scenarios.BadQuality, Target: "uav/bad"},
			alert: "bad_quality:" + faultAsset + "uav/bad", window: time.Second},
		{name: "uncertain_quality", fault: scenarios.Fault{Kind: scenarios.UncertainQuality, Target: "uav/unc"},
			alert: "uncertain_quality:" + faultAsset + "uav/unc", window: time.Second},
		// From about 50 at 40/s the value leaves 0..100 after ~1.25s.
		{name: "drift", fault: scenarios.Fault{Kind: scenarios.Drift, Target: "uav/drift", Rate: 40},
			alert: "out_of_range:" + faultAsset + "uav/drift", window: 1500 * time.Millisecond},
		{name: "noise", fault: scenarios.Fault{Kind: scenarios.NoiseBurst, Target: "uav/noise", Magnitude: 200},
			alert: "spike:" + faultAsset + "uav/noise", window: time.Second},
		{name: "comm_loss_modbus", fault: scenarios.Fault{Kind: scenarios.CommLoss, Target: "mbdown", Protocol: "modbus"},
			alert: "comm_loss:mbdown-modbus", window: 1500 * time.Millisecond},
		{name: "modbus_exception_4", fault: scenarios.Fault{Kind: scenarios.ModbusException, Target: "mbx4", Exception: 4},
			alert: "bad_quality:" + faultAsset + "mbx4/v", window: time.Second},
		{name: "latency_stale", fault: scenarios.Fault{Kind: scenarios.Latency, Target: "mbslow", Latency: d(3 * time.Second)},
			alert: "stale:" + faultAsset + "mbslow/v", window: time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fault.Name = "e2e-" + tc.name
			ctx := context.Background()
			mark := col.Rec.Mark()
			start := time.Now()
			if _, err := tw.Control.Inject(ctx, tc.fault); err != nil {
				t.Fatalf("inject: %v", err)
			}
			var raisedAt int
			waitUntil(t, 2*tc.window+time.Second, tc.alert+" raised", func() bool {
				_, i, ok := col.Rec.AlertSince(mark, tc.alert, "raised")
				raisedAt = i
				return ok
			})
			rec, _, _ := col.Rec.AlertSince(mark, tc.alert, "raised")
			took := rec.At.Sub(start)
			t.Logf("%s raised after %s: %s", tc.alert, took.Round(time.Millisecond), rec.Alert.Message)
			if took > 2*tc.window {
				t.Errorf("%s raised after %s, want within %s (2× its window)", tc.alert, took, 2*tc.window)
			}
			if !tc.selfClearing {
				if err := tw.Control.Clear(ctx, tc.fault.Name); err != nil {
					t.Fatalf("clear: %v", err)
				}
			}
			waitUntil(t, 5*time.Second, tc.alert+" cleared", func() bool {
				_, _, ok := col.Rec.AlertSince(raisedAt, tc.alert, "cleared")
				return ok
			})
			a, ok := col.Normalizer.Alerts().Get(tc.alert)
			if !ok || a.Active() || (a.State != normalize.Normal && a.State != normalize.RTNUnacked) {
				t.Errorf("%s after clearing: %+v, want RTN or Normal", tc.alert, a)
			}
		})
	}
}
