package alarms

import (
	"fmt"
)

// Status is an alarm with its current state (the control API's list).
type Status struct {
	Info
	// State is the alarm's current state.
	State State `json:"state"`
}

// List returns every alarm with its current state, in scenario order.
func (s *Set) List() []Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Status, len(s.infos))
	for i := range s.infos {
		out[i] = Status{Info: s.infos[i], State: s.st[i].State.clone()}
	}
	return out
}

// Action is an operator's action on an alarm: Acknowledge, Confirm or
// Reset.
type Action struct {
	// EventID names the event the operator saw; nil acts on the alarm's
	// current state (as an operator at the twin's own panel would).
	EventID []byte
	// Comment is the operator's comment.
	Comment string
	// User is who acted (an OPC UA user name, "anonymous", or what the
	// control API was told).
	User string
}

// Acknowledge acknowledges alarm i. Errors (wrapped, naming the alarm):
// ErrUnknownAlarm, ErrUnknownEvent, ErrAlreadyAcked. On success it
// returns the event it caused.
func (s *Set) Acknowledge(i int, act Action) (Event, error) {
	return s.act(i, act, CauseAck)
}

// Confirm confirms alarm i. Errors (wrapped, naming the alarm):
// ErrUnknownAlarm, ErrNotConfirmable, ErrUnknownEvent,
// ErrAlreadyConfirmed.
func (s *Set) Confirm(i int, act Action) (Event, error) {
	return s.act(i, act, CauseConfirm)
}

// Reset resets latched alarm i once its condition is gone. Errors
// (wrapped, naming the alarm): ErrUnknownAlarm, ErrNotLatching,
// ErrUnknownEvent, ErrStillActive, ErrNotLatched.
func (s *Set) Reset(i int, act Action) (Event, error) {
	return s.act(i, act, CauseReset)
}

func (s *Set) act(i int, act Action, cause string) (Event, error) {
	if i < 0 || i >= len(s.infos) {
		return Event{}, fmt.Errorf("alarm %d: %w", i, ErrUnknownAlarm)
	}
	in := &s.infos[i]
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	a := &s.st[i]
	if err := s.check(i, act.EventID, cause); err != nil {
		return Event{}, fmt.Errorf("%s %s: %w", cause, in.Name, err)
	}
	switch cause {
	case CauseAck:
		a.Acked, a.AckedTime = true, now
		if in.Confirm {
			a.Confirmed, a.ConfirmedTime, a.confirmFrom = false, now, a.seq+1
		}
	case CauseConfirm:
		a.Confirmed, a.ConfirmedTime = true, now
	case CauseReset:
		a.Latched, a.LatchedTime = false, now
	}
	a.Comment, a.User = act.Comment, act.User
	s.emit(i, cause, now, 0)
	return s.evs[(s.seq-1)%uint64(s.max)], nil
}

// check tells whether cause may act on alarm i, from the event id (nil:
// the current state). Called with s.mu held.
func (s *Set) check(i int, id []byte, cause string) error {
	in, a := &s.infos[i], &s.st[i]
	switch {
	case cause == CauseConfirm && !in.Confirm:
		return ErrNotConfirmable
	case cause == CauseReset && !in.Latch:
		return ErrNotLatching
	}
	seq := a.seq
	if id != nil {
		ai, n, ok := s.parseEventID(id)
		if !ok || ai != i || n == 0 || n > a.seq {
			return fmt.Errorf("%w %x", ErrUnknownEvent, id)
		}
		seq = n
	}
	switch cause {
	case CauseAck:
		if a.Acked || seq < a.ackFrom {
			return ErrAlreadyAcked
		}
	case CauseConfirm:
		if a.Confirmed || seq < a.confirmFrom {
			return ErrAlreadyConfirmed
		}
	case CauseReset:
		if a.Active {
			return ErrStillActive
		}
		if !a.Latched {
			return ErrNotLatched
		}
	}
	return nil
}

// Events returns the events with Seq >= since, oldest first, and the
// cursor to pass next time. The Set keeps the last Options.LogSize
// events; an older cursor gets the oldest kept.
func (s *Set) Events(since uint64) ([]Event, uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	oldest := s.seq - uint64(len(s.evs))
	since = max(since, oldest)
	if since >= s.seq {
		return nil, s.seq
	}
	out := make([]Event, 0, s.seq-since)
	for q := since; q < s.seq; q++ {
		out = append(out, s.evs[q%uint64(s.max)])
	}
	return out, s.seq
}

// Watcher follows a Set's events: C is signalled (never blocking the
// engine) after events, and Next returns those not read yet.
type Watcher struct {
	s    *Set
	c    chan struct{}
	next uint64
}

// Watch returns a watcher that starts after the events so far; Close it
// when done.
func (s *Set) Watch() *Watcher {
	w, _ := s.WatchStates()
	return w
}

// WatchStates returns a watcher and every alarm's state when it starts:
// the watcher's first events are the first changes after these states.
func (s *Set) WatchStates() (*Watcher, []State) {
	s.mu.Lock()
	defer s.mu.Unlock()
	w := &Watcher{s: s, c: make(chan struct{}, 1), next: s.seq}
	s.watchMu.Lock()
	s.watchers[w] = struct{}{}
	s.watchMu.Unlock()
	states := make([]State, len(s.st))
	for i := range s.st {
		states[i] = s.st[i].State.clone()
	}
	return w, states
}

// C is signalled after new events. It is never closed.
func (w *Watcher) C() <-chan struct{} { return w.c }

// Next returns the events since the last call, oldest first, and how
// many were lost because the Set no longer kept them.
func (w *Watcher) Next() (evs []Event, lost uint64) {
	evs, next := w.s.Events(w.next)
	if len(evs) > 0 && evs[0].Seq > w.next {
		lost = evs[0].Seq - w.next
	}
	w.next = next
	return evs, lost
}

// Close stops the notifications. Idempotent.
func (w *Watcher) Close() {
	w.s.watchMu.Lock()
	delete(w.s.watchers, w)
	w.s.watchMu.Unlock()
}

// notify signals every watcher.
func (s *Set) notify() {
	s.watchMu.Lock()
	defer s.watchMu.Unlock()
	for w := range s.watchers {
		select {
		case w.c <- struct{}{}:
		default:
		}
	}
}
