package store

import (
	"errors"
	"fmt"
	"time"

	"github.com/otwin/otwin/normalize"
)

// Alert ownership: an alert another system owns (normalize.Alert.Owner,
// normalize.AlertOwner) — an endpoint's own alarm relayed by its source's
// connector (an OPC UA server's condition), another collector's alert
// read from the backbone. The store keeps such alerts beside its own, in
// the same lifecycle, history and journal, but never decides their
// state: the owner's messages do. The API, the same for every kind of
// owner:
//
//   - PublishOwned(owner, states...): what the owner says of its alerts
//     (each its whole state, OwnedState); it becomes current.
//   - OwnerLost(owner, at, why): the link to the owner is lost; its
//     alerts keep their last state, marked not current
//     (normalize.Alert.NotCurrent), until the owner speaks again.
//   - OwnerRefreshStart(owner) / OwnerRefreshEnd(owner, at): the owner
//     resends every alert it retains; those it did not resend return to
//     normal.
//   - Act refuses ActAck on an owned alert with ErrOwned, naming the
//     owner: an acknowledgement goes to the owner (the caller routes it;
//     cmd/otwin's alertRoute does for the dashboard), whose next message
//     then says what became of it. Shelving and comments stay local, as
//     for the store's own alerts.
//
// An owner is named by a string unique among the store's owners: the
// source's name for an endpoint's alarms.

// ErrOwned says an action belongs to the alert's owner, not to the
// store (errors.Is; the error names the owner).
var ErrOwned = errors.New("the alert's state is held by its owner")

// OwnedState is an alert's whole state as its owner says it at one time
// (e.g. an OPC UA condition's event).
type OwnedState struct {
	// ID is the alert's id, stable per condition of the owner.
	ID string
	// Kind, Target, Severity and Message are the alert's (see
	// normalize.Alert).
	Kind     normalize.AlertKind
	Target   string
	Severity normalize.AlertSeverity
	Message  string
	// Ref is the owner's id of the alert (normalize.AlertOwner.Ref).
	Ref string
	// Active and Acked are the owner's lifecycle flags (Acked: nothing
	// to acknowledge); Confirmable, Confirmed and Retain as in
	// normalize.AlertOwner.
	Active, Acked, Confirmable, Confirmed, Retain bool
	// At is when the owner's state changed; ActiveAt and AckedAt when
	// Active and Acked last changed (zero: At).
	At, ActiveAt, AckedAt time.Time
	// User and Comment are the last acknowledgement's or confirmation's.
	User, Comment string
	// Refresh says the state is resent (a refresh), not a new change.
	Refresh bool
}

// ownedState is the lifecycle state the owner's flags make: Normal when
// the owner does not retain the alert, or only waits for a confirmation
// (the alert is then listed through Retain).
func (st *OwnedState) state() normalize.AlertState {
	switch {
	case !st.Retain:
		return normalize.Normal
	case st.Active && !st.Acked:
		return normalize.ActiveUnacked
	case st.Active:
		return normalize.ActiveAcked
	case !st.Acked:
		return normalize.RTNUnacked
	}
	return normalize.Normal
}

// PublishOwned takes what owner says of its alerts, in order: each
// becomes current, in the state the owner's flags make (see
// normalize.AlertOwner), and its transitions are recorded as the owner
// made them — raised when it went active (a new activation needs a new
// acknowledgement), cleared when it went inactive, acked and confirmed
// with the owner's user and comment, changed when an active alert's
// severity or message changed. An alert the owner does not retain
// returns to normal. A state of an alert the store does not know and the
// owner does not retain is ignored. It never blocks on a subscriber.
func (s *Store) PublishOwned(owner string, states ...OwnedState) {
	if len(states) == 0 {
		return
	}
	s.mu.Lock()
	for i := range states {
		s.alerts.own(owner, &states[i])
	}
	s.markAlertsLocked()
	s.mu.Unlock()
}

// OwnerLost marks every alert of owner not current from at, saying why:
// the link to the owner is lost. Their state stays as the owner last said
// it until the owner sends it again.
func (s *Store) OwnerLost(owner string, at time.Time, why string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range s.alerts.byID {
		if a.Owner != nil && a.Owner.Name == owner && a.Owner.Current {
			o := *a.Owner
			o.Current, o.Lost, o.Why = false, at, why
			a.Owner = &o
			s.alerts.dirty = append(s.alerts.dirty, a.ID)
		}
	}
	delete(s.alerts.refresh, owner)
	s.markAlertsLocked()
}

// OwnerRefreshStart says owner starts sending the state of every alert it
// retains (e.g. OPC UA ConditionRefresh after a reconnect).
func (s *Store) OwnerRefreshStart(owner string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.alerts.refresh == nil {
		s.alerts.refresh = make(map[string]map[string]struct{})
	}
	s.alerts.refresh[owner] = make(map[string]struct{})
}

