package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/otwin/otwin/units"

	"github.com/goccy/go-yaml"

	"github.com/otwin/otwin/connectors"
	"github.com/otwin/otwin/connectors/modbus"
	"github.com/otwin/otwin/normalize"
	"github.com/otwin/otwin/normalize/metrics/metricstest"
	"github.com/otwin/otwin/normalize/score"
	"github.com/otwin/otwin/normalize/sources"
	"github.com/otwin/otwin/scenarios"
	"github.com/otwin/otwin/twin"
	"github.com/otwin/otwin/twin/modbusserver"
	"github.com/otwin/otwin/twin/opcuaserver"
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
	// raised waits for alert id to be raised after mark, within 2× window.
	raised := func(t *testing.T, start time.Time, mark int, id string, window time.Duration) int {
		t.Helper()
		waitUntil(t, 2*window+time.Second, id+" raised", func() bool {
			_, _, ok := col.Rec.AlertSince(mark, id, "raised")
			return ok
		})
		rec, i, _ := col.Rec.AlertSince(mark, id, "raised")
		took := rec.At.Sub(start)
		t.Logf("%s raised after %s: %s", id, took.Round(time.Millisecond), rec.Alert.Message)
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

// TestE2EClockStepBack: a device clock that steps back (a clock_skew
// fault ahead that ends, an NTP correction, or a skew behind that starts)
// must neither stop the data nor hide the skew.
//
// Known bug (connectors/opcua): values are ordered by SourceTime. The
// connector (doc.go: "No value older than one already delivered is ever
// delivered for the same address (compared by SourceTime ...)") drops every
// value whose source time is older than the last one delivered, and so
// would normalize.Normalizer.Apply (Stats.OutOfOrder). A device clock
// stepping back by 30s therefore blanks the tag for 30s without any alert
// or reading: a clock_skew fault of -30s is never reported as skew (the
// normalizer receives nothing), and the end of a +30s skew freezes the
// data for 30s. Order should follow the server's timestamp or the
// subscription's sequence, and a source time going back should be
// delivered and raise clock_skew.
func TestE2EClockStepBack(t *testing.T) {
	t.Parallel()
	sc := parseScenario(t, "e2eskew", `
name: e2eskew
tick: 100ms
opcua: {security: [none]}
machines:
  - name: dev
    opcua: {port: 4903}
    tags:
      - name: v
        range: {low: 0, high: 100}
        model:
          sine: {offset: 50, amplitude: 10, period: 20s}
          noise: {stddev: 0.5}
      - name: c
        model: {constant: {value: 5}}
`)
	tw := startE2ETwin(t, sc)
	f := exportFast(t, sc, tw.Endpoints)
	setRules(t, f, "dev/v", sources.Rules{ClockSkew: 2 * time.Second})
	col := startE2ECollector(t, f)
	waitUntil(t, 20*time.Second, "dev/v and dev/c Good", func() bool {
		v, ok1 := col.Store.Latest("dev/v")
		c, ok2 := col.Store.Latest("dev/c")
		return ok1 && ok2 && v.Status.IsGood() && c.Status.IsGood()
	})

	t.Run("resubscribe_old_constant", func(t *testing.T) {
		// After a reconnect the server sends a constant again with the
		// source time of its last change, older than the skew limit: that
		// is no clock skew (a regression test, see
		// TestE2EShippedScenarios/no_false_alerts).
		c, _ := col.Store.Latest("dev/c")
		// Older than its skew limit (the default, 5s).
		waitUntil(t, 15*time.Second, "dev/c's source time older than 6s", func() bool {
			return time.Since(c.SourceTime) > 6*time.Second
		})
		before, _ := healthOf(col.Store, "dev-opcua")
		mark := col.Rec.Mark()
		if _, err := tw.Control.Inject(context.Background(), scenarios.Fault{Name: "drop", Kind: scenarios.Disconnect, Target: "dev"}); err != nil {
			t.Fatal(err)
		}
		waitUntil(t, 10*time.Second, "dev-opcua reconnected", func() bool {
			h, _ := healthOf(col.Store, "dev-opcua")
			return h.Reconnects > before.Reconnects && h.State == connectors.Connected
		})
		n := col.Rec.Count("dev/c")
		waitUntil(t, 5*time.Second, "dev/c again after the reconnect", func() bool { return col.Rec.Count("dev/c") > n })
		if a, _, ok := col.Rec.AlertSince(mark, "clock_skew:dev-opcua", "raised"); ok {
			t.Errorf("a constant re-sent after a reconnect raised %s: %s", a.Alert.ID, a.Alert.Message)
		}
	})
	// A clock 30s behind: the data must go on (dev/v changes every tick)
	// and the skew must show.
	pre, _ := col.Store.Alert("clock_skew:dev-opcua")
	mark := col.Rec.Mark()
	fault := scenarios.Fault{Name: "behind", Kind: scenarios.ClockSkew, Target: "dev", Skew: scenarios.Duration(-30 * time.Second)}
	if _, err := tw.Control.Inject(context.Background(), fault); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tw.Control.Clear(context.Background(), "behind") })
	n := col.Rec.Count("dev/v")
	flowing := pollUntil(2*time.Second, func() bool { return col.Rec.Count("dev/v") >= n+3 })
	shown := pre.Active() || pollUntil(2*time.Second, func() bool {
		_, _, raised := col.Rec.AlertSince(mark, "clock_skew:dev-opcua", "raised")
		return raised
	})
	if !flowing || !shown {
		t.Fatalf("with the device clock 30s behind, %d samples of dev/v in 2s (normalizer out-of-order drops: %d), clock_skew shown: %v",
			col.Rec.Count("dev/v")-n, col.Normalizer.Stats().OutOfOrder, shown)
	}
}

