// Package checks judges a scenario's checks (scenarios.Check): what the
// twin's clients must do while it runs, as its servers saw them do it
// (package clientlog). otwin test runs a scenario with an Evaluator and
// reports its verdicts.
//
// # Time
//
// Checks speak of simulated time, as the rest of the scenario does: an
// entry is placed at the simulated time of the moment the server saw it
// (the engine's clock, sampled as it runs; to within one tick). Faults are
// placed where the engine logged them. Entries and fault events are judged
// in the order they happened, a moment after they happened (Settle), so
// that an entry that raced a fault event is not judged before it.
//
// # Verdicts
//
// Every check ends as one of: passed; failed (with what went wrong);
// never fired (what it is about never happened, or no client could have
// done it: a fault that was never injected, a fault whose machine no
// client was reading, a machine nobody connected to) — not a pass; or
// undecided (the run ended before the check could be judged, or its fault
// was still active).
//
// A check kind is one file of this package (judge_<kind>.go) holding its
// judge and one entry in judges (below).
package checks

import (
	"cmp"
	"context"
	"fmt"
	"path"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/otwin/otwin/scenarios"
	"github.com/otwin/otwin/twin"
	"github.com/otwin/otwin/twin/clientlog"
)

// Engine is what the evaluator reads of the twin; *twin.Engine
// implements it.
type Engine interface {
	Status() twin.Status
	Events(since int) ([]twin.Event, int)
	Tags() []twin.TagInfo
	Machines() []twin.MachineInfo
	Lookup(id string) (int, bool)
}

// Status is a check's verdict.
type Status string

// The verdicts.
const (
	Passed     Status = "passed"
	Failed     Status = "failed"
	NeverFired Status = "never_fired"
	Undecided  Status = "undecided"
)

// Result is one check's verdict.
type Result struct {
	// Name, Kind and Description are the check's.
	Name        string              `json:"name"`
	Kind        scenarios.CheckKind `json:"kind"`
	Description string              `json:"description,omitempty"`
	// Status is the verdict.
	Status Status `json:"status"`
	// Message says why, in one line.
	Message string `json:"message"`
	// Details are the facts behind it: each violation, each client.
	Details []string `json:"details,omitempty"`
}

// Report is the verdict of every check of a scenario.
type Report struct {
	// Scenario is the scenario's name.
	Scenario string `json:"scenario"`
	// Elapsed is the simulated time the checks were judged over.
	Elapsed scenarios.Duration `json:"elapsed"`
	// Results are in the scenario's order.
	Results []Result `json:"results"`
}

// Passed reports whether every check passed.
func (r *Report) Passed() bool {
	for _, x := range r.Results {
		if x.Status != Passed {
			return false
		}
	}
	return true
}

// Count returns how many results have status s.
func (r *Report) Count(s Status) int {
	n := 0
	for _, x := range r.Results {
		if x.Status == s {
			n++
		}
	}
	return n
}

// Reads of one connection and tag list coalesce into one pending entry
// while they come at most coalesceGap apart and within coalesceSpan of
// the first: a fast reader costs one entry per coalesceSpan, a slow one
// one per read, and no gap between reads is hidden.
const (
	coalesceGap  = 100 * time.Millisecond
	coalesceSpan = time.Second
)

// Settle is how long after it happened an entry or fault event is judged:
// the events that raced it have been collected by then.
const Settle = 300 * time.Millisecond

// maxDetails bounds the details of one result.
const maxDetails = 20

// judge is one check's state: it sees every entry and fault event in the
// order they happened, and gives the verdict at the end.
type judge interface {
	// entry sees one client entry, at simulated time at.
	entry(w *world, a *act)
	// event sees a fault event of the engine.
	event(w *world, ev *twin.Event)
	// cover sees an item of a subscription become delivered (n = 1) or
	// stop being delivered (n = -1) at at.
	cover(w *world, c *client, it clientlog.Item, n int, at time.Duration)
	// verdict judges the check over the run, which lasted until end.
	verdict(w *world, end time.Duration) Result
}

// judges builds the judge of each check kind.
var judges = map[scenarios.CheckKind]func(w *world, c *scenarios.Check) (judge, error){
	scenarios.CheckResubscribe: newResubscribe,
	scenarios.CheckWriteRange:  newWriteRange,
	scenarios.CheckWritten:     newWritten,
	scenarios.CheckPolled:      newPolled,
	scenarios.CheckMaxSessions: newMaxSessions,
}

// act is an entry as a judge sees it: placed in simulated time, with the
// client it is of.
type act struct {
	clientlog.Entry
	at     time.Duration
	client *client
	// gap is the longest time between two reads coalesced into this one
	// (Read), and last the time of the last of them.
	gap, last time.Duration
}

