package twin

import (
	"math"
	"slices"
	"testing"
	"time"

	"github.com/otwin/otwin/scenarios"
)

func code(v int64) *int64 { return &v }

func TestModels(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name string
		tags []scenarios.Tag
		id   string
		want []any // values at ticks 0, 1, 2, ...
	}{
		{"constant float", []scenarios.Tag{{Name: "x", Model: &scenarios.Model{Constant: &scenarios.Constant{Value: 3.5}}}},
			"m1/x", []any{3.5, 3.5, 3.5}},
		{"constant int16 clamps", []scenarios.Tag{{Name: "x", Type: scenarios.Int16, Model: &scenarios.Model{Constant: &scenarios.Constant{Value: 40000}}}},
			"m1/x", []any{int16(32767), int16(32767)}},
		{"constant string", []scenarios.Tag{{Name: "x", Type: scenarios.String, Model: &scenarios.Model{Constant: &scenarios.Constant{Value: "ok"}}}},
			"m1/x", []any{"ok", "ok"}},
		{"no model is zero", []scenarios.Tag{{Name: "x", Type: scenarios.Uint32}},
			"m1/x", []any{uint32(0), uint32(0)}},
		{"sine", []scenarios.Tag{{Name: "x", Model: &scenarios.Model{Sine: &scenarios.Sine{Offset: 10, Amplitude: 2, Period: dur(400 * ms)}}}},
			"m1/x", []any{10.0, 12.0, 10.0, 8.0, 10.0}},
		{"sine int16 rounds", []scenarios.Tag{{Name: "x", Type: scenarios.Int16, Model: &scenarios.Model{Sine: &scenarios.Sine{Amplitude: 10.4, Period: dur(400 * ms), Phase: 90}}}},
			"m1/x", []any{int16(10), int16(0), int16(-10), int16(0), int16(10)}},
		{"ramp sawtooth", []scenarios.Tag{{Name: "x", Model: &scenarios.Model{Ramp: &scenarios.Ramp{Min: 0, Max: 4, Period: dur(400 * ms)}}}},
			"m1/x", []any{0.0, 1.0, 2.0, 3.0, 0.0, 1.0}},
		{"ramp triangle", []scenarios.Tag{{Name: "x", Model: &scenarios.Model{Ramp: &scenarios.Ramp{Min: 0, Max: 4, Period: dur(400 * ms), Shape: "triangle"}}}},
			"m1/x", []any{0.0, 1.0, 2.0, 3.0, 4.0, 3.0, 2.0, 1.0, 0.0, 1.0}},
		{"square duty", []scenarios.Tag{{Name: "x", Model: &scenarios.Model{Square: &scenarios.Square{Low: 1, High: 5, Period: dur(500 * ms), Duty: 0.4}}}},
			"m1/x", []any{5.0, 5.0, 1.0, 1.0, 1.0, 5.0, 5.0}},
		{"square as bool", []scenarios.Tag{{Name: "x", Type: scenarios.Bool, Model: &scenarios.Model{Square: &scenarios.Square{Low: 0, High: 7, Period: dur(200 * ms)}}}},
			"m1/x", []any{true, false, true, false}},
		{"counter", []scenarios.Tag{{Name: "x", Type: scenarios.Uint16, Model: &scenarios.Model{Counter: &scenarios.Counter{Rate: 10}}}},
			"m1/x", []any{uint16(0), uint16(1), uint16(2), uint16(3)}},
		{"counter keeps fractions", []scenarios.Tag{{Name: "x", Type: scenarios.Int32, Model: &scenarios.Model{Counter: &scenarios.Counter{Rate: 5}}}},
			"m1/x", []any{int32(0), int32(0), int32(1), int32(1), int32(2)}},
		{"counter rollover", []scenarios.Tag{{Name: "x", Type: scenarios.Int32, Model: &scenarios.Model{Counter: &scenarios.Counter{Start: 1, Rate: 10, Rollover: 4}}}},
			"m1/x", []any{int32(1), int32(2), int32(3), int32(1), int32(2), int32(3), int32(1)}},
		{"counter rolls over at the type's max", []scenarios.Tag{{Name: "x", Type: scenarios.Uint16, Model: &scenarios.Model{Counter: &scenarios.Counter{Rate: 300000}}}},
			"m1/x", []any{uint16(0), uint16(30000), uint16(60000), uint16(24464)}},
		{"counter when", []scenarios.Tag{
			{Name: "run", Type: scenarios.String, Model: &scenarios.Model{Steps: &scenarios.Steps{Steps: []scenarios.Step{{At: 0, Value: "Idle"}, {At: dur(200 * ms), Value: "Running"}, {At: dur(400 * ms), Value: "Idle"}}}}},
			{Name: "x", Type: scenarios.Uint32, Model: &scenarios.Model{Counter: &scenarios.Counter{Rate: 10, When: `run == "Running"`}}}},
			"m1/x", []any{uint32(0), uint32(0), uint32(1), uint32(2), uint32(2), uint32(2)}},
		{"counter on events", []scenarios.Tag{
			{Name: "phase", Type: scenarios.String, Model: &scenarios.Model{Steps: &scenarios.Steps{Repeat: true, Hold: dur(200 * ms),
				Steps: []scenarios.Step{{At: 0, Value: "a"}, {At: dur(200 * ms), Value: "b"}}}}},
			{Name: "x", Type: scenarios.Uint32, Model: &scenarios.Model{Counter: &scenarios.Counter{Start: 9, On: `phase == "a"`}}}},
			"m1/x", []any{uint32(10), uint32(10), uint32(10), uint32(10), uint32(11), uint32(11), uint32(11), uint32(11), uint32(12)}},
		{"steps repeat hold", []scenarios.Tag{{Name: "x", Model: &scenarios.Model{Steps: &scenarios.Steps{Repeat: true, Hold: dur(200 * ms),
			Steps: []scenarios.Step{{At: 0, Value: 1}, {At: dur(300 * ms), Value: 2}, {At: dur(500 * ms), Value: 3}}}}}},
			"m1/x", []any{1.0, 1.0, 1.0, 2.0, 2.0, 3.0, 3.0, 1.0, 1.0}},
		{"steps no repeat", []scenarios.Tag{{Name: "x", Type: scenarios.String, Model: &scenarios.Model{Steps: &scenarios.Steps{
			Steps: []scenarios.Step{{At: 0, Value: "a"}, {At: dur(100 * ms), Value: "b"}}}}}},
			"m1/x", []any{"a", "b", "b", "b"}},
		{"state machine names", []scenarios.Tag{{Name: "x", Type: scenarios.String, Model: &scenarios.Model{StateMachine: &scenarios.StateMachine{States: []scenarios.State{
			{Name: "A", Dwell: scenarios.DwellTime{Min: dur(200 * ms), Max: dur(200 * ms)}, Next: map[string]float64{"B": 1}},
			{Name: "B", Dwell: scenarios.DwellTime{Min: dur(300 * ms), Max: dur(300 * ms)}, Next: map[string]float64{"A": 1}}}}}}},
			"m1/x", []any{"A", "A", "B", "B", "B", "A", "A", "B"}},
		{"state machine codes", []scenarios.Tag{{Name: "x", Type: scenarios.Int16, Model: &scenarios.Model{StateMachine: &scenarios.StateMachine{Initial: "B", States: []scenarios.State{
			{Name: "A", Dwell: scenarios.DwellTime{Min: dur(100 * ms), Max: dur(100 * ms)}},
			{Name: "B", Code: code(7), Dwell: scenarios.DwellTime{Min: dur(200 * ms), Max: dur(200 * ms)}, Next: map[string]float64{"A": 1}}}}}}},
			"m1/x", []any{int16(7), int16(7), int16(0), int16(0), int16(0)}},
		{"expr same machine and t", []scenarios.Tag{
			{Name: "a", Model: &scenarios.Model{Constant: &scenarios.Constant{Value: 3}}},
			{Name: "b", Model: &scenarios.Model{Expr: &scenarios.Expr{Expr: "a * 2 + t * 10"}}}},
			"m1/b", []any{6.0, 7.0, 8.0}},
		{"expr evaluates in dependency order", []scenarios.Tag{
			{Name: "c", Model: &scenarios.Model{Expr: &scenarios.Expr{Expr: "b + 1"}}},
			{Name: "b", Model: &scenarios.Model{Expr: &scenarios.Expr{Expr: "a * 2"}}},
			{Name: "a", Model: &scenarios.Model{Ramp: &scenarios.Ramp{Min: 0, Max: 10, Period: dur(time.Second)}}}},
			"m1/c", []any{1.0, 3.0, 5.0, 7.0}},
		{"expr bool and string", []scenarios.Tag{
			{Name: "s", Type: scenarios.String, Model: &scenarios.Model{Constant: &scenarios.Constant{Value: "Running"}}},
			{Name: "b", Type: scenarios.Bool, Model: &scenarios.Model{Expr: &scenarios.Expr{Expr: `s == "Running" && t < 0.15`}}}},
			"m1/b", []any{true, true, false}},
		{"integrate clamps", []scenarios.Tag{{Name: "x", Model: &scenarios.Model{Integrate: &scenarios.Integrate{Rate: "2", Max: f64(1)}}}},
			"m1/x", []any{0.0, 0.2, 0.4, 0.6, 0.8, 1.0, 1.0}},
		{"integrate reads the previous tick", []scenarios.Tag{
			{Name: "src", Model: &scenarios.Model{Steps: &scenarios.Steps{Steps: []scenarios.Step{{At: 0, Value: 0}, {At: dur(100 * ms), Value: 10}}}}},
			{Name: "x", Model: &scenarios.Model{Integrate: &scenarios.Integrate{Rate: "src - 0", Initial: 5}}}},
			"m1/x", []any{5.0, 5.0, 6.0, 7.0}},
		{"lag tau 0 follows the previous tick", []scenarios.Tag{
			{Name: "src", Model: &scenarios.Model{Ramp: &scenarios.Ramp{Min: 0, Max: 10, Period: dur(time.Second)}}},
			{Name: "x", Model: &scenarios.Model{Lag: &scenarios.Lag{Input: "src"}}}},
			"m1/x", []any{0.0, 0.0, 1.0, 2.0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEngine(t, scenario(tt.tags...))
			got := series(t, e, tt.id, len(tt.want)-1)
			for k := range tt.want {
				g, w := got[k], tt.want[k]
				if gf, ok := g.(float64); ok {
					if wf, ok := w.(float64); ok && math.Abs(gf-wf) < 1e-9 {
						continue
					}
				}
				if g != w {
					t.Fatalf("tick %d: got %v (%T), want %v (%T); series %v", k, g, g, w, w, got)
				}
			}
		})
	}
}

