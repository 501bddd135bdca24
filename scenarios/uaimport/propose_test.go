package uaimport

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/otwin/otwin/scenarios"
)

// series samples f every 100ms for n samples.
func series(n int, f func(i int, t float64) any) []Sample {
	out := make([]Sample, n)
	for i := range out {
		at := time.Duration(i) * 100 * time.Millisecond
		out[i] = Sample{At: at, Value: f(i, at.Seconds())}
	}
	return out
}

func TestProposeKinds(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	states := []EnumValue{{0, "Idle"}, {1, "Running"}, {4, "Fault"}}
	tests := []struct {
		name    string
		typ     scenarios.DataType
		enum    bool
		states  []EnumValue
		samples []Sample
		check   func(t *testing.T, m *scenarios.Model)
	}{
		{"constant", scenarios.Float64, false, nil, series(20, func(int, float64) any { return 7.5 }), func(t *testing.T, m *scenarios.Model) {
			if m.Constant == nil || m.Constant.Value != 7.5 {
				t.Errorf("want constant 7.5, got %+v", m)
			}
		}},
		{"int counter", scenarios.Uint32, false, nil, series(40, func(i int, _ float64) any { return int64(100 + 2*i) }), func(t *testing.T, m *scenarios.Model) {
			if m.Counter == nil || math.Abs(m.Counter.Rate-20) > 0.01 || m.Counter.Rollover != 0 {
				t.Errorf("want counter at 20/s without rollover, got %+v", m.Counter)
			}
		}},
		{"int counter that wraps", scenarios.Int32, false, nil, series(40, func(i int, _ float64) any { return int64(10 + (3*i)%50) }), func(t *testing.T, m *scenarios.Model) {
			c := m.Counter
			if c == nil || c.Rollover == 0 || c.Rollover <= c.Start {
				t.Fatalf("want a counter that rolls over, got %+v", m)
			}
			if math.Abs(c.Rate-30) > 0.5 {
				t.Errorf("rate %v, want 30/s (the wraps excluded)", c.Rate)
			}
		}},
		{"sawtooth ramp", scenarios.Float64, false, nil, series(50, func(_ int, s float64) any { return 10 + 20*math.Mod(s, 1.5)/1.5 }), func(t *testing.T, m *scenarios.Model) {
			r := m.Ramp
			if r == nil || r.Shape != "" || r.Min < 9.9 || r.Max > 30 || math.Abs(r.Period.D().Seconds()-1.5) > 0.15 {
				t.Errorf("want a sawtooth 10..30 over 1.5s, got %+v", m)
			}
		}},
		{"triangle ramp", scenarios.Float64, false, nil, series(60, func(_ int, s float64) any {
			p := math.Mod(s, 2)
			if p > 1 {
				p = 2 - p
			}
			return 50 * p
		}), func(t *testing.T, m *scenarios.Model) {
			r := m.Ramp
			if r == nil || r.Shape != "triangle" || math.Abs(r.Period.D().Seconds()-2) > 0.25 {
				t.Errorf("want a triangle over 2s, got %+v", r)
			}
		}},
		{"noise", scenarios.Float64, false, nil, series(200, func(int, float64) any { return 20 + rng.NormFloat64() }), func(t *testing.T, m *scenarios.Model) {
			n := m.Noise
			if n == nil || math.Abs(n.Mean-20) > 0.3 || math.Abs(n.StdDev-1) > 0.3 {
				t.Errorf("want noise 20±1, got %+v", m)
			}
		}},
		{"lag settling", scenarios.Float64, false, nil, series(60, func(_ int, s float64) any { return 100 - 80*math.Exp(-s) }), func(t *testing.T, m *scenarios.Model) {
			if m.Counter != nil {
				t.Errorf("a settling curve is no counter: %+v", m.Counter)
			}
		}},
		{"bool", scenarios.Bool, false, nil, series(40, func(_ int, s float64) any { return math.Mod(s, 1) < 0.25 }), func(t *testing.T, m *scenarios.Model) {
			q := m.Square
			if q == nil || math.Abs(q.Duty-0.25) > 0.06 || math.Abs(q.Period.D().Seconds()-1) > 0.2 {
				t.Errorf("want a square of duty 0.25 over 1s, got %+v", q)
			}
		}},
		{"strings", scenarios.String, false, nil, series(30, func(i int, _ float64) any { return []string{"Idle", "Run", "Run", "Run", "Stop"}[i/6] }), func(t *testing.T, m *scenarios.Model) {
			sm := m.StateMachine
			if sm == nil || len(sm.States) != 3 || sm.Initial != "Idle" || sm.States[1].Next["Stop"] != 1 {
				t.Errorf("want states Idle, Run, Stop from Idle, got %+v", sm)
			}
		}},
		{"integer codes", scenarios.Int16, false, nil, series(40, func(i int, _ float64) any { return int64([]int{1, 2, 1, 3}[i/10%4]) }), func(t *testing.T, m *scenarios.Model) {
			sm := m.StateMachine
			if sm == nil || len(sm.States) != 3 || sm.States[0].Name != "s1" || *sm.States[2].Code != 3 {
				t.Fatalf("want states s1, s2, s3, got %+v", m)
			}
			if d := sm.States[1].Dwell; d.Min.D() != time.Second || d.Max.D() != time.Second {
				t.Errorf("s2 dwell %v..%v, want 1s (10 samples)", d.Min, d.Max)
			}
		}},
		{"enumeration", scenarios.Int32, true, states, series(30, func(i int, _ float64) any { return int64([]int{1, 1, 4}[i/10]) }), func(t *testing.T, m *scenarios.Model) {
			sm := m.StateMachine
			if sm == nil || len(sm.States) != 3 || sm.Initial != "Running" || sm.States[1].Next["Fault"] != 1 {
				t.Errorf("want the enumeration's three states from Running, got %+v", sm)
			}
			if sm != nil && len(sm.States[2].Next) == 0 {
				t.Errorf("Fault, never left, should go to the states seen entered: %+v", sm.States[2])
			}
		}},
		{"too few good", scenarios.Float64, false, nil, append(series(3, func(int, float64) any { return 1.0 }), Sample{At: time.Second, Status: 0x80000000}), func(t *testing.T, m *scenarios.Model) {
			if m.Constant == nil || m.Constant.Value != 1.0 {
				t.Errorf("want the last good value as a constant, got %+v", m)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, note := propose(tt.typ, tt.enum, tt.states, tt.samples, nil)
			if m == nil {
				t.Fatalf("no model (%s)", note)
			}
			if note == "" {
				t.Error("no note saying what was seen")
			}
			if _, _, ok := m.Kind(); !ok {
				t.Fatalf("model %+v holds no single kind", m)
			}
			if err := m.Runnable(tt.typ); err != nil {
				t.Errorf("the twin cannot run it: %v", err)
			}
			tt.check(t, m)
		})
	}
}
