package twin

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/otwin/otwin/scenarios"
)

// rampScenario has m1/x = tick number (a ramp 0..1000 over 100 s) and a
// string tag m1/s, with the given faults.
func rampScenario(faults ...scenarios.Fault) *scenarios.Scenario {
	sc := scenario(
		scenarios.Tag{Name: "x", Model: &scenarios.Model{Ramp: &scenarios.Ramp{Min: 0, Max: 1000, Period: dur(100 * time.Second)}}},
		scenarios.Tag{Name: "s", Type: scenarios.String, Model: &scenarios.Model{Constant: &scenarios.Constant{Value: "on"}}},
	)
	sc.Machines[0].OPCUA = &scenarios.MachineOPCUA{}
	sc.Machines[0].Modbus = &scenarios.MachineModbus{UnitID: 1}
	sc.Faults = faults
	return sc
}

func TestValueFaults(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name  string
		fault scenarios.Fault
		want  []float64 // m1/x at ticks 0..
	}{
		{"stuck", scenarios.Fault{Kind: scenarios.Stuck, Start: durp(300 * ms), Duration: dur(400 * ms)},
			[]float64{0, 1, 2, 3, 3, 3, 3, 7, 8}},
		{"drift", scenarios.Fault{Kind: scenarios.Drift, Rate: 10, Start: durp(200 * ms), Duration: dur(300 * ms)},
			[]float64{0, 1, 2, 4, 6, 5, 6}},
		{"spike every", scenarios.Fault{Kind: scenarios.Spike, Magnitude: 100, Every: dur(300 * ms), Start: durp(200 * ms)},
			[]float64{0, 1, 102, 3, 4, 105, 6, 7, 108, 9}},
		{"single spike", scenarios.Fault{Kind: scenarios.Spike, Magnitude: -5, Start: durp(100 * ms)},
			[]float64{0, -4, 2, 3}},
		{"out of range", scenarios.Fault{Kind: scenarios.OutOfRange, Value: f64(-999), Start: durp(100 * ms), Duration: dur(100 * ms)},
			[]float64{0, -999, 2, 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.fault.Name, tt.fault.Target = "f", "m1/x"
			e := newEngine(t, rampScenario(tt.fault))
			got := series(t, e, "m1/x", len(tt.want)-1)
			for k, w := range tt.want {
				if math.Abs(num(got[k])-w) > 1e-9 {
					t.Fatalf("tick %d: got %v, want %v; series %v", k, got[k], w, got)
				}
			}
		})
	}
}

func TestNoiseFault(t *testing.T) {
	f := scenarios.Fault{Name: "n", Kind: scenarios.NoiseBurst, Target: "m1/x", Magnitude: 3, Start: durp(0)}
	a := series(t, newEngine(t, rampScenario(f)), "m1/x", 900)
	b := series(t, newEngine(t, rampScenario(f)), "m1/x", 900)
	if !slices.Equal(a, b) {
		t.Fatal("noise fault differs between two runs of one seed")
	}
	var resid []any
	for k, v := range a {
		resid = append(resid, num(v)-float64(k))
	}
	mean, sd := stats(resid)
	if math.Abs(mean) > 0.3 || math.Abs(sd-3) > 0.3 {
		t.Fatalf("noise mean %v sd %v, want 0 and 3", mean, sd)
	}
}

func TestQualityFaults(t *testing.T) {
	tests := []struct {
		kind   scenarios.FaultKind
		status string
		want   uint32
	}{
		{scenarios.BadQuality, "", StatusBadSensorFailure},
		{scenarios.BadQuality, "Bad_DeviceFailure", StatusBadDeviceFailure},
		{scenarios.BadQuality, "0x808D0000", StatusBadOutOfService},
		{scenarios.BadQuality, "Bad_SomethingElse", 0x80000000},
		{scenarios.BadQuality, "Bad_Timeout", 0x800A0000},
		{scenarios.UncertainQuality, "", StatusUncertainSensorNotAccurate},
		{scenarios.UncertainQuality, "uncertain_lastusablevalue", StatusUncertainLastUsableValue},
	}
	for _, tt := range tests {
		t.Run(string(tt.kind)+" "+tt.status, func(t *testing.T) {
			e := newEngine(t, rampScenario(scenarios.Fault{Name: "q", Kind: tt.kind, Target: "m1/x", Status: tt.status, Duration: dur(200 * time.Millisecond)}))
			i, _ := e.Lookup("m1/x")
			if st := e.Value(i).Status; st != StatusGood {
				t.Fatalf("before: status %#x", st)
			}
			if err := e.InjectNamed("q"); err != nil {
				t.Fatal(err)
			}
			v := e.Value(i)
			if v.Status != tt.want || v.V != 0.0 {
				t.Fatalf("during: %+v, want status %#x and the value kept", v, tt.want)
			}
			e.Step(2)
			if st := e.Value(i).Status; st != StatusGood {
				t.Fatalf("after expiry: status %#x", st)
			}
		})
	}
}

