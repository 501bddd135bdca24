package twin

import (
	"log/slog"
	"testing"
	"time"

	"github.com/otwin/otwin/scenarios"
)

// TestOnTick: a hook runs once at once and after every tick, in
// simulated time, and sees the tick's values already published.
func TestOnTick(t *testing.T) {
	sc, err := scenarios.Parse("tick.yaml", []byte(`
name: tick
tick: 250ms
machines:
  - name: m
    tags:
      - {name: n, type: uint32, model: {counter: {rate: 4}}}
`))
	if err != nil {
		t.Fatal(err)
	}
	e, err := New(sc, Options{Now: fixedNow, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	e.Step(2)
	type seen struct {
		ticks   uint64
		elapsed time.Duration
		n       any
	}
	var got []seen
	e.OnTick(func(ti TickInfo) {
		got = append(got, seen{ti.Ticks, ti.Elapsed, e.Value(0).V})
		if !ti.Time.Equal(fixedNow()) {
			t.Errorf("tick time %v, want the engine's clock", ti.Time)
		}
	})
	e.Step(3)
	want := []seen{{2, 500 * time.Millisecond, uint32(2)}, {3, 750 * time.Millisecond, uint32(3)}, {4, time.Second, uint32(4)}, {5, 1250 * time.Millisecond, uint32(5)}}
	if len(got) != len(want) {
		t.Fatalf("hook ran %d times, want %d: %v", len(got), len(want), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("call %d: %+v, want %+v", i, got[i], want[i])
		}
	}
}
