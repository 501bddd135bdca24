// Package workshop runs role-based training on a live twin: it plays a
// scenario's exercises (faults at offsets, with the response expected of
// each role), follows the alerts the collector raises and what every
// participant does about them, keeps a live scoreboard, and writes the
// debrief. It lives in cmd because it joins both halves: the twin's
// faults and the monitoring side's alerts.
package workshop

import (
	"cmp"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/otwin/otwin/normalize"
	"github.com/otwin/otwin/scenarios"
	"github.com/otwin/otwin/twin"
)

// Twin is what the workshop needs of the engine.
type Twin interface {
	InjectNamed(name string) error
	Clear(name string) error
	Status() twin.Status
	Events(since int) ([]twin.Event, int)
}

// Action is something a participant did.
type Action struct {
	Time time.Time
	User string
	Role string
	// Kind is acknowledge, shelve, comment, inject, clear, clock or login.
	Kind string
	// Target is the alert id or fault name.
	Target string
	// AlertTarget is the alert's tag or source, when Target is an alert.
	AlertTarget string
	Comment     string
	// Refused says the action was refused by the participant's role, and
	// why.
	Refused string
	// Failed says the action was allowed but not carried out (the store
	// answered "nothing to acknowledge", the twin "not active"), and why.
	// Only actions with neither Refused nor Failed count.
	Failed string
}

// accepted reports whether the action was carried out.
func (a *Action) accepted() bool { return a.Refused == "" && a.Failed == "" }

// Participant is one person in the workshop: everyone in the users file
// (the roster), whether they came or not.
type Participant struct {
	User string
	Role string
	// Joined is when they first opened a session (zero: never).
	Joined time.Time
	// Online is whether the participant has a session open.
	Online bool
	// Recordings are their sessions' screen recordings.
	Recordings []Recording

	sessions int // open sessions: one person may have several
}

// Recording is one session's screen recording (asciicast v2).
type Recording struct {
	// Path is the file.
	Path string
	// Start is the wall time of the recording's offset 0; End is when the
	// session closed (zero while it is open).
	Start, End time.Time
}

// covers reports whether the recording runs at t.
func (r *Recording) covers(t time.Time) bool {
	return !t.Before(r.Start) && (r.End.IsZero() || !t.After(r.End))
}

// Member is one entry of the roster.
type Member struct{ User, Role string }

// Score is one participant's line of the scoreboard.
type Score struct {
	User string
	Role string
	// AlertsSeen counts alerts raised since the participant first joined
	// (also while they were offline) and the scenario clock first ran.
	AlertsSeen int
	// Acks counts accepted acknowledgements; MeanAck is their mean time
	// from the alert's activation, in scenario time.
	Acks    int
	MeanAck time.Duration
	// Comments counts comments, and acknowledgements and shelvings with a
	// comment.
	Comments int
	// Refused counts refused actions.
	Refused int
}

// run is one exercise being played.
type run struct {
	ex      *scenarios.Exercise
	started time.Duration // simulated elapsed at start
	startAt time.Time
	fired   []time.Time // wall time each step's fault fired (zero: not yet)
	// firedSim is the scenario time each step's fault fired.
	firedSim []time.Duration
}

// alertRecord follows one alert through the workshop.
type alertRecord struct {
	ID, Target, Kind, Message string
	Raised                    []time.Time
	Cleared                   []time.Time
}

// Workshop is the state of a running workshop. Safe for concurrent use.
type Workshop struct {
	sc  *scenarios.Scenario
	tw  Twin
	now func() time.Time

	advMu        sync.Mutex // serializes Advance
	mu           sync.Mutex
	started      time.Time
	goAt         time.Time // when the scenario clock first ran
	ended        time.Time // End was called
	clock        simClock
	participants map[string]*Participant
	actions      []Action
	alerts       map[string]*alertRecord
	alertState   map[string]normalize.AlertState
	runs         []*run
	events       []twin.Event
	cursor       int
}

