package store

import (
	"time"

	"github.com/otwin/otwin/normalize"
)

// Remote alerts are owned alerts (see owned.go: Owner, OwnerLost,
// ErrOwned) whose owner is another collector, read from a broker
// (normalize/uns/mqttsub). Where an OPC UA server says only its
// condition's flags (PublishOwned makes the lifecycle of them), a
// collector publishes each alert whole — its lifecycle state,
// acknowledgement, shelve and counts — with the transition that made it
// so: PublishRemote takes that as it is. Every action on such an alert
// goes to the owner (acknowledgements, shelves and comments alike: the
// dashboard's route to owners); the store shows what the owner says and
// records the owner's transitions.

// RemoteState is an alert as the collector that owns it published it.
type RemoteState struct {
	// Alert is the alert as its owner holds it, under this store's ID and
	// Target (the owner's id is Ref). Its Owner is set by PublishRemote.
	Alert normalize.Alert
	// Ref is the owner's id of the alert.
	Ref string
	// Event is the owner's transition: What, At, User and Comment.
	Event normalize.AlertEvent
	// Retain, Confirmable and Confirmed are those of an alarm the owner
	// relays from its server (normalize.AlertOwner).
	Retain, Confirmable, Confirmed bool
}

// PublishRemote takes what collector owner publishes of its alerts, in
// order. Each alert becomes what the owner says, current, and the owner's
// transition is recorded in its history as the owner made it (at the
// event's time, or now when it has none) — unless the store holds that
// very state already (a retained message received again), which only
// makes it current. An alert the store does not know is taken only when
// it is listed (not Normal, or shelved). It never blocks on a subscriber.
func (s *Store) PublishRemote(owner string, states ...RemoteState) {
	if len(states) == 0 {
		return
	}
	now := s.cfg.Now()
	s.mu.Lock()
	for i := range states {
		s.alerts.remote(owner, &states[i], now)
	}
	s.markAlertsLocked()
	s.mu.Unlock()
}

// remote applies one state owner published.
func (b *alertBook) remote(owner string, st *RemoteState, now time.Time) {
	in := st.Alert
	in.Owner = &normalize.AlertOwner{Name: owner, Ref: st.Ref, Current: true,
		Retain: st.Retain, Confirmable: st.Confirmable, Confirmed: st.Confirmed}
	a, known := b.byID[in.ID]
	if !known {
		if in.State == normalize.Normal && !in.Shelved && !in.Retained() {
			return
		}
		a = &normalize.Alert{}
		b.byID[in.ID] = a
	}
	if known && sameRemote(a, &in) {
		if !a.Owner.Current || a.Owner.Name != owner {
			a.Owner = in.Owner
			b.dirty = append(b.dirty, a.ID)
		}
		return
	}
	*a = in
	at := st.Event.At
	if at.IsZero() {
		at = now
	}
	what := st.Event.What
	if what == "" {
		what = normalize.EventChanged
	}
	b.record(a, what, at, st.Event.User, st.Event.Comment)
}

// sameRemote says a holds the state in does: the same alert, the same
// owner's flags, the same context (by value: a context read from a
// payload is a new one each time).
func sameRemote(a, in *normalize.Alert) bool {
	x, y := *a, *in
	x.Owner, y.Owner, x.Context, y.Context = nil, nil, nil, nil
	if x != y || string(a.Context.AppendJSON(nil)) != string(in.Context.AppendJSON(nil)) {
		return false
	}
	o, p := a.Owner, in.Owner
	return o != nil && p != nil && o.Retain == p.Retain && o.Confirmable == p.Confirmable && o.Confirmed == p.Confirmed
}