func TestTransportFaults(t *testing.T) {
	tests := []struct {
		name       string
		fault      scenarios.Fault
		opcua, mod Link
		status     uint32
	}{
		{"comm loss both", scenarios.Fault{Kind: scenarios.CommLoss}, Link{Down: true}, Link{Down: true}, StatusBadNoCommunication},
		{"comm loss modbus", scenarios.Fault{Kind: scenarios.CommLoss, Protocol: "modbus"}, Link{}, Link{Down: true}, StatusGood},
		{"latency", scenarios.Fault{Kind: scenarios.Latency, Latency: dur(250 * time.Millisecond)},
			Link{Latency: 250 * time.Millisecond}, Link{Latency: 250 * time.Millisecond}, StatusGood},
		{"modbus exception", scenarios.Fault{Kind: scenarios.ModbusException, Exception: 4}, Link{}, Link{Exception: 4}, StatusGood},
		{"disconnect", scenarios.Fault{Kind: scenarios.Disconnect}, Link{Epoch: 1}, Link{Epoch: 1}, StatusGood},
		{"disconnect opcua", scenarios.Fault{Kind: scenarios.Disconnect, Protocol: "opcua"}, Link{Epoch: 1}, Link{}, StatusGood},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.fault.Name, tt.fault.Target = "f", "m1"
			e := newEngine(t, rampScenario(tt.fault))
			if err := e.InjectNamed("f"); err != nil {
				t.Fatal(err)
			}
			if l := e.Link("m1", "opcua"); l != tt.opcua {
				t.Errorf("opcua link %+v, want %+v", l, tt.opcua)
			}
			if l := e.Link("m1", "modbus"); l != tt.mod {
				t.Errorf("modbus link %+v, want %+v", l, tt.mod)
			}
			i, _ := e.Lookup("m1/s")
			if st := e.Value(i).Status; st != tt.status {
				t.Errorf("value status %#x, want %#x", st, tt.status)
			}
			if tt.fault.Kind == scenarios.Disconnect {
				// A disconnect happens once and is not active afterwards.
				if fs := e.Faults(); fs[0].Active {
					t.Error("disconnect still active")
				}
				return
			}
			if err := e.Clear("f"); err != nil {
				t.Fatal(err)
			}
			if l := e.Link("m1", "opcua"); l != (Link{}) {
				t.Errorf("after clear: opcua link %+v", l)
			}
			if st := e.Value(i).Status; st != StatusGood {
				t.Errorf("after clear: status %#x", st)
			}
		})
	}
}

func TestClockSkew(t *testing.T) {
	for _, target := range []string{"m1/x", "m1"} {
		t.Run(target, func(t *testing.T) {
			e := newEngine(t, rampScenario(scenarios.Fault{Name: "sk", Kind: scenarios.ClockSkew, Target: target, Skew: dur(-90 * time.Second)}))
			i, _ := e.Lookup("m1/x")
			if src := e.Value(i).Source; !src.Equal(fixedNow()) {
				t.Fatalf("source %v before skew, want %v", src, fixedNow())
			}
			if err := e.InjectNamed("sk"); err != nil {
				t.Fatal(err)
			}
			e.Step(1)
			if src := e.Value(i).Source; !src.Equal(fixedNow().Add(-90 * time.Second)) {
				t.Fatalf("source %v with skew", src)
			}
		})
	}
}

func TestFaultLifecycle(t *testing.T) {
	e := newEngine(t, rampScenario(
		scenarios.Fault{Name: "st", Kind: scenarios.Stuck, Target: "m1/x", Duration: dur(300 * time.Millisecond)},
		scenarios.Fault{Name: "cl", Kind: scenarios.CommLoss, Target: "m1", Start: durp(0)},
	))
	fs := e.Faults()
	if len(fs) != 2 || fs[0].Active || !fs[1].Active || !fs[0].Defined {
		t.Fatalf("faults at start: %+v", fs)
	}
	e.Step(1)
	if err := e.InjectNamed("st"); err != nil {
		t.Fatal(err)
	}
	fs = e.Faults()
	if !fs[0].Active || fs[0].Since.D() != 100*time.Millisecond || fs[0].Until.D() != 400*time.Millisecond {
		t.Fatalf("stuck status: %+v", fs[0])
	}
	e.Step(3)
	if e.Faults()[0].Active {
		t.Fatal("stuck did not expire after its duration")
	}
	if err := e.Clear("cl"); err != nil {
		t.Fatal(err)
	}
	if err := e.Clear("cl"); !errors.Is(err, ErrNotActive) {
		t.Fatalf("second clear: %v, want ErrNotActive", err)
	}
	if err := e.Clear("nope"); !errors.Is(err, ErrUnknownFault) {
		t.Fatalf("clear unknown: %v", err)
	}
	if err := e.InjectNamed("nope"); !errors.Is(err, ErrUnknownFault) {
		t.Fatalf("inject unknown: %v", err)
	}
	// Ad-hoc faults are listed while active, named after their kind.
	if err := e.Inject(scenarios.Fault{Kind: scenarios.Drift, Target: "m1/x", Rate: 1}); err != nil {
		t.Fatal(err)
	}
	fs = e.Faults()
	if len(fs) != 3 || fs[2].Name != "drift-1" || fs[2].Defined || !fs[2].Active {
		t.Fatalf("ad-hoc: %+v", fs)
	}
	var kinds []string
	evs, next := e.Events(0)
	for _, ev := range evs {
		kinds = append(kinds, ev.Kind+":"+ev.Fault)
	}
	want := []string{"inject:cl", "inject:st", "expire:st", "clear:cl", "inject:drift-1"}
	if !slices.Equal(kinds, want) {
		t.Fatalf("events %v, want %v", kinds, want)
	}
	if more, n := e.Events(next); len(more) != 0 || n != next {
		t.Fatalf("events after cursor: %v %d", more, n)
	}
}

