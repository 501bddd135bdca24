package normalize

import (
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"
)

// The alert event names (AlertEvent.What and AlertChange.What).
const (
	EventRaised    = "raised"
	EventCleared   = "cleared"
	EventAcked     = "acked"
	EventShelved   = "shelved"
	EventUnshelved = "unshelved"
)

// Errors of the alert operations, wrapped with the alert id.
var (
	ErrUnknownAlert = errors.New("unknown alert")
	ErrNotAckable   = errors.New("nothing to acknowledge")
	ErrBadShelve    = errors.New("invalid shelve")
)

// DefaultAlertHistory is how many AlertEvents Alerts keeps when
// NewAlerts is given 0.
const DefaultAlertHistory = 2000

// AlertID is the stable id of the alert of kind on target.
func AlertID(kind AlertKind, target string) string { return string(kind) + ":" + target }

// AlertChange is an alert after a transition, and which transition.
type AlertChange struct {
	// Alert is the alert after the transition.
	Alert Alert
	// What is one of the Event* names.
	What string
}

// Alerts holds every alert's state after ISA-18.2 / OPC UA Part 9: the
// data-quality rules raise and clear conditions, users acknowledge and
// shelve. It keeps a bounded history of transitions and the changes not yet
// taken by Changes. All methods are safe for concurrent use; none blocks
// on anything but a short internal lock, and no method calls out.
type Alerts struct {
	mu      sync.Mutex
	byID    map[string]*Alert
	hist    []AlertEvent // ring
	histPos int
	histN   int
	pending []AlertChange
}

// NewAlerts returns an empty alert set keeping history transitions (0:
// DefaultAlertHistory).
func NewAlerts(history int) *Alerts {
	if history <= 0 {
		history = DefaultAlertHistory
	}
	return &Alerts{byID: make(map[string]*Alert), hist: make([]AlertEvent, history)}
}

func (as *Alerts) record(a *Alert, what string, at time.Time, user, comment string) {
	ev := AlertEvent{At: at, AlertID: a.ID, What: what, State: a.State, User: user, Comment: comment}
	as.hist[as.histPos] = ev
	as.histPos = (as.histPos + 1) % len(as.hist)
	if as.histN < len(as.hist) {
		as.histN++
	}
	// Bound the pending changes too, in case nobody drains them: keep the
	// newest.
	if len(as.pending) >= 4*len(as.hist) {
		n := copy(as.pending, as.pending[len(as.pending)/2:])
		as.pending = as.pending[:n]
	}
	as.pending = append(as.pending, AlertChange{Alert: *a, What: what})
}

// Raise makes the condition kind on target active at time at. A new or
// Normal alert becomes ActiveUnacked (Count+1, a fresh acknowledgement); a
// RTNUnacked alert becomes ActiveUnacked again (Count+1); an active alert
// stays as it is (changed false). msg says what was detected.
func (as *Alerts) Raise(kind AlertKind, target string, sev AlertSeverity, msg string, at time.Time) (Alert, bool) {
	id := AlertID(kind, target)
	as.mu.Lock()
	defer as.mu.Unlock()
	a, ok := as.byID[id]
	if !ok {
		a = &Alert{ID: id, Kind: kind, Target: target, FirstActive: at}
		as.byID[id] = a
	}
	if a.Active() {
		return *a, false
	}
	if a.State == Normal {
		a.AckedBy, a.AckedAt, a.Comment = "", time.Time{}, ""
	}
	a.State = ActiveUnacked
	a.Severity = sev
	a.Message = msg
	a.LastActive = at
	a.Count++
	as.record(a, EventRaised, at, "", msg)
	return *a, true
}

// Clear returns the condition kind on target to normal at time at:
// ActiveUnacked becomes RTNUnacked, ActiveAcked becomes Normal; a one-shot
// shelve ends. An alert that is not active is left alone (changed false).
func (as *Alerts) Clear(kind AlertKind, target string, at time.Time) (Alert, bool) {
	as.mu.Lock()
	defer as.mu.Unlock()
	a, ok := as.byID[AlertID(kind, target)]
	if !ok || !a.Active() {
		if ok {
			return *a, false
		}
		return Alert{}, false
	}
	if a.State == ActiveUnacked {
		a.State = RTNUnacked
	} else {
		a.State = Normal
	}
	a.Cleared = at
	as.record(a, EventCleared, at, "", "")
	if a.Shelved && a.ShelvedOneShot {
		as.unshelve(a, "", at)
	}
	return *a, true
}

// Ack acknowledges alert id by user at time at: ActiveUnacked becomes
// ActiveAcked, RTNUnacked becomes Normal. It returns an error wrapping
// ErrUnknownAlert or ErrNotAckable.
func (as *Alerts) Ack(id, user, comment string, at time.Time) (Alert, error) {
	as.mu.Lock()
	defer as.mu.Unlock()
	a, ok := as.byID[id]
	if !ok {
		return Alert{}, fmt.Errorf("ack %s: %w", id, ErrUnknownAlert)
	}
	switch a.State {
	case ActiveUnacked:
		a.State = ActiveAcked
	case RTNUnacked:
		a.State = Normal
	default:
		return *a, fmt.Errorf("ack %s (%s): %w", id, a.State, ErrNotAckable)
	}
	a.AckedBy, a.AckedAt, a.Comment = user, at, comment
	as.record(a, EventAcked, at, user, comment)
	return *a, nil
}

