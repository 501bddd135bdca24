package twin

import (
	"github.com/otwin/otwin/scenarios"
)

// logEvent appends ev to the event log, stamping Seq, Elapsed and Time.
// Called with e.mu held (Elapsed is read from the simulation state).
func (e *Engine) logEvent(ev Event) {
	ev.Elapsed = scenarios.Duration(e.elapsed)
	ev.Time = e.now()
	e.evMu.Lock()
	ev.Seq = e.evNext
	e.evNext++
	if len(e.events) < maxEvents {
		e.events = append(e.events, ev)
	} else {
		e.events[ev.Seq%maxEvents] = ev
	}
	e.evMu.Unlock()
}

// Events returns the logged events with Seq >= since, oldest first, and
// the cursor to pass next time. The log keeps the last 10000 events; a
// cursor older than that gets the oldest kept. Safe for concurrent use.
func (e *Engine) Events(since int) ([]Event, int) {
	e.evMu.Lock()
	defer e.evMu.Unlock()
	oldest := e.evNext - len(e.events)
	if since < oldest {
		since = oldest
	}
	if since >= e.evNext {
		return nil, e.evNext
	}
	out := make([]Event, 0, e.evNext-since)
	for s := since; s < e.evNext; s++ {
		out = append(out, e.events[s%maxEvents])
	}
	return out, e.evNext
}
