package store

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/otwin/otwin/normalize"
)

// The store alone owns the alerts: the rules' conditions (PublishConditions)
// and the users' actions (Act) are the only ways in, every transition goes
// through alertBook.record, which numbers it, keeps it in the change log,
// hands it to the journal (Config.Journal) and marks it for the
// subscribers, once. A previous run's state comes back through
// Config.Restored (see restore).

// Errors of the alert actions, wrapped with the alert id.
var (
	ErrUnknownAlert = errors.New("unknown alert")
	ErrNotAckable   = errors.New("nothing to acknowledge")
	ErrBadShelve    = errors.New("invalid shelve")
	ErrBadAction    = errors.New("unknown action")
	ErrNoComment    = errors.New("empty comment")
)

// DefaultAlertHistory is how many alert changes a store keeps when
// Config.AlertHistory is 0.
const DefaultAlertHistory = 2000

// DefaultRestoreGrace is Config.RestoreGrace when it is 0: how long a
// restored active alert waits for its condition to be raised again.
const DefaultRestoreGrace = time.Minute

// Journal receives every alert transition of a store (Config.Journal), in
// the order of Seq, once, as it is made. Record is called under the
// store's lock: it must not block and must not call the store (queue the
// change and write it elsewhere, as alertdb does).
type Journal interface {
	Record(AlertChange)
}

// Restored is the alert state of a previous run (Config.Restored).
type Restored struct {
	// Alerts are the alerts as they were last saved, state, acks and
	// shelving included.
	Alerts []normalize.Alert
	// History is the latest saved transitions, oldest first, with their
	// Seq and Event; their Alert is not saved and is left zero. They are
	// in AlertHistory, not in AlertChanges.
	History []AlertChange
	// Seq is the number of the last saved transition (at least that of
	// the last History entry): the store numbers its own after it.
	Seq uint64
}

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
	// ActComment notes Action.Comment on the alert, in any state, without
	// acknowledging it: the note is a transition of its own
	// (normalize.EventCommented) in the alert's history; the alert's
	// state is unchanged. An empty comment is refused (ErrNoComment).
	ActComment ActionKind = "comment"
)

// Action is a user's action on an alert (see Store.Act).
type Action struct {
	// Kind of action.
	Kind ActionKind
	// AlertID is the alert acted on.
	AlertID string
	// User is who acts.
	User string
	// Comment is the acknowledgement's comment, the shelve's reason or
	// the note (ActComment).
	Comment string
	// Until is the end of a timed shelve; zero shelves one-shot.
	Until time.Time
}

// alertBook is every alert's state after ISA-18.2 / OPC UA Part 9, and the
// log of the latest transitions. It is guarded by Store.mu.
type alertBook struct {
	byID map[string]*normalize.Alert
	// log is a ring: change seq is at log[(seq-1)%len(log)] when that
	// entry's Seq is seq (restored changes may have gaps).
	log []AlertChange
	seq uint64 // the newest change
	// dirty are the alerts changed since the store last marked them for
	// its subscribers.
	dirty   []string
	journal Journal
	// base is the Seq of the last restored change: AlertChanges starts
	// after it.
	base uint64
	// unconfirmed are the restored active alerts whose condition has not
	// been raised or cleared since the restore; they return to normal at
	// graceEnd, grace after the first expire (zero: not yet set).
	unconfirmed map[string]struct{}
	grace       time.Duration
	graceEnd    time.Time
	// refresh holds, per owner refreshing its alerts, the ids it sent
	// since its refresh started (see OwnerRefreshStart).
	refresh map[string]map[string]struct{}
}

func newAlertBook(history int, journal Journal, grace time.Duration) alertBook {
	if history <= 0 {
		history = DefaultAlertHistory
	}
	if grace == 0 {
		grace = DefaultRestoreGrace
	}
	return alertBook{byID: make(map[string]*normalize.Alert), log: make([]AlertChange, history), journal: journal, grace: grace}
}

// restore takes in a previous run's state: its alerts as they were, its
// latest changes into the log (history only), and the numbering after
// them. Active alerts wait for their condition (see expire).
func (b *alertBook) restore(r *Restored) {
	b.unconfirmed = make(map[string]struct{})
	for i := range r.Alerts {
		a := r.Alerts[i]
		b.byID[a.ID] = &a
		if a.Owner != nil {
			// the owner has not spoken in this run yet
			o := *a.Owner
			o.Current, o.Lost, o.Why = false, time.Time{}, "restored from the previous run; waiting for "+o.Name
			a.Owner = &o
		}
		if a.Active() || a.Retained() {
			b.unconfirmed[a.ID] = struct{}{}
		}
	}
	b.seq = r.Seq
	for _, c := range r.History {
		b.seq = max(b.seq, c.Seq)
		if c.Seq > 0 {
			b.log[(c.Seq-1)%uint64(len(b.log))] = c
		}
	}
	b.base = b.seq
}

// record logs a transition of a.
func (b *alertBook) record(a *normalize.Alert, what string, at time.Time, user, comment string) {
	b.seq++
	c := &b.log[(b.seq-1)%uint64(len(b.log))]
	*c = AlertChange{
		Seq:   b.seq,
		Event: normalize.AlertEvent{At: at, AlertID: a.ID, What: what, State: a.State, User: user, Comment: comment},
		Alert: *a,
	}
	if b.journal != nil {
		b.journal.Record(*c)
	}
	b.dirty = append(b.dirty, a.ID)
}