// New prepares a workshop on scenario sc played by tw.
func New(sc *scenarios.Scenario, tw Twin, now func() time.Time) *Workshop {
	if now == nil {
		now = time.Now
	}
	return &Workshop{
		sc: sc, tw: tw, now: now, started: now(),
		participants: map[string]*Participant{},
		alerts:       map[string]*alertRecord{},
		alertState:   map[string]normalize.AlertState{},
	}
}

// Exercises are the scenario's exercise names.
func (w *Workshop) Exercises() []string {
	var names []string
	for _, ex := range w.sc.Exercises {
		names = append(names, ex.Name)
	}
	return names
}

// StartExercise starts playing the named exercise from now (in simulated
// time: pausing the twin pauses the exercise).
func (w *Workshop) StartExercise(name string) error {
	for i := range w.sc.Exercises {
		ex := &w.sc.Exercises[i]
		if ex.Name != name {
			continue
		}
		w.mu.Lock()
		defer w.mu.Unlock()
		for _, r := range w.runs {
			if r.ex.Name == name && !r.done() {
				return fmt.Errorf("exercise %q is already running", name)
			}
		}
		now := w.now()
		elapsed := w.markLocked(now)
		w.runs = append(w.runs, &run{ex: ex, started: elapsed, startAt: now, fired: make([]time.Time, len(ex.Steps)), firedSim: make([]time.Duration, len(ex.Steps))})
		return nil
	}
	return fmt.Errorf("no exercise %q (have: %s)", name, strings.Join(w.Exercises(), ", "))
}

func (r *run) done() bool {
	for _, f := range r.fired {
		if f.IsZero() {
			return false
		}
	}
	return true
}

// Advance fires the exercise steps that are due and collects the twin's
// new events. Call it periodically (every ~100ms); it returns the errors
// of faults that could not be injected.
func (w *Workshop) Advance() []error {
	// One Advance at a time (the follow loop and a debrief may both call
	// it): the event cursor moves in order and no event is taken twice.
	w.advMu.Lock()
	defer w.advMu.Unlock()
	var due []string
	w.mu.Lock()
	now := w.now()
	elapsed := w.markLocked(now)
	for _, r := range w.runs {
		for i, st := range r.ex.Steps {
			if r.fired[i].IsZero() && elapsed-r.started >= st.At.D() {
				r.fired[i], r.firedSim[i] = now, elapsed
				due = append(due, st.Fault)
			}
		}
	}
	w.mu.Unlock()
	var errs []error
	for _, f := range due {
		if err := w.tw.InjectNamed(f); err != nil {
			errs = append(errs, fmt.Errorf("exercise fault %s: %w", f, err))
		}
	}
	w.mu.Lock()
	cursor := w.cursor
	w.mu.Unlock()
	evs, next := w.tw.Events(cursor)
	w.mu.Lock()
	w.events = append(w.events, evs...)
	w.cursor = next
	for _, e := range evs {
		// An exercise's fault fired at the twin's own instant.
		if e.Kind == "inject" {
			w.settleFired(e)
		}
	}
	w.mu.Unlock()
	return errs
}

// settleFired takes the twin's time of an exercise fault's injection as
// the step's: the twin knows when it injected better than the loop that
// asked it to.
func (w *Workshop) settleFired(e twin.Event) {
	for _, r := range w.runs {
		for i, st := range r.ex.Steps {
			if st.Fault == e.Fault && !r.fired[i].IsZero() && e.Time.Sub(r.fired[i]).Abs() < time.Second && e.Elapsed.D() >= r.firedSim[i]-time.Second {
				r.fired[i], r.firedSim[i] = e.Time, e.Elapsed.D()
			}
		}
	}
}

