package twin

import "time"

// TickInfo is what a tick hook (OnTick) learns of the tick just run.
type TickInfo struct {
	// Ticks is the number of ticks run since the scenario start (0: the
	// start itself).
	Ticks uint64
	// Elapsed is the simulated time since the scenario start.
	Elapsed time.Duration
	// Time is the wall time of the tick (Options.Now): the source time of
	// the values it changed.
	Time time.Time
}

// OnTick registers f to run after every tick, once the tick's values are
// published (Value returns them), and runs it once at once for the
// current tick, so that f starts from the current values. Hooks run in
// registration order, in simulated time: a hook sees every tick, however
// fast Run plays them. f runs with the engine's lock held: it may call
// Value, Tags, Machines and Lookup, and nothing that changes the engine or
// waits for a tick (Write, InjectNamed, Clear, Step, Status, ...). Safe
// for concurrent use.
func (e *Engine) OnTick(f func(TickInfo)) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.hooks = append(e.hooks, f)
	f(e.tickInfo(e.now()))
}

// tickInfo describes the current tick. Called with e.mu held.
func (e *Engine) tickInfo(now time.Time) TickInfo {
	return TickInfo{Ticks: e.ticks, Elapsed: e.elapsed, Time: now}
}

// afterTick runs the tick hooks. Called with e.mu held.
func (e *Engine) afterTick(now time.Time) {
	if len(e.hooks) == 0 {
		return
	}
	ti := e.tickInfo(now)
	for _, f := range e.hooks {
		f(ti)
	}
}