// TestE2EEndpointRestart: stopping a twin endpoint raises comm loss within
// its window and marks its tags Uncertain_NoCommunicationLastUsableValue
// with the last good value kept; a new server on the same port recovers
// the same collector (not restarted), with no duplicate and no
// out-of-order sample per tag, in the pipeline's events and in a store
// subscription.
func TestE2EEndpointRestart(t *testing.T) {
	t.Parallel()
	sc := parseScenario(t, "e2erestart", twoProtocolScenario)
	eng, err := twin.New(sc, twin.Options{Logger: e2eLogger()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	engDone := make(chan error, 1)
	go func() { engDone <- eng.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-engDone })
	dataDir := t.TempDir()
	ns := sc.Machines[0].OPCUA.Namespace
	startUA := func(port int) *opcuaserver.Server {
		srv, err := opcuaserver.New(opcuaserver.FromEngine(eng), opcuaserver.Config{
			Host: "127.0.0.1", Port: port, Namespace: ns, Machines: []string{"ua"}, DataDir: dataDir,
			Security: []string{opcuaserver.SecurityNone}, Anonymous: true, Logger: e2eLogger(),
		})
		if err != nil {
			t.Fatalf("opc ua server on port %d: %v", port, err)
		}
		if err := srv.Start(ctx); err != nil {
			t.Fatalf("opc ua server on port %d: %v", port, err)
		}
		return srv
	}
	startMB := func(port int) *modbusserver.Server {
		srv, err := modbusserver.New(eng, modbusserver.Config{Host: "127.0.0.1", Port: port, Machines: []string{"mb"}, Logger: e2eLogger()})
		if err != nil {
			t.Fatalf("modbus server on port %d: %v", port, err)
		}
		if err := srv.Start(ctx); err != nil {
			t.Fatalf("modbus server on port %d: %v", port, err)
		}
		return srv
	}
	ua, mb := startUA(0), startMB(0)
	var mu sync.Mutex // guards ua and mb, replaced below
	t.Cleanup(func() {
		mu.Lock()
		u, m := ua, mb
		mu.Unlock()
		u.Close()
		m.Close()
	})
	uaURL, mbAddr := ua.URL(), mb.Addr()
	f := exportFast(t, sc, []endpoint{
		{Machine: "ua", Protocol: "opcua", URL: uaURL, Namespace: ns},
		{Machine: "mb", Protocol: "modbus", Address: mbAddr, UnitID: 1},
	})
	col := startE2ECollector(t, f)
	sub := subscribeStore(t, col.Store)
	ids := pointIDs(f)
	waitUntil(t, 20*time.Second, "every tag Good", func() bool {
		for _, id := range ids {
			if s, ok := col.Store.Latest(id); !ok || !s.Status.IsGood() {
				return false
			}
		}
		return true
	})

	tests := []struct {
		name, source, machine string
		window                time.Duration // request timeout + comm loss
		stop                  func() error
		restart               func()
	}{
		{name: "opcua", source: "ua-opcua", machine: "ua", window: 2 * time.Second,
			stop: func() error { mu.Lock(); srv := ua; mu.Unlock(); return srv.Close() },
			restart: func() {
				_, p, _ := net.SplitHostPort(strings.TrimPrefix(uaURL, "opc.tcp://"))
				port, _ := strconv.Atoi(p)
				srv := startUA(port)
				mu.Lock()
				ua = srv
				mu.Unlock()
			}},
		{name: "modbus", source: "mb-modbus", machine: "mb", window: 1500 * time.Millisecond,
			stop: func() error { mu.Lock(); srv := mb; mu.Unlock(); return srv.Close() },
			restart: func() {
				_, p, _ := net.SplitHostPort(mbAddr)
				port, _ := strconv.Atoi(p)
				srv := startMB(port)
				mu.Lock()
				mb = srv
				mu.Unlock()
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			id := tc.machine + "/v"
			alert := "comm_loss:" + tc.source
			before, _ := col.Store.Latest(id)
			mark := col.Rec.Mark()
			start := time.Now()
			stopped := make(chan error, 1)
			go func() { stopped <- tc.stop() }() // an OPC UA server takes seconds to close
			waitUntil(t, 2*tc.window+2*time.Second, alert+" raised", func() bool {
				_, _, ok := col.Rec.AlertSince(mark, alert, "raised")
				return ok
			})
			rec, i, _ := col.Rec.AlertSince(mark, alert, "raised")
			t.Logf("%s raised %s after the stop: %s", alert, rec.At.Sub(start).Round(time.Millisecond), rec.Alert.Message)
			// The message says why, naming the endpoint: e.g. "dial
			// 127.0.0.1:5020 on mb-modbus: … connection refused".
			if !strings.Contains(rec.Alert.Message, tc.source) {
				t.Errorf("%s message %q lacks its cause", alert, rec.Alert.Message)
			}
			if took := rec.At.Sub(start); took > 2*tc.window {
				t.Errorf("%s raised after %s, want within %s", alert, took, 2*tc.window)
			}
			for _, tag := range []string{"v", "n"} {
				tid := tc.machine + "/" + tag
				waitUntil(t, 3*time.Second, tid+" Uncertain with its last good value", func() bool {
					s, ok := col.Store.Latest(tid)
					return ok && s.Status&0xFFFF0000 == connectors.UncertainNoCommunicationLastUsableValue && s.HasLastGood
				})
				s, _ := col.Store.Latest(tid)
				if s.Value != s.LastGood {
					t.Errorf("%s while down: value %g, want the last good %g", tid, s.Value, s.LastGood)
				}
			}
			if err := <-stopped; err != nil {
				t.Errorf("close the %s server: %v", tc.name, err)
			}
			tc.restart()
			waitUntil(t, 15*time.Second, alert+" cleared", func() bool {
				_, _, ok := col.Rec.AlertSince(i, alert, "cleared")
				return ok
			})
			waitUntil(t, 5*time.Second, id+" Good again", func() bool {
				s, ok := col.Store.Latest(id)
				return ok && s.Status.IsGood() && s.Seq > before.Seq
			})
			waitUntil(t, 2*time.Second, tc.source+" reconnect counted in Health", func() bool {
				h, _ := healthOf(col.Store, tc.source)
				return h.Reconnects > 0 && h.State == connectors.Connected
			})
		})
	}
	t.Cleanup(func() {
		// After both subtests: every tag's samples in order, without
		// duplicates, from the pipeline and from the store subscription.
		for _, id := range ids {
			if err := checkOrder(col.Rec.Samples(id)); err != nil {
				t.Errorf("pipeline events: %v", err)
			}
			if err := checkOrder(sub.Samples(id)); err != nil {
				t.Errorf("store subscription: %v", err)
			}
			if n := len(col.Rec.Samples(id)); n < 4 {
				t.Errorf("%s: only %d samples", id, n)
			}
		}
	})
}

// twoProtocolScenario has one OPC UA machine (ua) and one Modbus machine
// (mb), each with a moving value v (0..100 °C) and a counter n.
const twoProtocolScenario = `
name: e2erestart
tick: 100ms
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
      - name: n
        type: uint32
        model: {counter: {rate: 10}}
        modbus: {table: holding, address: 4, type: uint32}
machines:
  - {name: ua, template: Sensor, opcua: {port: 4904}}
  - {name: mb, template: Sensor, modbus: {port: 5106}}
`

// TestE2EWatchHeadless runs `otwin watch --headless` through run (the
// whole program) against an in-process twin's exported sources file: every
// line on stdout is JSON, every tag has samples, and an injected fault
// gives an alert line. Not parallel: it takes over os.Stdout while it runs.
func TestE2EWatchHeadless(t *testing.T) {
	sc := parseScenario(t, "e2erestart", twoProtocolScenario)
	tw := startE2ETwin(t, sc)
	f := exportFast(t, sc, tw.Endpoints)
	data, err := yaml.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "sources.yaml")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}

	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout := os.Stdout
	os.Stdout = w
	restored := false
	restore := func() {
		if !restored {
			os.Stdout = stdout
			restored = true
		}
	}
	defer restore()
	var (
		mu    sync.Mutex
		lines []string
	)
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			mu.Lock()
			lines = append(lines, sc.Text())
			mu.Unlock()
		}
	}()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	code := make(chan int, 1)
	metricsAddr := freeAddr(t)
	go func() {
		code <- run(ctx, []string{"watch", path, "--headless", "--data-dir", filepath.Join(dir, "data"), "--log-level", "error",
			"--scorecard-every", "1s", "--metrics", metricsAddr})
	}()
	type line struct {
		Type, ID, Kind, Target, Transition, Quality string
		Machines                                    []score.Card
	}
	var cards int // scorecard lines with every machine
	parsed := func() (map[string]int, []line, error) {
		mu.Lock()
		defer mu.Unlock()
		samples := map[string]int{}
		cards = 0
		var alerts []line
		for i, l := range lines {
			var x line
			if err := json.Unmarshal([]byte(l), &x); err != nil {
				return nil, nil, fmt.Errorf("line %d %q: %v", i+1, l, err)
			}
			switch x.Type {
			case "sample":
				samples[x.ID]++
			case "alert":
				alerts = append(alerts, x)
			case "scorecard":
				if len(x.Machines) == 2 {
					cards++
				}
			default:
				return nil, nil, fmt.Errorf("line %d: type %q", i+1, x.Type)
			}
		}
		return samples, alerts, nil
	}
	var perr error
	ok := pollUntil(20*time.Second, func() bool {
		samples, _, err := parsed()
		if err != nil {
			perr = err
			return true
		}
		for _, id := range pointIDs(f) {
			if samples[id] < 2 {
				return false
			}
		}
		return true
	})
	var injErr error
	if ok && perr == nil {
		_, injErr = tw.Control.Inject(ctx, scenarios.Fault{Name: "hot", Kind: scenarios.OutOfRange, Target: "mb/v", Value: ptr(250.0)})
	}
	gotAlert := ok && perr == nil && injErr == nil && pollUntil(5*time.Second, func() bool {
		_, alerts, err := parsed()
		if err != nil {
			perr = err
			return true
		}
		for _, a := range alerts {
			if a.Kind == "out_of_range" && a.Target == "mb/v" && a.Transition == "raised" {
				return true
			}
		}
		return false
	})
	// The scorecards come every second, and /metrics serves them.
	gotCards := gotAlert && pollUntil(5*time.Second, func() bool { parsed(); return cards > 0 })
	if gotCards {
		fams := metricstest.Scrape(t, "http://"+metricsAddr+"/metrics")
		if v, ok := metricstest.Value(fams, "otwin_scorecard_completeness_ratio", "level=machine"); !ok || v <= 0 {
			t.Errorf("no completeness gauge of a machine: %v %v", v, ok)
		}
		if v, ok := metricstest.Value(fams, "otwin_alerts_active", "kind=out_of_range"); !ok || v < 1 {
			t.Errorf("otwin_alerts_active{kind=out_of_range} = %v (found %v)", v, ok)
		}
	}
	cancel()
	var exit int
	select {
	case exit = <-code:
	case <-time.After(10 * time.Second):
		restore()
		t.Fatal("otwin watch did not return within 10s of its context ending")
	}
	w.Close()
	<-readDone
	restore()
	samples, _, err := parsed()
	switch {
	case perr != nil:
		t.Fatalf("stdout: %v", perr)
	case err != nil:
		t.Fatalf("stdout: %v", err)
	case !ok:
		t.Fatalf("not every tag had samples within 20s: %v", samples)
	case injErr != nil:
		t.Fatalf("inject: %v", injErr)
	case !gotAlert:
		t.Fatalf("no out_of_range alert line within 5s of the fault")
	case !gotCards:
		t.Fatalf("no scorecard line of both machines within 5s")
	}
	if exit != 0 {
		t.Errorf("otwin watch exit code %d, want 0", exit)
	}
	t.Logf("%d lines; samples per tag: %v", len(lines), samples)
}

func ptr[T any](v T) *T { return &v }

// freeAddr returns a loopback address with a port free a moment ago.
func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
