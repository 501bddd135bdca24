package twin

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-yaml"

	"github.com/otwin/otwin/scenarios"
)

// faultBase is the scenario every fault of TestFaultVerdictsAgree is
// checked against: m1 on both protocols with a numeric tag x (range
// 0-100), a string tag s and a bool tag b; m2 on OPC UA only; m3 on no
// protocol.
const faultBase = `name: t
machines:
  - name: m1
    opcua: {port: 0}
    modbus: {port: 0}
    tags:
      - {name: x, range: {low: 0, high: 100}, modbus: {table: holding, address: 0}}
      - {name: s, type: string}
      - {name: b, type: bool}
  - name: m2
    opcua: {port: 0}
    tags: [{name: y}]
  - name: m3
    tags: [{name: z}]
`

// TestFaultVerdictsAgree feeds the same faults, valid and invalid, of
// every kind through the validator (a scenario file holding the fault)
// and through the engine (Engine.InjectFault, and InjectNamed of the
// fault defined in the scenario) and asserts the same verdict: the two
// share one check (scenarios.CheckFault). An invalid fault's engine
// error names the field the table expects.
func TestFaultVerdictsAgree(t *testing.T) {
	s := time.Second
	v := func(f float64) *float64 { return &f }
	type F = scenarios.Fault
	tests := []struct {
		f     F
		field string // "" when valid; else a field the engine's error names
	}{
		{F{Kind: scenarios.Stuck, Target: "m1/x"}, ""},
		{F{Kind: scenarios.Stuck, Target: "m1/s", Duration: dur(s)}, ""},
		{F{Kind: scenarios.Drift, Target: "m1/x", Rate: 0.5}, ""},
		{F{Kind: scenarios.NoiseBurst, Target: "m1/x", Magnitude: 1}, ""},
		{F{Kind: scenarios.Spike, Target: "m1/x", Magnitude: -5, Every: dur(s)}, ""},
		{F{Kind: scenarios.BadQuality, Target: "m1/x"}, ""},
		{F{Kind: scenarios.BadQuality, Target: "m1/s", Status: "Bad_OutOfService"}, ""},
		{F{Kind: scenarios.BadQuality, Target: "m1/x", Status: "0x80000000"}, ""},
		{F{Kind: scenarios.BadQuality, Target: "m1/x", Status: "Bad_SomethingLocal"}, ""},
		{F{Kind: scenarios.BadQuality, Target: "m1/x", Status: "badoutofservice"}, ""},
		{F{Kind: scenarios.UncertainQuality, Target: "m1/b", Status: "Uncertain_LastUsableValue"}, ""},
		{F{Kind: scenarios.OutOfRange, Target: "m1/x", Value: v(150)}, ""},
		{F{Kind: scenarios.OutOfRange, Target: "m1/x", Value: v(-0.5)}, ""},
		{F{Kind: scenarios.CommLoss, Target: "m1"}, ""},
		{F{Kind: scenarios.CommLoss, Target: "m1", Protocol: "modbus"}, ""},
		{F{Kind: scenarios.CommLoss, Target: "m2", Protocol: "opcua"}, ""},
		{F{Kind: scenarios.Latency, Target: "m1", Latency: dur(200 * time.Millisecond), Protocol: "opcua"}, ""},
		{F{Kind: scenarios.Disconnect, Target: "m2", Duration: dur(s)}, ""},
		{F{Kind: scenarios.ModbusException, Target: "m1", Exception: 1}, ""},
		{F{Kind: scenarios.ModbusException, Target: "m1", Exception: 6, Protocol: "modbus"}, ""},
		{F{Kind: scenarios.ModbusException, Target: "m1", Exception: 8}, ""},
		{F{Kind: scenarios.ModbusException, Target: "m1", Exception: 11}, ""},
		{F{Kind: scenarios.ClockSkew, Target: "m1/x", Skew: dur(2 * s)}, ""},
		{F{Kind: scenarios.ClockSkew, Target: "m2", Skew: dur(-s)}, ""},

		{F{Kind: "", Target: "m1/x"}, "kind"},
		{F{Kind: "melt", Target: "m1/x"}, "kind"},
		{F{Kind: scenarios.Stuck, Target: ""}, "target"},
		{F{Kind: scenarios.Stuck, Target: "m1"}, "target"},
		{F{Kind: scenarios.Stuck, Target: "m9/x"}, "target"},
		{F{Kind: scenarios.Stuck, Target: "m1/nope"}, "target"},
		{F{Kind: scenarios.Stuck, Target: "m1/x", Rate: 1}, "rate"},
		{F{Kind: scenarios.Stuck, Target: "m1/x", Duration: dur(-s)}, "duration"},
		{F{Kind: scenarios.Stuck, Target: "m1/x", Protocol: "opcua"}, "protocol"},
		{F{Name: "bad name", Kind: scenarios.Stuck, Target: "m1/x"}, "name"},
		{F{Kind: scenarios.Drift, Target: "m1/x"}, "rate"},
		{F{Kind: scenarios.Drift, Target: "m1/s", Rate: 1}, "kind"},
		{F{Kind: scenarios.Drift, Target: "m1/b", Rate: 1}, "kind"},
		{F{Kind: scenarios.Drift, Target: "m1/x", Rate: math.Inf(1)}, "rate"},
		{F{Kind: scenarios.NoiseBurst, Target: "m1/x", Magnitude: -1}, "magnitude"},
		{F{Kind: scenarios.Spike, Target: "m1/x", Magnitude: 1, Every: dur(-s)}, "every"},
		{F{Kind: scenarios.Spike, Target: "m1/x"}, "magnitude"},
		{F{Kind: scenarios.BadQuality, Target: "m1/x", Status: "Broken"}, "status"},
		{F{Kind: scenarios.BadQuality, Target: "m1/x", Status: "Uncertain_LastUsableValue"}, "status"},
		{F{Kind: scenarios.BadQuality, Target: "m1/x", Status: "0x40000000"}, "status"},
		{F{Kind: scenarios.BadQuality, Target: "m1/x", Status: "Good"}, "status"},
		{F{Kind: scenarios.UncertainQuality, Target: "m1/x", Status: "Bad_SensorFailure"}, "status"},
		{F{Kind: scenarios.UncertainQuality, Target: "m1/x", Status: "Bad_Whatever"}, "status"},
		{F{Kind: scenarios.OutOfRange, Target: "m1/x", Value: v(50)}, "value"},
		{F{Kind: scenarios.OutOfRange, Target: "m1/x"}, "value"},
		{F{Kind: scenarios.OutOfRange, Target: "m1/s", Value: v(1)}, "kind"},
		{F{Kind: scenarios.CommLoss, Target: "m1/x"}, "target"},
		{F{Kind: scenarios.CommLoss, Target: "m9"}, "target"},
		{F{Kind: scenarios.CommLoss, Target: "m1", Protocol: "http"}, "protocol"},
		{F{Kind: scenarios.CommLoss, Target: "m2", Protocol: "modbus"}, "protocol"},
		{F{Kind: scenarios.CommLoss, Target: "m3"}, "target"},
		{F{Kind: scenarios.CommLoss, Target: "m1", Latency: dur(s)}, "latency"},
		{F{Kind: scenarios.Latency, Target: "m1"}, "latency"},
		{F{Kind: scenarios.Latency, Target: "m1", Latency: dur(-s)}, "latency"},
		{F{Kind: scenarios.Disconnect, Target: "m3"}, "target"},
		{F{Kind: scenarios.Disconnect, Target: "m1", Exception: 4}, "exception"},
		{F{Kind: scenarios.ModbusException, Target: "m1"}, "exception"},
		{F{Kind: scenarios.ModbusException, Target: "m1", Exception: 7}, "exception"},
		{F{Kind: scenarios.ModbusException, Target: "m1", Exception: 9}, "exception"},
		{F{Kind: scenarios.ModbusException, Target: "m1", Exception: 12}, "exception"},
		{F{Kind: scenarios.ModbusException, Target: "m1", Exception: -1}, "exception"},
		{F{Kind: scenarios.ModbusException, Target: "m2", Exception: 4}, "target"},
		{F{Kind: scenarios.ModbusException, Target: "m1", Exception: 4, Protocol: "opcua"}, "protocol"},
		{F{Kind: scenarios.ModbusException, Target: "m1/x", Exception: 4}, "target"},
		{F{Kind: scenarios.ClockSkew, Target: "m1/x"}, "skew"},
		{F{Kind: scenarios.ClockSkew, Target: "m3", Skew: dur(s)}, "target"},
		{F{Kind: scenarios.ClockSkew, Target: "m1", Skew: dur(s), Protocol: "opcua"}, "protocol"},
	}
	base, err := scenarios.Parse("base.yaml", []byte(faultBase))
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[scenarios.FaultKind][2]bool{} // valid and invalid cases per kind
	for _, tt := range tests {
		f := tt.f
		if f.Name == "" {
			f.Name = "f"
		}
		t.Run(string(f.Kind)+"/"+f.Target+"/"+tt.field, func(t *testing.T) {
			valid := tt.field == ""
			k := kinds[f.Kind]
			k[map[bool]int{true: 0, false: 1}[valid]] = true
			kinds[f.Kind] = k

			src, err := yaml.Marshal([]scenarios.Fault{f})
			if err != nil {
				t.Fatal(err)
			}
			_, verr := scenarios.Parse("fault.yaml", []byte(faultBase+"faults:\n"+indent(string(src))))
			var ps scenarios.Problems
			if verr != nil && !errors.As(verr, &ps) {
				t.Fatalf("validator: %v", verr)
			}
			if (verr == nil) != valid {
				t.Fatalf("validator: %v, want valid %v; file:\n%s", verr, valid, src)
			}

			e := newEngine(t, base)
			_, aerr := e.InjectFault(f)
			if (aerr == nil) != valid {
				t.Fatalf("InjectFault: %v, want valid %v (validator: %v)", aerr, valid, verr)
			}
			if !valid && (!errors.Is(aerr, ErrInvalidFault) || !strings.Contains(aerr.Error(), tt.field+":")) {
				t.Fatalf("InjectFault: %v, want ErrInvalidFault naming %s", aerr, tt.field)
			}

			withDef := *base
			withDef.Faults = []scenarios.Fault{f}
			n := newEngine(t, &withDef)
			if nerr := n.InjectNamed(f.Name); (nerr == nil) != valid {
				t.Fatalf("InjectNamed: %v, want valid %v", nerr, valid)
			}
		})
	}
	for _, k := range scenarios.FaultKinds {
		if c := kinds[k]; !c[0] || !c[1] {
			t.Errorf("kind %s: valid case %v, invalid case %v; want both", k, c[0], c[1])
		}
	}
}

// TestFaultStartChecked: a named fault with a negative start is refused by
// the validator and by InjectNamed (an ad-hoc fault has no start).
func TestFaultStartChecked(t *testing.T) {
	base, err := scenarios.Parse("base.yaml", []byte(faultBase))
	if err != nil {
		t.Fatal(err)
	}
	f := scenarios.Fault{Name: "f", Kind: scenarios.Stuck, Target: "m1/x", Start: durp(-time.Second)}
	if _, err := scenarios.Parse("f.yaml", []byte(faultBase+"faults:\n  - {name: f, kind: stuck, target: m1/x, start: -1s}\n")); err == nil || !strings.Contains(err.Error(), "start -1s is negative") {
		t.Fatalf("validator: %v", err)
	}
	withDef := *base
	withDef.Faults = []scenarios.Fault{f}
	if err := newEngine(t, &withDef).InjectNamed("f"); !errors.Is(err, ErrInvalidFault) || !strings.Contains(err.Error(), "start:") {
		t.Fatalf("InjectNamed: %v", err)
	}
}

// indent indents every line of s by two spaces.
func indent(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = "  " + l
	}
	return strings.Join(lines, "\n") + "\n"
}
