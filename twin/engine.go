package twin

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/otwin/otwin/scenarios"
)

// Options configure an Engine.
type Options struct {
	// Now is the wall clock (default time.Now); tests inject one.
	Now func() time.Time
	// Logger receives the engine's log (default slog.Default()).
	Logger *slog.Logger
}

// Engine simulates one resolved scenario. All methods are safe for
// concurrent use.
type Engine struct {
	sc   *scenarios.Scenario
	opts Options
}

// Status is the state of the engine's clock.
type Status struct {
	// Scenario is the scenario's name.
	Scenario string `json:"scenario"`
	// SimTime is the simulated wall time: the start time plus Elapsed.
	SimTime time.Time `json:"sim_time"`
	// Elapsed is the simulated time since the scenario start.
	Elapsed time.Duration `json:"elapsed"`
	// Ticks is the number of ticks run.
	Ticks uint64 `json:"ticks"`
	// Tick is the simulation step.
	Tick time.Duration `json:"tick"`
	// TimeScale is the scenario's time scale.
	TimeScale float64 `json:"time_scale"`
	// Speed is the live multiplier on top of TimeScale (SetSpeed).
	Speed float64 `json:"speed"`
	// Paused reports whether Run is paused.
	Paused bool `json:"paused"`
	// Tags is the number of tags.
	Tags int `json:"tags"`
	// ActiveFaults is the number of active faults.
	ActiveFaults int `json:"active_faults"`
}

// Event is one entry of the engine's event log.
type Event struct {
	// Seq is the event's position in the log (the cursor of Events).
	Seq int `json:"seq"`
	// Elapsed is the simulated time since the scenario start.
	Elapsed time.Duration `json:"elapsed"`
	// Time is the wall time the event was logged.
	Time time.Time `json:"time"`
	// Kind is inject, clear, expire, set, state, note or write.
	Kind string `json:"kind"`
	// Origin is what caused the event: scenario, timeline, api or client.
	Origin string `json:"origin,omitempty"`
	// Fault is the fault's name (inject, clear, expire).
	Fault string `json:"fault,omitempty"`
	// Target is the tag ("machine/tag") or machine concerned.
	Target string `json:"target,omitempty"`
	// Value is the written value (set, write) or state name (state).
	Value any `json:"value,omitempty"`
	// Message is a human-readable description (the note's text).
	Message string `json:"message,omitempty"`
}

// New builds an engine for sc, which must be resolved (see
// scenarios/resolved.go). It compiles every expression and returns an
// error naming the machine and tag of any that does not compile.
func New(sc *scenarios.Scenario, opts Options) (*Engine, error) {
	if sc == nil {
		return nil, errors.New("twin: nil scenario")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Engine{sc: sc, opts: opts}, nil
}

// Run ticks in real time × scale × speed until ctx is done.
func (e *Engine) Run(ctx context.Context) error { <-ctx.Done(); return nil }

// Tags returns the static tag list; index = TagInfo.Index.
func (e *Engine) Tags() []TagInfo { return nil }

// Machines returns the static machine list.
func (e *Engine) Machines() []MachineInfo { return nil }

// Lookup maps "machine/tag" or a full tag ID to its index.
func (e *Engine) Lookup(id string) (int, bool) { return 0, false }

// Value returns tag i's current value with faults applied.
func (e *Engine) Value(i int) Value { return Value{} }

// Write writes v to tag i as a client would.
func (e *Engine) Write(i int, v any) error { return errors.New("not implemented") }

// Status reports the clock.
func (e *Engine) Status() Status { return Status{} }

// Events returns the events with Seq >= since and the next cursor.
func (e *Engine) Events(since int) ([]Event, int) { return nil, since }

// Pause stops Run from advancing time.
func (e *Engine) Pause() {}

// Resume lets Run advance time again.
func (e *Engine) Resume() {}

// SetSpeed sets the live speed multiplier.
func (e *Engine) SetSpeed(f float64) error { return nil }

// Step advances n ticks synchronously.
func (e *Engine) Step(n int) {}
