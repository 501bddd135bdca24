package twin

import (
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/otwin/otwin/scenarios"
)

// bigScenario generates machines × perMachine tags with a mix of models:
// 25% sine, 10% ramp, 5% square, 15% random walk, 10% noise, 10% counter,
// 5% steps, 5% state machine, 10% expressions, 5% integrate/lag.
func bigScenario(machines, perMachine int) *scenarios.Scenario {
	sc := &scenarios.Scenario{Name: "big", Seed: 1, Tick: dur(100 * time.Millisecond), TimeScale: 1}
	ms := time.Millisecond
	for m := range machines {
		mach := scenarios.Machine{Name: fmt.Sprintf("m%d", m)}
		for k := range perMachine {
			t := scenarios.Tag{Name: fmt.Sprintf("t%d", k), Type: scenarios.Float64}
			var model scenarios.Model
			switch r := k % 20; {
			case r < 5:
				model.Sine = &scenarios.Sine{Offset: 50, Amplitude: 10, Period: dur(time.Duration(10+k%7) * time.Second)}
			case r < 7:
				model.Ramp = &scenarios.Ramp{Max: 100, Period: dur(time.Minute)}
			case r < 8:
				model.Square = &scenarios.Square{High: 1, Period: dur(5 * time.Second)}
				t.Type = scenarios.Bool
			case r < 11:
				model.RandomWalk = &scenarios.RandomWalk{Start: 50, Step: 0.5, Min: 0, Max: 100}
			case r < 13:
				model.Noise = &scenarios.Noise{Mean: 20, StdDev: 0.3}
			case r < 15:
				model.Counter = &scenarios.Counter{Rate: 2}
				t.Type = scenarios.Uint32
			case r < 16:
				model.Steps = &scenarios.Steps{Repeat: true, Steps: []scenarios.Step{{At: 0, Value: 1}, {At: dur(3 * time.Second), Value: 2}}}
			case r < 17:
				model.StateMachine = &scenarios.StateMachine{States: []scenarios.State{
					{Name: "Running", Dwell: scenarios.DwellTime{Min: dur(2 * time.Second), Max: dur(20 * time.Second)}, Next: map[string]float64{"Idle": 1, "Fault": 0.1}},
					{Name: "Idle", Dwell: scenarios.DwellTime{Min: dur(500 * ms), Max: dur(5 * time.Second)}, Next: map[string]float64{"Running": 1}},
					{Name: "Fault", Dwell: scenarios.DwellTime{Min: dur(time.Second), Max: dur(10 * time.Second)}, Next: map[string]float64{"Idle": 1}}}}
				t.Type = scenarios.Int16
			case r < 19:
				model.Expr = &scenarios.Expr{Expr: fmt.Sprintf("t%d * 2 + 1", k-k%20)}
			default:
				if k%40 < 20 {
					model.Integrate = &scenarios.Integrate{Rate: fmt.Sprintf("t%d - 50", k-k%20), Min: f64(0), Max: f64(1000)}
				} else {
					model.Lag = &scenarios.Lag{Input: fmt.Sprintf("t%d", k-k%20), Tau: dur(2 * time.Second)}
				}
			}
			t.Model = &model
			mach.Tags = append(mach.Tags, t)
		}
		sc.Machines = append(sc.Machines, mach)
	}
	return sc
}

// BenchmarkEngineStep measures one tick of a 100k-tag scenario with a mix
// of models; tag-evals/s is the figure to compare with 100k tags × 10 Hz
// = 1e6/s.
func BenchmarkEngineStep(b *testing.B) {
	sc := bigScenario(200, 500)
	e, err := New(sc, Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	w := e.Watch()
	defer w.Close()
	var buf []int
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		e.Step(1)
		buf = w.Changed(buf[:0])
	}
	b.ReportMetric(float64(b.N)*float64(len(e.Tags()))/b.Elapsed().Seconds(), "tag-evals/s")
}

// BenchmarkValue measures concurrent reads while nothing else runs.
func BenchmarkValue(b *testing.B) {
	e, err := New(bigScenario(10, 100), Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			_ = e.Value(i % 1000)
			i++
		}
	})
}

// BenchmarkValueDuringSteps measures reads while the engine ticks a
// 100k-tag scenario flat out.
func BenchmarkValueDuringSteps(b *testing.B) {
	e, err := New(bigScenario(200, 500), Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
				e.Step(1)
			}
		}
	}()
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		_ = e.Value(i % 100000)
		i += 7
	}
	b.StopTimer()
	close(stop)
	<-done
}