func TestLagFirstOrder(t *testing.T) {
	e := newEngine(t, scenario(scenarios.Tag{Name: "x", Model: &scenarios.Model{Lag: &scenarios.Lag{Input: "10", Tau: dur(time.Second)}}}))
	got := series(t, e, "m1/x", 30)
	for k, v := range got {
		want := 10 * (1 - math.Exp(-float64(k)*0.1))
		if math.Abs(num(v)-want) > 1e-9 {
			t.Fatalf("tick %d: got %v, want %v", k, v, want)
		}
	}
}

func TestRandomModels(t *testing.T) {
	t.Run("random walk stays in bounds with bounded steps", func(t *testing.T) {
		e := newEngine(t, scenario(scenarios.Tag{Name: "x", Model: &scenarios.Model{RandomWalk: &scenarios.RandomWalk{Start: 50, Step: 1, Min: 49, Max: 51}}}))
		got := series(t, e, "m1/x", 500)
		moved := false
		for k, v := range got {
			f := num(v)
			if f < 49 || f > 51 {
				t.Fatalf("tick %d: %v out of [49, 51]", k, f)
			}
			if k > 0 {
				d := math.Abs(f - num(got[k-1]))
				if d > 1+1e-9 {
					t.Fatalf("tick %d: step %v > 1", k, d)
				}
				moved = moved || d > 0
			}
		}
		if !moved {
			t.Fatal("random walk never moved")
		}
	})
	t.Run("noise has its mean and deviation", func(t *testing.T) {
		e := newEngine(t, scenario(scenarios.Tag{Name: "x", Model: &scenarios.Model{Noise: &scenarios.Noise{Mean: 5, StdDev: 2}}}))
		mean, sd := stats(series(t, e, "m1/x", 4000))
		if math.Abs(mean-5) > 0.15 || math.Abs(sd-2) > 0.15 {
			t.Fatalf("mean %v sd %v, want 5 and 2", mean, sd)
		}
	})
	t.Run("noise added to a sine", func(t *testing.T) {
		e := newEngine(t, scenario(scenarios.Tag{Name: "x", Model: &scenarios.Model{
			Constant: &scenarios.Constant{Value: 100}, Noise: &scenarios.Noise{StdDev: 1}}}))
		mean, sd := stats(series(t, e, "m1/x", 4000))
		if math.Abs(mean-100) > 0.1 || math.Abs(sd-1) > 0.1 {
			t.Fatalf("mean %v sd %v, want 100 and 1", mean, sd)
		}
	})
	t.Run("state machine follows weights", func(t *testing.T) {
		e := newEngine(t, scenario(scenarios.Tag{Name: "x", Type: scenarios.String, Model: &scenarios.Model{StateMachine: &scenarios.StateMachine{States: []scenarios.State{
			{Name: "Hub", Dwell: scenarios.DwellTime{Min: dur(100 * time.Millisecond), Max: dur(100 * time.Millisecond)}, Next: map[string]float64{"A": 3, "B": 1}},
			{Name: "A", Dwell: scenarios.DwellTime{Min: dur(100 * time.Millisecond), Max: dur(300 * time.Millisecond)}, Next: map[string]float64{"Hub": 1}},
			{Name: "B", Dwell: scenarios.DwellTime{Min: dur(100 * time.Millisecond), Max: dur(100 * time.Millisecond)}, Next: map[string]float64{"Hub": 1}}}}}}))
		got := series(t, e, "m1/x", 4000)
		var a, b int
		for k := 1; k < len(got); k++ {
			if got[k] != got[k-1] {
				switch got[k] {
				case "A":
					a++
				case "B":
					b++
				}
			}
		}
		if r := float64(a) / float64(a+b); r < 0.68 || r > 0.82 {
			t.Fatalf("A chosen %d times, B %d: ratio %v, want about 0.75", a, b, r)
		}
	})
}