// OwnerRefreshEnd says owner sent every alert it retains: its alerts it
// did not send since OwnerRefreshStart are not retained any more and
// return to normal at at (an active one is cleared, its history saying
// so). Without a refresh under way it does nothing.
func (s *Store) OwnerRefreshEnd(owner string, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	seen, ok := s.alerts.refresh[owner]
	if !ok {
		return
	}
	delete(s.alerts.refresh, owner)
	for _, a := range s.alerts.byID {
		if a.Owner == nil || a.Owner.Name != owner {
			continue
		}
		if _, sent := seen[a.ID]; sent {
			continue
		}
		delete(s.alerts.unconfirmed, a.ID)
		s.alerts.release(a, at, "not retained by "+owner+" after its refresh")
	}
	s.markAlertsLocked()
}

// own applies one state owner says of one of its alerts.
func (b *alertBook) own(owner string, st *OwnedState) {
	if seen, ok := b.refresh[owner]; ok {
		seen[st.ID] = struct{}{}
	}
	delete(b.unconfirmed, st.ID)
	a, known := b.byID[st.ID]
	if !known {
		if !st.Retain {
			return
		}
		a = &normalize.Alert{ID: st.ID, Kind: st.Kind, Target: st.Target, FirstActive: or(st.ActiveAt, st.At)}
		b.byID[st.ID] = a
	}
	prev := *a
	wasActive, wasAcked, wasConfirmed := prev.Active(), known && !prev.Unacked(), !prev.AwaitsConfirm()
	a.Kind, a.Target = st.Kind, st.Target
	a.Owner = &normalize.AlertOwner{
		Name: owner, Ref: st.Ref, Retain: st.Retain, Confirmable: st.Confirmable, Confirmed: st.Confirmed, Current: true,
	}
	a.State = st.state()
	activeAt := or(st.ActiveAt, st.At)
	recorded := false
	switch {
	case st.Active && !wasActive:
		if prev.State == normalize.Normal {
			a.AckedBy, a.AckedAt, a.Comment = "", time.Time{}, ""
		}
		a.Severity, a.Message, a.LastActive = st.Severity, st.Message, activeAt
		a.Count++
		b.record(a, normalize.EventRaised, activeAt, "", st.Message)
		recorded = true
	case !st.Active && wasActive:
		a.Severity, a.Message, a.Cleared = st.Severity, st.Message, activeAt
		b.record(a, normalize.EventCleared, activeAt, "", st.Message)
		recorded = true
		if a.Shelved && a.ShelvedOneShot {
			b.unshelve(a, "", activeAt)
		}
	case !known:
		// first seen inactive, retained for its acknowledgement or
		// confirmation: it was raised before this store knew of it
		a.Severity, a.Message, a.LastActive, a.Cleared, a.Count = st.Severity, st.Message, activeAt, activeAt, 1
		b.record(a, normalize.EventRaised, activeAt, "", st.Message)
		recorded = true
	case st.Active && (a.Severity != st.Severity || a.Message != st.Message):
		a.Severity, a.Message = st.Severity, st.Message
		b.record(a, normalize.EventChanged, st.At, "", st.Message)
		recorded = true
	}
	if st.Acked && !wasAcked && (known || st.User != "") {
		a.AckedBy, a.AckedAt, a.Comment = st.User, or(st.AckedAt, st.At), st.Comment
		if known {
			b.record(a, normalize.EventAcked, a.AckedAt, st.User, st.Comment)
			recorded = true
		}
	}
	if known && st.Confirmable && st.Confirmed && !wasConfirmed {
		b.record(a, normalize.EventConfirmed, st.At, st.User, st.Comment)
		recorded = true
	}
	if !recorded && !sameOwned(&prev, a) {
		b.dirty = append(b.dirty, a.ID)
	}
}

// release returns owned alert a to normal because its owner no longer
// retains it, saying why: a listed alert is cleared.
func (b *alertBook) release(a *normalize.Alert, at time.Time, why string) {
	listed := a.State != normalize.Normal || a.Retained()
	o := *a.Owner
	o.Retain, o.Current, o.Lost, o.Why = false, true, time.Time{}, ""
	a.Owner = &o
	if !listed {
		b.dirty = append(b.dirty, a.ID)
		return
	}
	a.State, a.Cleared = normalize.Normal, at
	b.record(a, normalize.EventCleared, at, "", why)
	if a.Shelved && a.ShelvedOneShot {
		b.unshelve(a, "", at)
	}
}

// sameOwned says the owner's view of an alert did not change.
func sameOwned(a, b *normalize.Alert) bool {
	if a.State != b.State || (a.Owner == nil) != (b.Owner == nil) {
		return false
	}
	return a.Owner == nil || *a.Owner == *b.Owner
}

// refuseOwned refuses an action that belongs to the owner of a.
func refuseOwned(a *normalize.Alert, x *Action) error {
	return fmt.Errorf("%s %s: %w, %s: send the %s there", x.Kind, a.ID, ErrOwned, a.Owner.Name, x.Kind)
}

// or is t, or alt when t is zero.
func or(t, alt time.Time) time.Time {
	if t.IsZero() {
		return alt
	}
	return t
}
