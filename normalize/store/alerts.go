package store

import (
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/otwin/otwin/normalize"
)

// The store alone owns the alerts: the rules' conditions (PublishConditions)
// and the users' actions (Act) are the only ways in, every transition goes
// through alertBook.record, which numbers it, keeps it in the change log
// and marks it for the subscribers, once. A durable store, alerts owned by
// another collector, or a new action plug in at those three places.

// Errors of the alert actions, wrapped with the alert id.
var (
	ErrUnknownAlert = errors.New("unknown alert")
	ErrNotAckable   = errors.New("nothing to acknowledge")
	ErrBadShelve    = errors.New("invalid shelve")
	ErrBadAction    = errors.New("unknown action")
)

// DefaultAlertHistory is how many alert changes a store keeps when
// Config.AlertHistory is 0.
const DefaultAlertHistory = 2000

// AlertChange is one transition of one alert: the event, and the alert
// after it.
type AlertChange struct {
	// Seq numbers the store's transitions from 1, in the order they were
	// made.
	Seq uint64
	// Event is the transition as the alert's history shows it.
	Event normalize.AlertEvent
	// Alert is the alert after the transition.
	Alert normalize.Alert
}

// ActionKind is what a user does to an alert.
type ActionKind string

// The actions.
const (
	// ActAck acknowledges: ActiveUnacked becomes ActiveAcked,
	// RTNUnacked becomes Normal.
	ActAck ActionKind = "ack"
	// ActShelve shelves: until Action.Until (timed), or one-shot until
	// the condition next clears (Until zero; the alert must be active).
	// A shelved alert still changes state; it is only flagged.
	ActShelve ActionKind = "shelve"
	// ActUnshelve ends a shelve; on an alert not shelved it changes
	// nothing.
	ActUnshelve ActionKind = "unshelve"
)

// Action is a user's action on an alert (see Store.Act).
type Action struct {
	// Kind of action.
	Kind ActionKind
	// AlertID is the alert acted on.
	AlertID string
	// User is who acts.
	User string
	// Comment is the acknowledgement's comment or the shelve's reason.
	Comment string
	// Until is the end of a timed shelve; zero shelves one-shot.
	Until time.Time
}

// alertBook is every alert's state after ISA-18.2 / OPC UA Part 9, and the
// log of the latest transitions. It is guarded by Store.mu.
type alertBook struct {
	byID map[string]*normalize.Alert
	log  []AlertChange // ring: change seq is at log[(seq-1)%len(log)]
	seq  uint64        // the newest change
	// dirty are the alerts changed since the store last marked them for
	// its subscribers.
	dirty []string
}

func newAlertBook(history int) alertBook {
	if history <= 0 {
		history = DefaultAlertHistory
	}
	return alertBook{byID: make(map[string]*normalize.Alert), log: make([]AlertChange, history)}
}

// record logs a transition of a.
func (b *alertBook) record(a *normalize.Alert, what string, at time.Time, user, comment string) {
	b.seq++
	b.log[(b.seq-1)%uint64(len(b.log))] = AlertChange{
		Seq:   b.seq,
		Event: normalize.AlertEvent{At: at, AlertID: a.ID, What: what, State: a.State, User: user, Comment: comment},
		Alert: *a,
	}
	b.dirty = append(b.dirty, a.ID)
}