// Evaluator judges the checks of one scenario. Observe is its listener on
// the client activity log; Run processes entries as the twin runs; Finish
// judges. Safe for concurrent use.
type Evaluator struct {
	sc  *scenarios.Scenario
	eng Engine
	now func() time.Time // the wall clock (tests set it)

	mu      sync.Mutex
	pending []pendingEntry
	reads   map[readKey]int // pending reads coalesced, index into pending
	clock   []clockSample
	cursor  int
	events  []twin.Event
	w       *world
	judges  []judge
	checks  []*scenarios.Check
	done    bool
}

// pendingEntry is an entry not yet judged; the reads of one connection
// and tag list that come before it is judged coalesce into it, keeping the
// first and last time and the longest gap.
type pendingEntry struct {
	e     clientlog.Entry
	last  time.Time
	gap   time.Duration
	coals bool
}

type readKey struct {
	conn uint64
	tags string
}

// clockSample is a wall time and the simulated time then.
type clockSample struct {
	wall    time.Time
	elapsed time.Duration
	rate    float64 // simulated seconds per wall second after it
}

// New returns an evaluator of sc's checks against eng. sc must be the
// resolved scenario eng runs.
func New(sc *scenarios.Scenario, eng Engine) (*Evaluator, error) {
	return newEvaluator(sc, eng, time.Now)
}

// newEvaluator is New with the wall clock now.
func newEvaluator(sc *scenarios.Scenario, eng Engine, now func() time.Time) (*Evaluator, error) {
	ev := &Evaluator{sc: sc, eng: eng, now: now, reads: map[readKey]int{}}
	ev.w = newWorld(sc, eng)
	for i := range sc.Checks {
		c := &sc.Checks[i]
		mk, ok := judges[c.Kind]
		if !ok {
			return nil, fmt.Errorf("check %s: unknown kind %q", c.Name, c.Kind)
		}
		j, err := mk(ev.w, c)
		if err != nil {
			return nil, fmt.Errorf("check %s: %w", c.Name, err)
		}
		ev.judges = append(ev.judges, j)
		ev.checks = append(ev.checks, c)
	}
	ev.w.judges = ev.judges
	ev.sample()
	return ev, nil
}

// Observe takes an entry of the client activity log (a clientlog.Log
// listener). It copies what it keeps and does not block for long.
func (ev *Evaluator) Observe(e clientlog.Entry) {
	ev.mu.Lock()
	defer ev.mu.Unlock()
	if ev.done {
		return
	}
	if e.Kind == clientlog.Read {
		k := readKey{conn: e.Conn, tags: tagKey(e.Tags)}
		if e.Exception == 0 && e.Reason == "" {
			if i, ok := ev.reads[k]; ok {
				p := &ev.pending[i]
				if e.Time.Sub(p.last) <= coalesceGap && e.Time.Sub(p.e.Time) <= coalesceSpan {
					p.gap = max(p.gap, e.Time.Sub(p.last))
					p.last = e.Time
					return
				}
			}
			ev.reads[k] = len(ev.pending)
		}
	}
	e.Tags = slices.Clone(e.Tags)
	e.Items = slices.Clone(e.Items)
	ev.pending = append(ev.pending, pendingEntry{e: e, last: e.Time, coals: e.Kind == clientlog.Read})
}

// tagKey is a map key for a list of tags.
func tagKey(tags []int) string {
	b := make([]byte, 0, 4*len(tags))
	for _, t := range tags {
		b = append(b, byte(t>>24), byte(t>>16), byte(t>>8), byte(t))
	}
	return string(b)
}

// Run judges entries and events as the twin runs, Settle after they
// happened, until ctx is done. Without Run, Finish judges everything at
// once (with the engine's clock sampled only then).
func (ev *Evaluator) Run(ctx context.Context) {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		ev.mu.Lock()
		if !ev.done {
			ev.sample()
			ev.process(ev.now().Add(-Settle))
		}
		ev.mu.Unlock()
	}
}

// Finish judges every check over the run until now, and stops taking
// entries. Calling it again returns the same verdicts.
func (ev *Evaluator) Finish() *Report {
	ev.mu.Lock()
	defer ev.mu.Unlock()
	st := ev.eng.Status()
	if !ev.done {
		ev.sample()
		ev.process(time.Time{})
		ev.done = true
		ev.w.end = st.Elapsed.D()
	}
	rep := &Report{Scenario: ev.sc.Name, Elapsed: scenarios.Duration(ev.w.end)}
	for i, j := range ev.judges {
		r := j.verdict(ev.w, ev.w.end)
		c := ev.checks[i]
		r.Name, r.Kind, r.Description = c.Name, c.Kind, c.Description
		if len(r.Details) > maxDetails {
			n := len(r.Details) - maxDetails
			r.Details = append(r.Details[:maxDetails], fmt.Sprintf("… and %d more", n))
		}
		rep.Results = append(rep.Results, r)
	}
	return rep
}

