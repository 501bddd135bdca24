package alarms

import (
	"math"
	"slices"
	"time"

	"github.com/otwin/otwin/scenarios"
	"github.com/otwin/otwin/twin"
)

// State is an alarm's condition state after an event.
type State struct {
	// Active: the condition holds (after its delays).
	Active bool `json:"active"`
	// Limit is an active limit alarm's limit state (the most severe limit
	// exceeded: HighHigh, LowLow, High, Low); "" otherwise.
	Limit string `json:"limit,omitempty"`
	// Limits are the limits exceeded (both kinds of limit alarm; a
	// non-exclusive one serves each), in the order HighHigh, High, Low,
	// LowLow.
	Limits []string `json:"limits,omitempty"`
	// Acked: acknowledged (true while nothing needs acknowledgement).
	Acked bool `json:"acked"`
	// Confirmed: confirmed (true while nothing needs confirmation, and
	// always for an alarm that is not confirmable).
	Confirmed bool `json:"confirmed"`
	// Latched: a latching alarm that went active and was not reset.
	Latched bool `json:"latched,omitempty"`
	// Retain: active, latched, unacknowledged or unconfirmed; what an
	// alarm list shows and ConditionRefresh sends.
	Retain bool `json:"retain"`
	// Severity is 1-1000.
	Severity uint16 `json:"severity"`
	// Message describes the state, e.g. "CO2 pressure (HighHigh)".
	Message string `json:"message"`
	// Comment and User are the last acknowledgement's, confirmation's or
	// reset's.
	Comment string `json:"comment,omitempty"`
	User    string `json:"user,omitempty"`
	// Value and Status are the tag's when the state was last evaluated
	// into an event; Value is nil for a number that is not finite.
	Value  any    `json:"value"`
	Status uint32 `json:"status"`
	// ActiveTime, AckedTime, ConfirmedTime and LatchedTime are the wall
	// times of the last change of each state (zero: never changed).
	ActiveTime    time.Time `json:"active_time,omitzero"`
	AckedTime     time.Time `json:"acked_time,omitzero"`
	ConfirmedTime time.Time `json:"confirmed_time,omitzero"`
	LatchedTime   time.Time `json:"latched_time,omitzero"`
	// EventID is the id of the latest event (nil before the first), Time
	// when it happened.
	EventID EventID   `json:"event_id,omitempty"`
	Time    time.Time `json:"time,omitzero"`
}

func (st State) clone() State {
	st.Limits = slices.Clone(st.Limits)
	return st
}

// Event causes.
const (
	CauseActive   = "active"   // the condition went active
	CauseLimit    = "limit"    // an active limit alarm's limit changed
	CauseInactive = "inactive" // the condition cleared
	CauseAck      = "acknowledge"
	CauseConfirm  = "confirm"
	CauseReset    = "reset" // a latched alarm was reset
)

// Event is one change of an alarm's state.
type Event struct {
	// Seq numbers the events of the Set from 0 (the cursor of Events).
	Seq uint64 `json:"seq"`
	// Alarm is the alarm's index, Name its name.
	Alarm int    `json:"-"`
	Name  string `json:"alarm"`
	// Cause is what changed (Cause* constants).
	Cause string `json:"cause"`
	// Time is the wall time of the change: the tick's for changes of the
	// condition, the call's for acknowledgements and the like.
	Time time.Time `json:"time"`
	// Elapsed is the simulated time since the scenario start, for changes
	// of the condition; 0 for operator actions.
	Elapsed scenarios.Duration `json:"elapsed,omitempty"`
	// State is the alarm's state after the change; State.EventID is the
	// event's id.
	State State `json:"state"`
}

// timedBit is one condition with its on- and off-delay.
type timedBit struct {
	raw     bool // the condition, before delays
	on      bool // after delays
	pending bool // raw != on since since
	since   time.Duration
}

// update applies the condition raw at elapsed and reports whether the
// delayed state changed.
func (b *timedBit) update(raw bool, elapsed, onDelay, offDelay time.Duration) bool {
	b.raw = raw
	if raw == b.on {
		b.pending = false
		return false
	}
	if !b.pending {
		b.pending, b.since = true, elapsed
	}
	d := offDelay
	if raw {
		d = onDelay
	}
	if elapsed-b.since >= d {
		b.on, b.pending = raw, false
		return true
	}
	return false
}

// alarmState is an alarm's evaluation state and condition state.
type alarmState struct {
	info *Info
	bits []timedBit // one per level of a limit alarm, else one
	State
	seq         uint32 // events of this alarm
	ackFrom     uint32 // first event of the current need for acknowledgement
	confirmFrom uint32 // first event of the current need for confirmation
}

func (a *alarmState) init(info *Info) {
	a.info = info
	n := 1
	if info.Kind == scenarios.AlarmLimit {
		n = len(info.Levels)
	}
	a.bits = make([]timedBit, n)
	a.Acked, a.Confirmed, a.Severity = true, true, info.Severity
	a.Message = info.Message + " (normal)"
}

// tick evaluates every alarm on the tick's values. It runs in the
// engine's tick (twin.Engine.OnTick).
func (s *Set) tick(ti twin.TickInfo) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.st {
		a := &s.st[i]
		v := s.src.Value(a.info.Tag)
		if !a.evaluate(v, ti.Elapsed) {
			continue
		}
		a.Value, a.Status = finite(v.V), v.Status
		s.transition(i, ti)
	}
}