// apply applies one condition: a raise makes a new or Normal alert
// ActiveUnacked (Count+1, a fresh acknowledgement) and a RTNUnacked one
// ActiveUnacked again (Count+1); a clear makes ActiveUnacked RTNUnacked
// and ActiveAcked Normal, and ends a one-shot shelve. A raise of an active
// alert or a clear of one not active changes nothing.
func (b *alertBook) apply(c *normalize.Condition) {
	id := c.ID()
	a, ok := b.byID[id]
	if c.Active {
		if !ok {
			a = &normalize.Alert{ID: id, Kind: c.Kind, Target: c.Target, FirstActive: c.At}
			b.byID[id] = a
		}
		if a.Active() {
			return
		}
		if a.State == normalize.Normal {
			a.AckedBy, a.AckedAt, a.Comment = "", time.Time{}, ""
		}
		a.State = normalize.ActiveUnacked
		a.Severity, a.Message, a.LastActive = c.Severity, c.Message, c.At
		a.Count++
		b.record(a, normalize.EventRaised, c.At, "", c.Message)
		return
	}
	if !ok || !a.Active() {
		return
	}
	if a.State == normalize.ActiveUnacked {
		a.State = normalize.RTNUnacked
	} else {
		a.State = normalize.Normal
	}
	a.Cleared = c.At
	b.record(a, normalize.EventCleared, c.At, "", "")
	if a.Shelved && a.ShelvedOneShot {
		b.unshelve(a, "", c.At)
	}
}

// act carries out x at time at.
func (b *alertBook) act(x *Action, at time.Time) (normalize.Alert, error) {
	a, ok := b.byID[x.AlertID]
	if !ok {
		return normalize.Alert{}, fmt.Errorf("%s %s: %w", x.Kind, x.AlertID, ErrUnknownAlert)
	}
	switch x.Kind {
	case ActAck:
		switch a.State {
		case normalize.ActiveUnacked:
			a.State = normalize.ActiveAcked
		case normalize.RTNUnacked:
			a.State = normalize.Normal
		default:
			return *a, fmt.Errorf("ack %s (%s): %w", a.ID, a.State, ErrNotAckable)
		}
		a.AckedBy, a.AckedAt, a.Comment = x.User, at, x.Comment
		b.record(a, normalize.EventAcked, at, x.User, x.Comment)
	case ActShelve:
		switch {
		case x.Until.IsZero() && !a.Active():
			return *a, fmt.Errorf("shelve %s: one-shot shelving needs an active alert: %w", a.ID, ErrBadShelve)
		case !x.Until.IsZero() && !x.Until.After(at):
			return *a, fmt.Errorf("shelve %s: until %s is not in the future: %w", a.ID, x.Until.Format(time.RFC3339), ErrBadShelve)
		}
		a.Shelved, a.ShelvedOneShot, a.ShelvedUntil = true, x.Until.IsZero(), x.Until
		a.ShelvedBy, a.ShelveReason = x.User, x.Comment
		b.record(a, normalize.EventShelved, at, x.User, x.Comment)
	case ActUnshelve:
		if a.Shelved {
			b.unshelve(a, x.User, at)
		}
	default:
		return *a, fmt.Errorf("%s %s: %w", x.Kind, a.ID, ErrBadAction)
	}
	return *a, nil
}

func (b *alertBook) unshelve(a *normalize.Alert, user string, at time.Time) {
	a.Shelved, a.ShelvedOneShot, a.ShelvedUntil = false, false, time.Time{}
	a.ShelvedBy, a.ShelveReason = "", ""
	b.record(a, normalize.EventUnshelved, at, user, "")
}

// expire unshelves the timed shelves that ended by now.
func (b *alertBook) expire(now time.Time) int {
	n := 0
	for _, a := range b.byID {
		if a.Shelved && !a.ShelvedOneShot && !a.ShelvedUntil.After(now) {
			b.unshelve(a, "", now)
			n++
		}
	}
	return n
}

// each calls f on the kept changes after seq after, oldest first.
func (b *alertBook) each(after uint64, f func(*AlertChange)) {
	first := after + 1
	if kept := uint64(len(b.log)); b.seq > kept && first <= b.seq-kept {
		first = b.seq - kept + 1
	}
	for seq := first; seq <= b.seq; seq++ {
		f(&b.log[(seq-1)%uint64(len(b.log))])
	}
}

// PublishConditions applies the rules' conditions to the alerts, in order:
// a raise makes its alert active (a new activation needs a new
// acknowledgement), a clear returns it to normal (RTNUnacked until
// acknowledged) and ends a one-shot shelve. Each transition is recorded
// once (AlertChanges, AlertHistory) and marked once for every subscriber.
// It never blocks on a subscriber.
func (s *Store) PublishConditions(conds ...normalize.Condition) {
	if len(conds) == 0 {
		return
	}
	s.mu.Lock()
	for i := range conds {
		s.alerts.apply(&conds[i])
	}
	s.markAlertsLocked()
	s.mu.Unlock()
}