func TestInjectValidation(t *testing.T) {
	tests := []struct {
		fault scenarios.Fault
		field string
	}{
		{scenarios.Fault{Kind: "melt", Target: "m1/x"}, "kind"},
		{scenarios.Fault{Kind: scenarios.Stuck, Target: "m1/nope"}, "target"},
		{scenarios.Fault{Kind: scenarios.Stuck, Target: "m1"}, "target"},
		{scenarios.Fault{Kind: scenarios.CommLoss, Target: "m1/x"}, "target"},
		{scenarios.Fault{Kind: scenarios.CommLoss, Target: "m9"}, "target"},
		{scenarios.Fault{Kind: scenarios.Drift, Target: "m1/x"}, "rate"},
		{scenarios.Fault{Kind: scenarios.Drift, Target: "m1/s", Rate: 1}, "kind"},
		{scenarios.Fault{Kind: scenarios.NoiseBurst, Target: "m1/x"}, "magnitude"},
		{scenarios.Fault{Kind: scenarios.OutOfRange, Target: "m1/x"}, "value"},
		{scenarios.Fault{Kind: scenarios.BadQuality, Target: "m1/x", Status: "Broken"}, "status"},
		{scenarios.Fault{Kind: scenarios.UncertainQuality, Target: "m1/x", Status: "Bad_Whatever"}, "status"},
		{scenarios.Fault{Kind: scenarios.Stuck, Target: "m1/x", Rate: 1}, "rate"},
		{scenarios.Fault{Kind: scenarios.CommLoss, Target: "m1", Latency: 5}, "latency"},
		{scenarios.Fault{Kind: scenarios.OutOfRange, Target: "m1/r", Value: f64(50)}, "value"},
		{scenarios.Fault{Kind: scenarios.ModbusException, Target: "m2", Exception: 4}, "target"},
		{scenarios.Fault{Kind: scenarios.CommLoss, Target: "m2", Protocol: "opcua"}, "protocol"},
		{scenarios.Fault{Kind: scenarios.BadQuality, Target: "m1/x", Status: "Uncertain_LastUsableValue"}, "status"},
		{scenarios.Fault{Kind: scenarios.Latency, Target: "m1"}, "latency"},
		{scenarios.Fault{Kind: scenarios.ModbusException, Target: "m1", Exception: 7}, "exception"},
		{scenarios.Fault{Kind: scenarios.CommLoss, Target: "m1", Protocol: "http"}, "protocol"},
		{scenarios.Fault{Kind: scenarios.CommLoss, Target: "m1", Duration: -1}, "duration"},
		{scenarios.Fault{Kind: scenarios.ClockSkew, Target: "m1"}, "skew"},
	}
	sc := rampScenario()
	sc.Machines[0].Tags = append(sc.Machines[0].Tags, scenarios.Tag{Name: "r", Type: scenarios.Float64, Range: &scenarios.Range{Low: 0, High: 100}})
	sc.Machines = append(sc.Machines, scenarios.Machine{Name: "m2", Modbus: nil, OPCUA: nil, Tags: fill([]scenarios.Tag{{Name: "y"}})})
	e := newEngine(t, sc)
	for _, tt := range tests {
		t.Run(string(tt.fault.Kind)+" "+tt.field, func(t *testing.T) {
			err := e.Inject(tt.fault)
			if !errors.Is(err, ErrInvalidFault) || !strings.Contains(err.Error(), tt.field+":") {
				t.Fatalf("got %v, want ErrInvalidFault naming %s", err, tt.field)
			}
		})
	}
	if len(e.Faults()) != 0 {
		t.Fatalf("invalid faults were activated: %+v", e.Faults())
	}
}