// sample records the engine's clock now and reads its new events.
// Called with mu held.
func (ev *Evaluator) sample() {
	now := ev.now()
	st := ev.eng.Status()
	rate := st.TimeScale * st.Speed
	if st.Paused {
		rate = 0
	}
	ev.clock = append(ev.clock, clockSample{wall: now, elapsed: st.Elapsed.D(), rate: rate})
	evs, next := ev.eng.Events(ev.cursor)
	ev.cursor = next
	for _, e := range evs {
		switch e.Kind {
		case twin.EventInject, twin.EventClear, twin.EventExpire:
			ev.events = append(ev.events, e)
		}
	}
}

// elapsed places wall time t in simulated time. Called with mu held.
func (ev *Evaluator) elapsed(t time.Time) time.Duration {
	i := sort.Search(len(ev.clock), func(i int) bool { return ev.clock[i].wall.After(t) })
	if i == 0 {
		return ev.clock[0].elapsed
	}
	s := ev.clock[i-1]
	d := s.elapsed + time.Duration(float64(t.Sub(s.wall))*s.rate)
	if i < len(ev.clock) {
		d = min(d, ev.clock[i].elapsed)
	}
	return d
}

// process judges the entries and events that happened before until (all
// when zero), in the order they happened. Called with mu held.
func (ev *Evaluator) process(until time.Time) {
	due := func(t time.Time) bool { return until.IsZero() || !t.After(until) }
	var ready, keep []pendingEntry
	for _, p := range ev.pending {
		if due(p.e.Time) {
			ready = append(ready, p)
		} else {
			keep = append(keep, p)
		}
	}
	ev.pending = keep
	clear(ev.reads)
	for i, p := range ev.pending {
		if p.coals && p.e.Exception == 0 && p.e.Reason == "" {
			ev.reads[readKey{p.e.Conn, tagKey(p.e.Tags)}] = i
		}
	}
	var evs []twin.Event
	n := 0
	for _, e := range ev.events {
		if due(e.Time) {
			evs = append(evs, e)
		} else {
			ev.events[n] = e
			n++
		}
	}
	ev.events = ev.events[:n]
	slices.SortStableFunc(ready, func(a, b pendingEntry) int { return a.e.Time.Compare(b.e.Time) })
	k := 0
	for _, p := range ready {
		for k < len(evs) && !evs[k].Time.After(p.e.Time) {
			ev.w.event(&evs[k])
			k++
		}
		a := &act{Entry: p.e, at: ev.elapsed(p.e.Time), last: ev.elapsed(p.last), gap: time.Duration(float64(p.gap) * ev.rateAt(p.e.Time))}
		ev.w.entry(a)
	}
	for ; k < len(evs); k++ {
		ev.w.event(&evs[k])
	}
	// Keep the clock samples still needed.
	if len(ev.clock) > 2 && !until.IsZero() {
		i := sort.Search(len(ev.clock), func(i int) bool { return ev.clock[i].wall.After(until.Add(-time.Second)) })
		if i > 1 {
			ev.clock = slices.Delete(ev.clock, 0, i-1)
		}
	}
}

// rateAt is the simulated seconds per wall second at t.
func (ev *Evaluator) rateAt(t time.Time) float64 {
	i := sort.Search(len(ev.clock), func(i int) bool { return ev.clock[i].wall.After(t) })
	if i == 0 {
		return ev.clock[0].rate
	}
	return ev.clock[i-1].rate
}

// matches reports whether client pattern pat (a glob; "" matches every
// client) matches a client by its host, peer address, session name or
// user.
func matches(pat string, c *client, e *clientlog.Entry) bool {
	if pat == "" {
		return true
	}
	for _, s := range []string{c.host, e.Peer, e.Client, e.User} {
		if s == "" {
			continue
		}
		if ok, _ := path.Match(pat, s); ok {
			return true
		}
	}
	return false
}

// at formats a simulated time as an offset: "+1m2.5s".
func at(d time.Duration) string { return "+" + d.Round(time.Millisecond).String() }

// result is a Result with a formatted message.
func result(s Status, format string, args ...any) Result {
	return Result{Status: s, Message: fmt.Sprintf(format, args...)}
}

// worst returns the worst of statuses: failed, then undecided, then never
// fired, then passed.
func worst(ss ...Status) Status {
	rank := map[Status]int{Passed: 0, NeverFired: 1, Undecided: 2, Failed: 3}
	return slices.MaxFunc(ss, func(a, b Status) int { return cmp.Compare(rank[a], rank[b]) })
}