// apply applies one condition: a raise makes a new or Normal alert
// ActiveUnacked (Count+1, a fresh acknowledgement) and a RTNUnacked one
// ActiveUnacked again (Count+1); a clear makes ActiveUnacked RTNUnacked
// and ActiveAcked Normal, and ends a one-shot shelve. A raise takes the
// condition's production context. A raise of an active alert or a clear
// of one not active changes nothing.
func (b *alertBook) apply(c *normalize.Condition) {
	id := c.ID()
	a, ok := b.byID[id]
	if ok {
		// a restored alert's condition speaks again: it is live
		delete(b.unconfirmed, id)
	}
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
		a.Severity, a.Message, a.LastActive, a.Context = c.Severity, c.Message, c.At, c.Context
		a.Count++
		b.record(a, normalize.EventRaised, c.At, "", c.Message)
		return
	}
	if !ok || !a.Active() {
		return
	}
	b.clear(a, c.At, "")
}

// clear returns active alert a to normal: RTNUnacked when unacknowledged,
// else Normal; it ends a one-shot shelve.
func (b *alertBook) clear(a *normalize.Alert, at time.Time, comment string) {
	if a.State == normalize.ActiveUnacked {
		a.State = normalize.RTNUnacked
	} else {
		a.State = normalize.Normal
	}
	a.Cleared = at
	b.record(a, normalize.EventCleared, at, "", comment)
	if a.Shelved && a.ShelvedOneShot {
		b.unshelve(a, "", at)
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
		if a.Owner != nil {
			return *a, refuseOwned(a, x)
		}
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
	case ActComment:
		if strings.TrimSpace(x.Comment) == "" {
			return *a, fmt.Errorf("comment %s: %w", a.ID, ErrNoComment)
		}
		b.record(a, normalize.EventCommented, at, x.User, x.Comment)
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

// expire unshelves the timed shelves that ended by now, and settles the
// restored alerts when their grace ends.
func (b *alertBook) expire(now time.Time) int {
	n := 0
	for _, a := range b.byID {
		if a.Shelved && !a.ShelvedOneShot && !a.ShelvedUntil.After(now) {
			b.unshelve(a, "", now)
			n++
		}
	}
	b.settle(now)
	return n
}

// settle returns to normal, through the lifecycle (a clear: ActiveAcked
// becomes Normal, ActiveUnacked RTNUnacked, a one-shot shelve ends), the
// restored active alerts whose condition was neither raised nor cleared
// within the grace. The grace counts from the first call; a negative
// grace keeps them active until their condition clears.
func (b *alertBook) settle(now time.Time) {
	if len(b.unconfirmed) == 0 || b.grace < 0 {
		return
	}
	if b.graceEnd.IsZero() {
		b.graceEnd = now.Add(b.grace)
	}
	if now.Before(b.graceEnd) {
		return
	}
	ids := make([]string, 0, len(b.unconfirmed))
	for id := range b.unconfirmed {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	why := fmt.Sprintf("not raised again within %s of the restart", b.grace)
	for _, id := range ids {
		switch a := b.byID[id]; {
		case a.Owner != nil:
			b.release(a, now, why)
		case a.Active():
			b.clear(a, now, why)
		}
	}
	clear(b.unconfirmed)
}

// each calls f on the kept changes after seq after, oldest first.
func (b *alertBook) each(after uint64, f func(*AlertChange)) {
	first := after + 1
	if kept := uint64(len(b.log)); b.seq > kept && first <= b.seq-kept {
		first = b.seq - kept + 1
	}
	for seq := first; seq <= b.seq; seq++ {
		if c := &b.log[(seq-1)%uint64(len(b.log))]; c.Seq == seq {
			f(c)
		}
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
// ErrBadShelve, ErrNoComment or ErrBadAction.
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
// many; the pipeline calls it on its clock. Its first call also starts the
// grace of the restored active alerts (Config.RestoreGrace): a later call
// past the grace returns to normal those whose condition was neither
// raised nor cleared since the restore.
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
// normal and waiting for an acknowledgement), the shelved ones (whatever
// their state) and those their owner retains (normalize.Alert.Retained),
// sorted by severity (worst first), then by LastActive (newest first),
// then by id.
func (s *Store) Alerts() []normalize.Alert {
	s.mu.RLock()
	out := make([]normalize.Alert, 0, len(s.alerts.byID))
	for _, a := range s.alerts.byID {
		if a.State != normalize.Normal || a.Shelved || a.Retained() {
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

// AlertChanges appends to dst the kept transitions this store made
// numbered after after, oldest first (restored ones are numbered up to
// RestoredSeq and are not included). A consumer that passes the Seq of the
// last change it took sees every transition once; one that fell more than
// Config.AlertHistory changes behind sees a gap in Seq.
func (s *Store) AlertChanges(after uint64, dst []AlertChange) []AlertChange {
	s.mu.RLock()
	defer s.mu.RUnlock()
	s.alerts.each(max(after, s.alerts.base), func(c *AlertChange) { dst = append(dst, *c) })
	return dst
}

// RestoredSeq is the Seq of the last transition restored from a previous
// run (Config.Restored), 0 without; this store's own transitions are
// numbered after it.
func (s *Store) RestoredSeq() uint64 { return s.alerts.base }
