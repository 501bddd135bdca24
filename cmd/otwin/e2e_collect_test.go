package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/otwin/otwin/internal/testkit"
	"github.com/otwin/otwin/units"

	"github.com/otwin/otwin/connectors"
	"github.com/otwin/otwin/connectors/modbus"
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
// the matching limit bit (and has an out_of_range alert), and that is all
// that may differ from Good. No other alert, and no alarm, rises without a
// fault.
func TestE2EShippedScenarios(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"bottling", "cnc", "pasteurizer"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			sc := shippedScenario(t, name)
			tw := startE2ETwin(t, sc)
			f := exportFast(t, sc, tw.Endpoints)
			col := startE2ECollector(t, f)

			codes := map[string]string{} // tag id -> UNECE code
			ranges := map[string]*scenarios.Range{}
			for i := range sc.Machines {
				m := &sc.Machines[i]
				for j := range m.Tags {
					tag := &m.Tags[j]
					id := m.AssetPath() + "/" + tag.Name
					if tag.Unit != "" {
						u, ok := units.Lookup(tag.Unit)
						if !ok {
							t.Fatalf("%s: unknown unit %q in the scenario", id, tag.Unit)
						}
						codes[id] = u.Code
						codes[id+modbusTagSuffix] = u.Code // read over both
					}
					ranges[id] = tag.Range
					ranges[id+modbusTagSuffix] = tag.Range
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
				if s.Unit.Code != codes[id] {
					t.Errorf("%s: unit %q (%s), want %q", id, s.Unit.Code, s.Unit.Symbol, codes[id])
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
			// Store.Alerts is what the dashboard shows.
			var out []string
			for _, a := range col.Store.Alerts() {
				if a.Active() && a.Kind == normalize.AlertOutOfRange {
					out = append(out, a.Target)
				}
			}
			slices.Sort(out)
			slices.Sort(outside)
			if !slices.Equal(out, outside) {
				t.Errorf("out_of_range alerts active on %v, want those outside their range %v", out, outside)
			}
			t.Run("no_false_alerts", func(t *testing.T) {
				// Without any fault, no alert but out_of_range may rise.
				// A regression test: the clock-skew rule once took Received −
				// SourceTime of every reading, and an OPC UA source time is
				// when the value last changed, so old unchanged values raised
				// (and flapped) clock_skew (fixed in normalize d06c794).
				// Watch a while: until twice as many samples as tags came.
				pollUntil(5*time.Second, func() bool {
					n := 0
					for _, id := range ids {
						n += col.Rec.Count(id)
					}
					return n >= 2*len(ids)
				})
				var bad []string
				for _, rec := range col.Rec.Alerts() {
					a := rec.Alert
					if rec.Transition == "raised" && a.Kind != normalize.AlertOutOfRange {
						bad = append(bad, fmt.Sprintf("%s (%s)", a.ID, a.Message))
					}
				}
				if len(bad) > 0 {
					t.Errorf("alerts without any fault: %v", bad)
				}
				// Nor an OPC UA alarm (ten simulated minutes of each
				// scenario: twin/alarms TestShippedScenariosRaiseNoAlarmWithoutAFault).
				if evs, _ := tw.Alarms.Events(0); len(evs) > 0 {
					t.Errorf("alarm %s %s without any fault (value %v)", evs[0].Name, evs[0].Cause, evs[0].State.Value)
				}
			})
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
  - {name: mbref, template: Sensor, modbus: {port: 5107}}
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
	sourceOf(t, f, faultAsset+"mbslow/v").Config.(*modbus.Config).Timeout = 5 * time.Second
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
	var active []string
	if !pollUntil(10*time.Second, func() bool {
		active = active[:0]
		for _, a := range col.Store.Alerts() {
			if a.Active() {
				active = append(active, a.ID+": "+a.Message)
			}
		}
		return len(active) == 0
	}) {
		t.Fatalf("alerts active before any fault: %v", active)
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
		// A one-tick spike can fall between two samples of the server:
		// repeat it every second until the alert is seen.
		{name: "spike", fault: scenarios.Fault{Kind: scenarios.Spike, Target: "uav/spike", Magnitude: 80, Every: d(time.Second)},
			alert: "spike:" + faultAsset + "uav/spike", window: time.Second},
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
	// inject starts an ad-hoc fault and returns when, and the mark of the
	// alert transitions before it.
	inject := func(t *testing.T, f scenarios.Fault) (time.Time, int) {
		t.Helper()
		mark := col.Rec.Mark()
		start := time.Now()
		if _, err := tw.Control.Inject(context.Background(), f); err != nil {
			t.Fatalf("inject %s: %v", f.Name, err)
		}
		// A failed test must not leave its fault on for the next one.
		t.Cleanup(func() { _ = tw.Control.Clear(context.Background(), f.Name) })
		return start, mark
	}
	clearFault := func(t *testing.T, name string) {
		t.Helper()
		if err := tw.Control.Clear(context.Background(), name); err != nil {
			t.Fatalf("clear %s: %v", name, err)
		}
	}
	// raised waits for alert id to be raised after mark, within 2× window
	// of the time the machine gave the test a CPU (testkit.Stopwatch).
	raised := func(t *testing.T, start time.Time, mark int, id string, window time.Duration) int {
		t.Helper()
		sw := testkit.StartStopwatch()
		waitUntil(t, 10*window+5*time.Second, id+" raised", func() bool {
			_, _, ok := col.Rec.AlertSince(mark, id, "raised")
			return ok
		})
		sw.Stop()
		rec, i, _ := col.Rec.AlertSince(mark, id, "raised")
		stalled := sw.Stalled(rec.At)
		took := rec.At.Sub(start) - stalled
		t.Logf("%s raised after %s (and %s the machine gave the test no CPU): %s", id, took.Round(time.Millisecond), stalled.Round(time.Millisecond), rec.Alert.Message)
		if took > 2*window {
			t.Errorf("%s raised after %s, want within %s (2× its window)", id, took, 2*window)
		}
		return i
	}
	cleared := func(t *testing.T, from int, id string, timeout time.Duration) bool {
		t.Helper()
		if !pollUntil(timeout, func() bool {
			_, _, ok := col.Rec.AlertSince(from, id, "cleared")
			return ok
		}) {
			return false
		}
		a, ok := col.Store.Alert(id)
		if !ok || a.Active() || (a.State != normalize.Normal && a.State != normalize.RTNUnacked) {
			t.Errorf("%s after clearing: %+v, want RTN or Normal", id, a)
		}
		return true
	}

	// The machine faults of OPC UA endpoint uax, one after another.
	t.Run("opcua_machine", func(t *testing.T) {
		t.Parallel()
		src := "uax-opcua"
		t.Run("clock_skew", func(t *testing.T) {
			// A clock 3s ahead. When the fault ends the source times step
			// back 3s, and values are dropped until they pass the last
			// one delivered (see TestE2EClockStepBack).
			start, mark := inject(t, scenarios.Fault{Name: "e2e-skew", Kind: scenarios.ClockSkew, Target: "uax", Skew: d(3 * time.Second)})
			i := raised(t, start, mark, "clock_skew:"+src, 2*time.Second)
			clearFault(t, "e2e-skew")
			if !cleared(t, i, "clock_skew:"+src, 5*time.Second) {
				t.Errorf("clock_skew:%s not cleared within 5s of the fault's end", src)
			}
		})
		t.Run("comm_loss", func(t *testing.T) {
			// Watchdog 1s, then comm loss 1s.
			start, mark := inject(t, scenarios.Fault{Name: "e2e-uadown", Kind: scenarios.CommLoss, Target: "uax", Protocol: "opcua"})
			i := raised(t, start, mark, "comm_loss:"+src, 2*time.Second)
			id := faultAsset + "uax/v"
			waitUntil(t, 5*time.Second, id+" uncertain with its last good value", func() bool {
				s, ok := col.Store.Latest(id)
				return ok && s.Status&0xFFFF0000 == connectors.UncertainNoCommunicationLastUsableValue && s.HasLastGood
			})
			clearFault(t, "e2e-uadown")
			// Reconnect backoff grows to 5s during an outage.
			if !cleared(t, i, "comm_loss:"+src, 10*time.Second) {
				t.Errorf("comm_loss:%s not cleared within 10s of the fault's end", src)
			}
			waitUntil(t, 5*time.Second, id+" Good again", func() bool {
				s, ok := col.Store.Latest(id)
				return ok && s.Status.IsGood()
			})
		})
		t.Run("disconnect", func(t *testing.T) {
			checkDisconnect(t, col, tw, "uax", src, faultAsset+"uax/v")
		})
	})
	t.Run("disconnect_modbus", func(t *testing.T) {
		t.Parallel()
		checkDisconnect(t, col, tw, "mbdisc", "mbdisc-modbus", faultAsset+"mbdisc/v")
	})
	t.Run("modbus_exception_2", func(t *testing.T) {
		t.Parallel()
		id := "decode_error:" + faultAsset + "mbx2/v"
		start, mark := inject(t, scenarios.Fault{Name: "e2e-ex2", Kind: scenarios.ModbusException, Target: "mbx2", Exception: 2})
		i := raised(t, start, mark, id, time.Second)
		s, _ := col.Store.Latest(faultAsset + "mbx2/v")
		if s.Status&0xFFFF0000 != connectors.BadConfigurationError {
			t.Errorf("status %s under exception 02, want Bad_ConfigurationError", s.Status)
		}
		t.Run("says_why", func(t *testing.T) {
			// The reading says why: the device, the read and the exception.
			rec, _, _ := col.Rec.AlertSince(mark, id, "raised")
			if strings.HasSuffix(rec.Alert.Message, ": ") || !strings.Contains(s.Err, "exception 2 (illegal data address)") ||
				!strings.Contains(s.Err, "mbx2") || !strings.HasSuffix(rec.Alert.Message, s.Err) {
				t.Errorf("alert message %q, sample error %q: want both to name the device and exception 2 (illegal data address)", rec.Alert.Message, s.Err)
			}
		})
		clearFault(t, "e2e-ex2")
		// A device whose every point is refused is still read each poll
		// (one refused point, for liveness), so the alert returns to normal
		// within a poll or two of the exception's end.
		if !cleared(t, i, id, 3*time.Second) {
			t.Errorf("%s not cleared within 3s of the exception's end", id)
		}
	})

	t.Run("comm_loss_while_refused", func(t *testing.T) {
		// A device whose every point is refused is still polled, so its
		// going silent raises comm loss as for any device.
		t.Parallel()
		start, mark := inject(t, scenarios.Fault{Name: "e2e-ref", Kind: scenarios.ModbusException, Target: "mbref", Exception: 2})
		raised(t, start, mark, "decode_error:"+faultAsset+"mbref/v", time.Second)
		start, mark = inject(t, scenarios.Fault{Name: "e2e-ref-down", Kind: scenarios.CommLoss, Target: "mbref", Protocol: "modbus"})
		if !pollUntil(3*time.Second+time.Second, func() bool {
			_, _, ok := col.Rec.AlertSince(mark, "comm_loss:mbref-modbus", "raised")
			return ok
		}) {
			t.Errorf("no comm_loss within %s of a refused device going silent", time.Since(start).Round(time.Millisecond))
		}
	})

	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fault.Name = "e2e-" + tc.name
			ctx := context.Background()
			mark := col.Rec.Mark()
			start := time.Now()
			sw := testkit.StartStopwatch()
			if _, err := tw.Control.Inject(ctx, tc.fault); err != nil {
				t.Fatalf("inject: %v", err)
			}
			var raisedAt int
			waitUntil(t, 10*tc.window+5*time.Second, tc.alert+" raised", func() bool {
				_, i, ok := col.Rec.AlertSince(mark, tc.alert, "raised")
				raisedAt = i
				return ok
			})
			sw.Stop()
			rec, _, _ := col.Rec.AlertSince(mark, tc.alert, "raised")
			stalled := sw.Stalled(rec.At)
			took := rec.At.Sub(start) - stalled
			t.Logf("%s raised after %s (and %s the machine gave the test no CPU): %s", tc.alert, took.Round(time.Millisecond), stalled.Round(time.Millisecond), rec.Alert.Message)
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
			a, ok := col.Store.Alert(tc.alert)
			if !ok || a.Active() || (a.State != normalize.Normal && a.State != normalize.RTNUnacked) {
				t.Errorf("%s after clearing: %+v, want RTN or Normal", tc.alert, a)
			}
		})
	}
}

// checkDisconnect drops the connections of machine's endpoint and checks
// that its connector reconnects (counted in Health.Reconnects) and tag id
// reads Good again, without a comm-loss alert.
func checkDisconnect(t *testing.T, col *e2eCollector, tw *e2eTwin, machine, source, id string) {
	t.Helper()
	before, ok := healthOf(col.Store, source)
	if !ok {
		t.Fatalf("no health of %s", source)
	}
	mark := col.Rec.Mark()
	name := "e2e-disc-" + machine
	if _, err := tw.Control.Inject(context.Background(), scenarios.Fault{Name: name, Kind: scenarios.Disconnect, Target: machine}); err != nil {
		t.Fatalf("inject: %v", err)
	}
	var after connectors.Health
	waitUntil(t, 10*time.Second, source+" reconnected", func() bool {
		after, _ = healthOf(col.Store, source)
		return after.Reconnects > before.Reconnects && after.State == connectors.Connected
	})
	n := col.Rec.Count(id)
	waitUntil(t, 5*time.Second, id+" Good after the reconnect", func() bool {
		s, ok := col.Rec.Last(id)
		return col.Rec.Count(id) > n && ok && s.Status.IsGood()
	})
	t.Logf("%s: reconnects %d -> %d", source, before.Reconnects, after.Reconnects)
	if a, _, ok := col.Rec.AlertSince(mark, "comm_loss:"+source, "raised"); ok {
		t.Errorf("a disconnect with an immediate reconnect raised %s: %s", a.Alert.ID, a.Alert.Message)
	}
	if err := checkOrder(col.Rec.Samples(id)); err != nil {
		t.Error(err)
	}
	_ = tw.Control.Clear(context.Background(), name) // a one-shot fault may be over already
}

func ptr[T any](v T) *T { return &v }

// freeAddr returns a loopback address with a port free a moment ago.
func freeAddr(t testing.TB) string { t.Helper(); return testkit.FreeAddr(t) }