// markLocked reads the twin's clock at now, notes when the clock first ran
// (the trainer's "go"), and returns the scenario time. Called with w.mu
// held.
func (w *Workshop) markLocked(now time.Time) time.Duration {
	st := w.tw.Status()
	elapsed := st.Elapsed.D()
	rate := 0.0
	if !st.Paused {
		rate = cmp.Or(st.Speed, 1) * cmp.Or(st.TimeScale, 1)
	}
	w.clock.add(now, elapsed, rate)
	if w.goAt.IsZero() && !st.Paused {
		w.goAt = now
	}
	return elapsed
}

// Paused reports whether the workshop waits for the trainer's "go": the
// scenario clock has never run yet.
func (w *Workshop) Paused() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.markLocked(w.now())
	return w.goAt.IsZero()
}

// End marks the workshop over: expectations whose window is still open
// become missed in the debrief, and open recordings end now.
func (w *Workshop) End() {
	w.Advance()
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ended.IsZero() {
		w.ended = w.now()
		w.markLocked(w.ended)
	}
}

// SetRoster lists everyone who may take part (the users file): the
// scoreboard shows them all, online or not. A later call (the users file
// reloaded) adds newcomers, updates the role of those not online, and
// drops those removed who never joined.
func (w *Workshop) SetRoster(members []Member) {
	w.mu.Lock()
	defer w.mu.Unlock()
	listed := map[string]bool{}
	for _, m := range members {
		listed[m.User] = true
		p := w.participants[m.User]
		if p == nil {
			w.participants[m.User] = &Participant{User: m.User, Role: m.Role}
			continue
		}
		if !p.Online {
			p.Role = m.Role
		}
	}
	for name, p := range w.participants {
		if !listed[name] && p.Joined.IsZero() {
			delete(w.participants, name)
		}
	}
}

// AddRecording notes a session's recording, started at start.
func (w *Workshop) AddRecording(user, path string, start time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if p := w.participants[user]; p != nil {
		p.Recordings = append(p.Recordings, Recording{Path: path, Start: start})
	}
}

// EndRecording notes that the session recorded into path closed.
func (w *Workshop) EndRecording(user, path string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if p := w.participants[user]; p != nil {
		for i := range p.Recordings {
			if p.Recordings[i].Path == path && p.Recordings[i].End.IsZero() {
				p.Recordings[i].End = w.now()
			}
		}
	}
}

// Join records that user (with role) opened a session. Each Join is
// matched by one Leave; a user with several sessions stays online until
// the last one closes.
func (w *Workshop) Join(user, role string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	p := w.participants[user]
	if p == nil {
		p = &Participant{User: user, Role: role}
		w.participants[user] = p
	}
	if p.Joined.IsZero() {
		p.Joined = w.now()
	}
	p.sessions++
	p.Role, p.Online = role, true
}

// Leave records that user closed one of their sessions.
func (w *Workshop) Leave(user string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if p := w.participants[user]; p != nil && p.sessions > 0 {
		p.sessions--
		p.Online = p.sessions > 0
	}
}

// Record adds a participant's action.
func (w *Workshop) Record(a Action) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if a.Time.IsZero() {
		a.Time = w.now()
	}
	w.markLocked(a.Time)
	if a.AlertTarget == "" {
		if r := w.alerts[a.Target]; r != nil {
			a.AlertTarget = r.Target
		}
	}
	w.actions = append(w.actions, a)
}

// alertTarget is the tag or source of the alert an action is about. An
// action may arrive before the workshop has seen its alert (a quick ack
// races the workshop's own store subscription), so it is resolved when
// asked: from the action, else the alert seen since, else the alert id
// ("<kind>:<target>"). Called with w.mu held.
func (w *Workshop) alertTarget(a Action) string {
	if a.AlertTarget != "" {
		return a.AlertTarget
	}
	if r := w.alerts[a.Target]; r != nil && r.Target != "" {
		return r.Target
	}
	if _, target, ok := strings.Cut(a.Target, ":"); ok {
		return target
	}
	return ""
}