func stats(vs []any) (mean, sd float64) {
	for _, v := range vs {
		mean += num(v)
	}
	mean /= float64(len(vs))
	for _, v := range vs {
		d := num(v) - mean
		sd += d * d
	}
	return mean, math.Sqrt(sd / float64(len(vs)))
}

func TestCrossMachineExpressions(t *testing.T) {
	sc := scenario(scenarios.Tag{Name: "sum", Model: &scenarios.Model{Expr: &scenarios.Expr{Expr: `m2.speed + tag("m2/speed") + tag("plant/m2/speed")`}}})
	sc.Machines = append(sc.Machines, scenarios.Machine{Name: "m2", Location: scenarios.Location{Site: "plant"},
		Tags: fill([]scenarios.Tag{{Name: "speed", Model: &scenarios.Model{Ramp: &scenarios.Ramp{Min: 0, Max: 10, Period: dur(time.Second)}}}})})
	e := newEngine(t, sc)
	got := series(t, e, "m1/sum", 3)
	if !slices.Equal(got, []any{0.0, 3.0, 6.0, 9.0}) {
		t.Fatalf("got %v", got)
	}
	if i, ok := e.Lookup("plant/m2/speed"); !ok || e.Tags()[i].ID != "plant/m2/speed" {
		t.Fatalf("lookup by full id: %v %v", i, ok)
	}
}