// Shelve shelves alert id: until a time after at (timed), or, with a zero
// until, one-shot until the condition next clears (the alert must then be
// active). A shelved alert is still tracked and changes state; it is only
// flagged. Errors wrap ErrUnknownAlert or ErrBadShelve.
func (as *Alerts) Shelve(id, user, reason string, until, at time.Time) (Alert, error) {
	as.mu.Lock()
	defer as.mu.Unlock()
	a, ok := as.byID[id]
	if !ok {
		return Alert{}, fmt.Errorf("shelve %s: %w", id, ErrUnknownAlert)
	}
	if until.IsZero() {
		if !a.Active() {
			return *a, fmt.Errorf("shelve %s: one-shot shelving needs an active alert: %w", id, ErrBadShelve)
		}
		a.ShelvedOneShot = true
		a.ShelvedUntil = time.Time{}
	} else {
		if !until.After(at) {
			return *a, fmt.Errorf("shelve %s: until %s is not in the future: %w", id, until.Format(time.RFC3339), ErrBadShelve)
		}
		a.ShelvedOneShot = false
		a.ShelvedUntil = until
	}
	a.Shelved = true
	a.ShelvedBy = user
	a.ShelveReason = reason
	as.record(a, EventShelved, at, user, reason)
	return *a, nil
}

// Unshelve ends the shelving of alert id. Unshelving an alert that is not
// shelved changes nothing. Errors wrap ErrUnknownAlert.
func (as *Alerts) Unshelve(id, user string, at time.Time) (Alert, error) {
	as.mu.Lock()
	defer as.mu.Unlock()
	a, ok := as.byID[id]
	if !ok {
		return Alert{}, fmt.Errorf("unshelve %s: %w", id, ErrUnknownAlert)
	}
	if a.Shelved {
		as.unshelve(a, user, at)
	}
	return *a, nil
}

func (as *Alerts) unshelve(a *Alert, user string, at time.Time) {
	a.Shelved = false
	a.ShelvedOneShot = false
	a.ShelvedUntil = time.Time{}
	a.ShelvedBy = ""
	a.ShelveReason = ""
	as.record(a, EventUnshelved, at, user, "")
}

// Expire unshelves the timed shelves that ended by now; it returns how
// many.
func (as *Alerts) Expire(now time.Time) int {
	as.mu.Lock()
	defer as.mu.Unlock()
	n := 0
	for _, a := range as.byID {
		if a.Shelved && !a.ShelvedOneShot && !a.ShelvedUntil.After(now) {
			as.unshelve(a, "", now)
			n++
		}
	}
	return n
}

// Get returns alert id.
func (as *Alerts) Get(id string) (Alert, bool) {
	as.mu.Lock()
	defer as.mu.Unlock()
	a, ok := as.byID[id]
	if !ok {
		return Alert{}, false
	}
	return *a, true
}

// List returns the alerts that are not Normal (active, or returned to
// normal and waiting for an acknowledgement) and the shelved ones (flagged,
// whatever their state), sorted by severity (worst first), then by
// LastActive (newest first), then by id.
func (as *Alerts) List() []Alert { return as.list(false) }

// All returns every alert ever raised, Normal ones included, in List's
// order.
func (as *Alerts) All() []Alert { return as.list(true) }

func (as *Alerts) list(all bool) []Alert {
	as.mu.Lock()
	out := make([]Alert, 0, len(as.byID))
	for _, a := range as.byID {
		if all || a.State != Normal || a.Shelved {
			out = append(out, *a)
		}
	}
	as.mu.Unlock()
	SortAlerts(out)
	return out
}

// SortAlerts sorts alerts by severity (worst first), then LastActive
// (newest first), then id.
func SortAlerts(out []Alert) {
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
}

// History returns the kept transitions of alert id, oldest first; id ""
// returns those of every alert.
func (as *Alerts) History(id string) []AlertEvent {
	as.mu.Lock()
	defer as.mu.Unlock()
	var out []AlertEvent
	start := as.histPos - as.histN
	if start < 0 {
		start += len(as.hist)
	}
	for i := 0; i < as.histN; i++ {
		ev := as.hist[(start+i)%len(as.hist)]
		if id == "" || ev.AlertID == id {
			out = append(out, ev)
		}
	}
	return out
}

// Changes returns the transitions since the previous call, oldest first,
// and forgets them. The pipeline publishes them to the store.
func (as *Alerts) Changes() []AlertChange {
	as.mu.Lock()
	defer as.mu.Unlock()
	if len(as.pending) == 0 {
		return nil
	}
	out := as.pending
	as.pending = nil
	return out
}