// ObserveAlerts follows alert changes from the live store: raises (entering
// ActiveUnacked from Normal or RTN) and clears.
func (w *Workshop) ObserveAlerts(alerts []normalize.Alert) {
	w.mu.Lock()
	defer w.mu.Unlock()
	now := w.now()
	w.markLocked(now)
	for _, a := range alerts {
		prev := w.alertState[a.ID]
		w.alertState[a.ID] = a.State
		r := w.alerts[a.ID]
		if r == nil {
			r = &alertRecord{ID: a.ID, Target: a.Target, Kind: string(a.Kind)}
			w.alerts[a.ID] = r
		}
		r.Message = a.Message
		active := a.State == normalize.ActiveUnacked || a.State == normalize.ActiveAcked
		wasActive := prev == normalize.ActiveUnacked || prev == normalize.ActiveAcked
		switch {
		case active && !wasActive:
			at := a.LastActive
			if at.IsZero() {
				at = now
			}
			r.Raised = append(r.Raised, at)
		case !active && wasActive:
			at := a.Cleared
			if at.IsZero() {
				at = now
			}
			r.Cleared = append(r.Cleared, at)
		}
	}
}

// Participants lists the roster and everyone who joined, by name.
func (w *Workshop) Participants() []Participant {
	w.mu.Lock()
	defer w.mu.Unlock()
	var ps []Participant
	for _, p := range w.participants {
		ps = append(ps, *p)
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i].User < ps[j].User })
	return ps
}

// Scoreboard is the live scoreboard, one line per participant.
func (w *Workshop) Scoreboard() []Score {
	w.mu.Lock()
	defer w.mu.Unlock()
	scores := map[string]*Score{}
	var order []string
	for _, p := range w.participants {
		scores[p.User] = &Score{User: p.User, Role: p.Role}
		order = append(order, p.User)
		// Alerts raised while the participant was there and the scenario
		// clock had started: a clock held still before the go makes the
		// collector call noisy values frozen, which nobody is to answer.
		if p.Joined.IsZero() || w.goAt.IsZero() {
			continue
		}
		from := p.Joined
		if w.goAt.After(from) {
			from = w.goAt
		}
		for _, r := range w.alerts {
			for _, t := range r.Raised {
				if !t.Before(from) {
					scores[p.User].AlertsSeen++
				}
			}
		}
	}
	var sums = map[string]time.Duration{}
	for _, a := range w.actions {
		s := scores[a.User]
		if s == nil {
			continue
		}
		if a.Refused != "" {
			s.Refused++
			continue
		}
		if !a.accepted() {
			continue // not carried out: nothing to credit
		}
		if a.Kind == "comment" || ((a.Kind == "acknowledge" || a.Kind == "shelve") && a.Comment != "") {
			s.Comments++
		}
		if a.Kind == "acknowledge" {
			s.Acks++
			if d, ok := w.ackTime(a); ok {
				sums[a.User] += d
			}
		}
	}
	sort.Strings(order)
	out := make([]Score, 0, len(order))
	for _, u := range order {
		s := scores[u]
		if s.Acks > 0 {
			s.MeanAck = sums[u] / time.Duration(s.Acks)
		}
		out = append(out, *s)
	}
	return out
}

// ackTime is the scenario time from the activation of the alert a
// acknowledges to a. Called with w.mu held.
func (w *Workshop) ackTime(a Action) (time.Duration, bool) {
	r := w.alerts[a.Target]
	if r == nil {
		return 0, false
	}
	raised := lastBefore(r.Raised, a.Time)
	if raised.IsZero() {
		return 0, false
	}
	return w.clock.span(raised, a.Time), true
}

// lastBefore is the latest time in ts not after t.
func lastBefore(ts []time.Time, t time.Time) time.Time {
	var best time.Time
	for _, x := range ts {
		if !x.After(t) && x.After(best) {
			best = x
		}
	}
	return best
}