// evaluate updates the conditions from v and reports whether the delayed
// state changed.
func (a *alarmState) evaluate(v twin.Value, elapsed time.Duration) bool {
	in := a.info
	bad := v.Status>>30 == 2
	changed := false
	switch in.Kind {
	case scenarios.AlarmQuality:
		cond := bad
		if in.Quality == scenarios.QualityNotGood {
			cond = v.Status>>30 != 0
		}
		changed = a.bits[0].update(cond, elapsed, in.OnDelay.D(), in.OffDelay.D())
	case scenarios.AlarmLimit:
		x, ok := number(v.V)
		for k, l := range in.Levels {
			b := &a.bits[k]
			raw := b.raw
			if !bad && ok {
				raw = exceeds(x, l, b.raw, in.Deadband)
			}
			if b.update(raw, elapsed, in.OnDelay.D(), in.OffDelay.D()) {
				changed = true
			}
		}
	default:
		raw := a.bits[0].raw
		if !bad && v.V != nil {
			raw = slices.Contains(in.Values, v.V)
			if in.Kind == scenarios.AlarmOffNormal {
				raw = !raw
			}
		}
		changed = a.bits[0].update(raw, elapsed, in.OnDelay.D(), in.OffDelay.D())
	}
	return changed
}

// exceeds reports whether x is beyond limit l, with hysteresis: a limit
// exceeded (was) clears once x is back inside by deadband.
func exceeds(x float64, l scenarios.AlarmLevel, was bool, deadband float64) bool {
	switch {
	case l.High && was:
		return x > l.Limit-deadband
	case l.High:
		return x > l.Limit
	case was:
		return x < l.Limit+deadband
	}
	return x < l.Limit
}

// number is a numeric value as float64 (scenarios.Float); NaN and
// non-numbers are not.
func number(v any) (float64, bool) {
	f, ok := scenarios.Float(v)
	return f, ok && !math.IsNaN(f)
}

// finite is v, or nil for a NaN or infinite float (JSON has neither).
func finite(v any) any {
	switch x := v.(type) {
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil
		}
	case float32:
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return nil
		}
	}
	return v
}

// severityRank orders limit states for the exclusive limit state.
var severityRank = map[string]int{scenarios.LimitHighHigh: 4, scenarios.LimitLowLow: 3, scenarios.LimitHigh: 2, scenarios.LimitLow: 1}

// transition turns alarm i's new delayed conditions into its condition
// state and an event. Called with s.mu held.
func (s *Set) transition(i int, ti twin.TickInfo) {
	a := &s.st[i]
	in := a.info
	var limits []string
	active := false
	for k, b := range a.bits {
		if b.on {
			active = true
			if in.Kind == scenarios.AlarmLimit {
				limits = append(limits, in.Levels[k].Name)
			}
		}
	}
	limit := ""
	for _, l := range limits {
		if severityRank[l] > severityRank[limit] {
			limit = l
		}
	}
	cause := ""
	switch {
	case active && !a.Active:
		cause = CauseActive
		a.Active, a.ActiveTime = true, ti.Time
		a.needAck(ti.Time, a.seq+1)
		if in.Latch {
			a.Latched, a.LatchedTime = true, ti.Time
		}
	case !active && a.Active:
		cause = CauseInactive
		a.Active, a.ActiveTime = false, ti.Time
	case active && (limit != a.Limit || !slices.Equal(limits, a.Limits)):
		cause = CauseLimit
		if severityRank[limit] > severityRank[a.Limit] && (limit == scenarios.LimitHighHigh || limit == scenarios.LimitLowLow) {
			a.needAck(ti.Time, a.seq+1)
		}
	default:
		return
	}
	a.Limit, a.Limits = limit, limits
	s.emit(i, cause, ti.Time, ti.Elapsed)
}

// needAck makes the alarm unacknowledged from event seq on.
func (a *alarmState) needAck(now time.Time, seq uint32) {
	if a.Acked {
		a.Acked, a.AckedTime, a.ackFrom = false, now, seq
	}
}

// message is the text of the alarm's current state.
func (a *alarmState) message() string {
	switch {
	case a.Active && a.Limit != "":
		return a.info.Message + " (" + a.Limit + ")"
	case a.Active:
		return a.info.Message
	case a.Latched:
		return a.info.Message + " (latched)"
	case !a.ActiveTime.IsZero():
		return a.info.Message + " (cleared)"
	}
	return a.info.Message + " (normal)"
}

// emit completes alarm i's state (message, retain, event id), logs the
// event and tells the watchers. Called with s.mu held.
func (s *Set) emit(i int, cause string, now time.Time, elapsed time.Duration) {
	a := &s.st[i]
	a.seq++
	a.Message = a.message()
	a.Retain = a.Active || a.Latched || !a.Acked || !a.Confirmed
	a.EventID, a.Time = s.eventID(i, a.seq), now
	present := a.Active || a.Latched
	if s.present[i].Swap(present) != present {
		s.version.Add(1)
	}
	ev := Event{Seq: s.seq, Alarm: i, Name: a.info.Name, Cause: cause, Time: now, Elapsed: scenarios.Duration(elapsed), State: a.State.clone()}
	s.seq++
	if len(s.evs) < s.max {
		s.evs = append(s.evs, ev)
	} else {
		s.evs[ev.Seq%uint64(s.max)] = ev
	}
	attrs := []any{"alarm", a.info.Name, "tag", a.info.TagName, "state", a.Message, "acked", a.Acked, "retain", a.Retain}
	if cause == CauseAck || cause == CauseConfirm || cause == CauseReset {
		attrs = append(attrs, "user", a.User, "comment", a.Comment)
	}
	s.log.Info("alarm "+cause, attrs...)
	s.notify()
}
