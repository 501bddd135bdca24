package twin

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"

	"github.com/otwin/otwin/scenarios"
)

// TestEveryModelKindEvaluates: every kind of scenarios.Model has a builder
// registered here, and nothing else is registered.
func TestEveryModelKindEvaluates(t *testing.T) {
	mt := reflect.TypeFor[scenarios.Model]()
	if mt.NumField() != len(scenarios.ModelKindNames()) || len(modelBuilders) != mt.NumField() {
		t.Fatalf("%d Model fields, %d kind names, %d builders", mt.NumField(), len(scenarios.ModelKindNames()), len(modelBuilders))
	}
	for i := range mt.NumField() {
		if _, ok := modelBuilders[mt.Field(i).Type]; !ok {
			t.Errorf("model kind %s (%s) has no builder: add twin/model_<kind>.go", scenarios.ModelKindNames()[i], mt.Field(i).Type)
		}
	}
}

// TestModelVerdicts feeds the same models through the validator (a file)
// and the engine (New with the model built in code): both refuse what the
// twin cannot run (a need), the validator also the format's rules, and the
// engine refuses nothing the validator accepts.
func TestModelVerdicts(t *testing.T) {
	type M = scenarios.Model
	tests := []struct {
		typ      scenarios.DataType
		m        M
		engineOK bool // the engine runs it
		fileOK   bool // the validator accepts it
	}{
		{scenarios.Float64, M{Sine: &scenarios.Sine{Amplitude: 1, Period: dur(1e9)}}, true, true},
		{scenarios.Float64, M{Sine: &scenarios.Sine{Amplitude: 1}}, false, false},
		{scenarios.Float64, M{Ramp: &scenarios.Ramp{Min: 5, Max: 1, Period: dur(1e9)}}, true, false},
		{scenarios.Float64, M{Ramp: &scenarios.Ramp{Max: 1, Period: dur(1e9), Shape: "zigzag"}}, true, false},
		{scenarios.Float64, M{Square: &scenarios.Square{High: 1}}, false, false},
		{scenarios.Float64, M{Square: &scenarios.Square{High: 1, Period: dur(1e9), Duty: 2}}, true, false},
		{scenarios.Float64, M{RandomWalk: &scenarios.RandomWalk{Start: 9, Step: 1, Min: 0, Max: 5}}, true, false},
		{scenarios.Float64, M{Noise: &scenarios.Noise{StdDev: -1}}, true, false},
		{scenarios.Float64, M{Counter: &scenarios.Counter{Rate: -1}}, false, false},
		{scenarios.Int32, M{Counter: &scenarios.Counter{Rate: 1, Start: 10, Rollover: 5}}, false, false},
		{scenarios.Int32, M{Counter: &scenarios.Counter{Rate: 1, Start: 0.5}}, true, false},
		{scenarios.Uint16, M{Counter: &scenarios.Counter{Rate: 1, Rollover: 65536}}, true, true},
		{scenarios.Uint16, M{Counter: &scenarios.Counter{Rate: 1, Rollover: 70000}}, true, false},
		{scenarios.Float64, M{Steps: &scenarios.Steps{}}, false, false},
		{scenarios.Int16, M{Steps: &scenarios.Steps{Steps: []scenarios.Step{{Value: 1.5}}}}, true, false},
		{scenarios.Int16, M{Constant: &scenarios.Constant{Value: 40000}}, true, false},
		{scenarios.Int16, M{Constant: &scenarios.Constant{Value: "abc"}}, false, false},
		{scenarios.Int16, M{Constant: &scenarios.Constant{Value: "12"}}, true, false},
		{scenarios.String, M{Sine: &scenarios.Sine{Amplitude: 1, Period: dur(1e9)}}, true, false},
		{scenarios.String, M{StateMachine: &scenarios.StateMachine{}}, false, false},
		{scenarios.String, M{StateMachine: &scenarios.StateMachine{Initial: "B", States: []scenarios.State{{Name: "A"}}}}, false, false},
		{scenarios.String, M{StateMachine: &scenarios.StateMachine{States: []scenarios.State{{Name: "A", Next: map[string]float64{"C": 1}}}}}, false, false},
		{scenarios.String, M{StateMachine: &scenarios.StateMachine{States: []scenarios.State{{Name: "A", Next: map[string]float64{"A": -1}}}}}, true, false},
		{scenarios.Int16, M{StateMachine: &scenarios.StateMachine{States: []scenarios.State{{Name: "A", Code: code(70000)}}}}, true, false},
		{scenarios.Float64, M{Lag: &scenarios.Lag{Input: "1"}}, true, false},
		{scenarios.Float64, M{Lag: &scenarios.Lag{Input: "1", Tau: -1}}, false, false},
		{scenarios.Float64, M{Lag: &scenarios.Lag{Input: "1", Tau: dur(1e9)}}, true, true},
		{scenarios.Float64, M{Integrate: &scenarios.Integrate{Rate: "1", Min: f64(5), Max: f64(1)}}, true, false},
		{scenarios.Float64, M{Expr: &scenarios.Expr{Expr: "t * 2"}}, true, true},
		{scenarios.Float64, M{Sine: &scenarios.Sine{Period: dur(1e9)}, Ramp: &scenarios.Ramp{Period: dur(1e9)}}, false, false},
		{scenarios.Float64, M{}, true, false},
	}
	for _, tt := range tests {
		src, err := yaml.Marshal(tt.m)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(string(tt.typ)+" "+strings.ReplaceAll(strings.TrimSpace(string(src)), "\n", " "), func(t *testing.T) {
			tag := scenarios.Tag{Name: "x", Type: tt.typ, Model: &tt.m}
			_, eerr := New(scenario(tag), Options{Now: fixedNow, Logger: discard})
			if (eerr == nil) != tt.engineOK {
				t.Errorf("engine: %v, want ok %v", eerr, tt.engineOK)
			}
			tagYAML, err := yaml.Marshal([]scenarios.Tag{tag})
			if err != nil {
				t.Fatal(err)
			}
			file := "name: t\nmachines:\n  - name: m1\n    tags:\n" + indent(indent(string(tagYAML)))
			_, ferr := scenarios.Parse("m.yaml", []byte(file))
			var ps scenarios.Problems
			if ferr != nil && !errors.As(ferr, &ps) {
				t.Fatal(ferr)
			}
			if (ferr == nil) != tt.fileOK {
				t.Errorf("validator: %v, want ok %v; file:\n%s", ferr, tt.fileOK, file)
			}
			if eerr != nil && ferr == nil {
				t.Errorf("the engine refuses what the validator accepts: %v", eerr)
			}
		})
	}
}