// relates reports whether an alert target concerns a fault target: a tag
// fault "machine/tag" matches the tag id ending in "/machine/tag", and the
// same tag read over another protocol ("/machine/tag.modbus", as the
// exported sources name a tag served twice); a machine fault matches any
// tag of the machine and the machine's sources ("machine-opcua").
func relates(alertTarget, faultTarget string) bool {
	if strings.Contains(faultTarget, "/") {
		if alertTarget == faultTarget || strings.HasSuffix(alertTarget, "/"+faultTarget) {
			return true
		}
		i := strings.LastIndex(alertTarget, "/"+faultTarget+".")
		return i >= 0 && !strings.Contains(alertTarget[i+len(faultTarget)+2:], "/")
	}
	if strings.HasPrefix(alertTarget, faultTarget+"-") {
		return true
	}
	for _, seg := range strings.Split(alertTarget, "/") {
		if seg == faultTarget {
			return true
		}
	}
	return false
}

// ExerciseState is how far an exercise has got.
type ExerciseState struct {
	Name        string
	Description string
	// Steps is the number of steps; Fired how many of the latest run fired.
	Steps, Fired int
	// Running is true while a started run has steps to fire.
	Running bool
}

// ExerciseStates lists every exercise of the scenario with its progress.
func (w *Workshop) ExerciseStates() []ExerciseState {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []ExerciseState
	for i := range w.sc.Exercises {
		ex := &w.sc.Exercises[i]
		st := ExerciseState{Name: ex.Name, Description: ex.Description, Steps: len(ex.Steps)}
		for _, r := range w.runs {
			if r.ex != ex {
				continue
			}
			st.Fired = 0
			for _, f := range r.fired {
				if !f.IsZero() {
					st.Fired++
				}
			}
			st.Running = !r.done()
		}
		out = append(out, st)
	}
	return out
}

// RaisedAlert is an alert the workshop saw raised.
type RaisedAlert struct {
	ID, Kind, Target, Message string
	Raised                    time.Time
}

// FaultTarget is the target of the scenario's fault name ("" when the
// scenario has no such fault).
func (w *Workshop) FaultTarget(name string) string {
	for _, f := range w.sc.Faults {
		if f.Name == name {
			return f.Target
		}
	}
	return ""
}

// RelatedAlerts lists the alerts raised at or after since whose tag or
// source concerns the fault target (a tag "machine/tag" or a machine),
// first raised first.
func (w *Workshop) RelatedAlerts(target string, since time.Time) []RaisedAlert {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []RaisedAlert
	for _, r := range w.alerts {
		if !relates(r.Target, target) {
			continue
		}
		for _, t := range r.Raised {
			if !t.Before(since) {
				out = append(out, RaisedAlert{ID: r.ID, Kind: r.Kind, Target: r.Target, Message: r.Message, Raised: t})
				break
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Raised.Before(out[j].Raised) })
	return out
}

// Fired returns the wall time the step-th step of the latest run of
// exercise fired (zero: not yet, or never started).
func (w *Workshop) Fired(exercise string, step int) time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	for i := len(w.runs) - 1; i >= 0; i-- {
		r := w.runs[i]
		if r.ex.Name == exercise && step < len(r.fired) {
			return r.fired[step]
		}
	}
	return time.Time{}
}

// Scenario is the workshop's scenario.
func (w *Workshop) Scenario() *scenarios.Scenario { return w.sc }

// SimSpan is the scenario time that passed from wall time t1 to t2, as
// far as the workshop's readings of the clock tell (0 when t2 is not
// after t1).
func (w *Workshop) SimSpan(t1, t2 time.Time) time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.clock.span(t1, t2)
}

// Relates reports whether an alert's tag or source concerns a fault's
// target: a tag fault "machine/tag" the tag id ending in it, a machine
// fault any tag of the machine and its sources ("machine-opcua").
func Relates(alertTarget, faultTarget string) bool { return relates(alertTarget, faultTarget) }