func TestNewRejectsBadModels(t *testing.T) {
	tests := []struct {
		name string
		tag  scenarios.Tag
	}{
		{"unknown tag in expr", scenarios.Tag{Name: "x", Model: &scenarios.Model{Expr: &scenarios.Expr{Expr: "nope + 1"}}}},
		{"syntax error", scenarios.Tag{Name: "x", Model: &scenarios.Model{Expr: &scenarios.Expr{Expr: "1 +"}}}},
		{"two kinds", scenarios.Tag{Name: "x", Model: &scenarios.Model{Sine: &scenarios.Sine{Period: 1}, Ramp: &scenarios.Ramp{Period: 1}}}},
		{"zero period", scenarios.Tag{Name: "x", Model: &scenarios.Model{Sine: &scenarios.Sine{}}}},
		{"self cycle", scenarios.Tag{Name: "x", Model: &scenarios.Model{Expr: &scenarios.Expr{Expr: "x + 1"}}}},
		{"constant of wrong type", scenarios.Tag{Name: "x", Type: scenarios.Int16, Model: &scenarios.Model{Constant: &scenarios.Constant{Value: "abc"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(scenario(tt.tag), Options{Now: fixedNow})
			if err == nil {
				t.Fatal("New accepted it")
			}
			t.Log(err)
		})
	}
}