// Act carries out a user's action on an alert at the store's clock
// (Config.Now) and returns the alert after it; the transition is recorded
// and published as any other. Errors wrap ErrUnknownAlert, ErrNotAckable,
// ErrBadShelve or ErrBadAction.
func (s *Store) Act(x Action) (normalize.Alert, error) {
	at := s.cfg.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	a, err := s.alerts.act(&x, at)
	s.markAlertsLocked()
	return a, err
}

// Ack acknowledges alert id as user (see ActAck).
func (s *Store) Ack(id, user, comment string) error {
	_, err := s.Act(Action{Kind: ActAck, AlertID: id, User: user, Comment: comment})
	return err
}

// Shelve shelves alert id until the given time, or one-shot (until the
// condition clears) when until is zero (see ActShelve).
func (s *Store) Shelve(id, user, reason string, until time.Time) error {
	_, err := s.Act(Action{Kind: ActShelve, AlertID: id, User: user, Comment: reason, Until: until})
	return err
}

// Unshelve ends the shelving of alert id (see ActUnshelve).
func (s *Store) Unshelve(id, user string) error {
	_, err := s.Act(Action{Kind: ActUnshelve, AlertID: id, User: user})
	return err
}

// Expire unshelves the timed shelves that ended by now and returns how
// many; the pipeline calls it on its clock.
func (s *Store) Expire(now time.Time) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.alerts.expire(now)
	s.markAlertsLocked()
	return n
}

// markAlertsLocked marks the alerts changed since the last call for every
// subscriber.
func (s *Store) markAlertsLocked() {
	for _, id := range s.alerts.dirty {
		for sub := range s.subs {
			sub.dirtyAlerts[id] = struct{}{}
		}
	}
	s.alerts.dirty = s.alerts.dirty[:0]
}

// Alert returns alert id.
func (s *Store) Alert(id string) (normalize.Alert, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	a, ok := s.alerts.byID[id]
	if !ok {
		return normalize.Alert{}, false
	}
	return *a, true
}

// Alerts returns the alerts that are not Normal (active, or returned to
// normal and waiting for an acknowledgement) and the shelved ones
// (whatever their state), sorted by severity (worst first), then by
// LastActive (newest first), then by id.
func (s *Store) Alerts() []normalize.Alert {
	s.mu.RLock()
	out := make([]normalize.Alert, 0, len(s.alerts.byID))
	for _, a := range s.alerts.byID {
		if a.State != normalize.Normal || a.Shelved {
			out = append(out, *a)
		}
	}
	s.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool {
		a, b := &out[i], &out[j]
		if a.Severity != b.Severity {
			return a.Severity > b.Severity
		}
		if !a.LastActive.Equal(b.LastActive) {
			return a.LastActive.After(b.LastActive)
		}
		return a.ID < b.ID
	})
	return out
}

// AlertHistory returns the kept transitions of alert id, oldest first; id
// "" returns those of every alert.
func (s *Store) AlertHistory(id string) []normalize.AlertEvent {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []normalize.AlertEvent
	s.alerts.each(0, func(c *AlertChange) {
		if id == "" || c.Event.AlertID == id {
			out = append(out, c.Event)
		}
	})
	return out
}

// AlertChanges appends to dst the kept transitions numbered after after,
// oldest first. A consumer that passes the Seq of the last change it took
// sees every transition once; one that fell more than Config.AlertHistory
// changes behind sees a gap in Seq.
func (s *Store) AlertChanges(after uint64, dst []AlertChange) []AlertChange {
	s.mu.RLock()
	defer s.mu.RUnlock()
	s.alerts.each(after, func(c *AlertChange) { dst = append(dst, *c) })
	return dst
}
