package twin

import (
	"log/slog"
	"testing"
	"time"

	"github.com/otwin/otwin/internal/testkit"
	"github.com/otwin/otwin/scenarios"
)

// bigScenario is machines × perMachine tags of every model kind at a
// 100ms tick.
func bigScenario(tb testing.TB, machines, perMachine int) *scenarios.Scenario {
	tb.Helper()
	src := testkit.Line{Machines: machines, Tags: perMachine, Tick: 100 * time.Millisecond, Mix: testkit.EveryKind}.YAML()
	sc, err := scenarios.Parse("big.yaml", []byte(src))
	if err != nil {
		tb.Fatal(err)
	}
	return sc
}

// BenchmarkEngineStep measures one tick of a 100k-tag scenario with a mix
// of models; tag-evals/s is the figure to compare with 100k tags × 10 Hz
// = 1e6/s.
func BenchmarkEngineStep(b *testing.B) {
	sc := bigScenario(b, 200, 500)
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
	e, err := New(bigScenario(b, 10, 100), Options{Logger: slog.New(slog.DiscardHandler)})
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
	e, err := New(bigScenario(b, 200, 500), Options{Logger: slog.New(slog.DiscardHandler)})
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
