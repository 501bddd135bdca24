package twin

import (
	"log/slog"
	"testing"
	"time"

	"github.com/otwin/otwin/scenarios"
)

// dur converts a time.Duration to a scenario duration.
func dur(d time.Duration) scenarios.Duration { return scenarios.Duration(d) }

func durp(d time.Duration) *scenarios.Duration { x := scenarios.Duration(d); return &x }

func f64(v float64) *float64 { return &v }

// fixedNow is a clock that never moves, for tests driven by Step.
func fixedNow() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) }

// scenario builds a resolved scenario of one machine "m1" with tags.
func scenario(tags ...scenarios.Tag) *scenarios.Scenario {
	return &scenarios.Scenario{
		Name:      "test",
		Seed:      1,
		Tick:      dur(100 * time.Millisecond),
		TimeScale: 1,
		Machines:  []scenarios.Machine{{Name: "m1", Tags: fill(tags)}},
	}
}

// fill sets the default type the loader would.
func fill(tags []scenarios.Tag) []scenarios.Tag {
	for i := range tags {
		if tags[i].Type == "" {
			tags[i].Type = scenarios.Float64
		}
	}
	return tags
}

// discard drops the engine's log in tests.
var discard = slog.New(slog.DiscardHandler)

func newEngine(t testing.TB, sc *scenarios.Scenario) *Engine {
	t.Helper()
	e, err := New(sc, Options{Now: fixedNow, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return e
}

// series steps e n times and returns tag id's values after each step
// (the value at tick 0 first).
func series(t testing.TB, e *Engine, id string, n int) []any {
	t.Helper()
	i, ok := e.Lookup(id)
	if !ok {
		t.Fatalf("no tag %s", id)
	}
	out := []any{e.Value(i).V}
	for range n {
		e.Step(1)
		out = append(out, e.Value(i).V)
	}
	return out
}

func num(v any) float64 {
	f, _ := scenarios.Number(v)
	return f
}
