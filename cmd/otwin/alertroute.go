package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/otwin/otwin/connectors"
	"github.com/otwin/otwin/normalize"
	"github.com/otwin/otwin/normalize/store"
	"github.com/otwin/otwin/normalize/uns"
	"github.com/otwin/otwin/normalize/uns/mqttsub"
	"github.com/otwin/otwin/tui"
)

// ownerTimeout bounds one action passed to an alert's owner, or one
// history read of an endpoint.
const ownerTimeout = 15 * time.Second

// alertRoute is the one place an action on an alert goes to the alert's
// owner: this collector's own alerts (its rules) are acknowledged in the
// store; an alert another system owns (normalize.Alert.Owner) goes to
// that owner — an OPC UA server's condition through its source's
// connector (connectors.AlarmActor), another collector's alert, read
// from a broker, to that collector (remoteOwners). Its state then
// follows the owner's next message, not a guess here.
type alertRoute struct {
	st     *store.Store
	owners map[string]connectors.AlarmActor
	// remote reaches the collectors a dashboard reads from a broker
	// (nil: none); every action on their alerts is theirs to take.
	remote remoteOwners
}

// remoteOwners reaches the collectors that own alerts a dashboard reads
// from a broker (mqttsub.Reader).
type remoteOwners interface {
	// Owns says owner is such a collector.
	Owns(owner string) bool
	// Act sends an action to the owner and returns its answer.
	Act(ctx context.Context, x mqttsub.Action) error
}

// Act carries out x (acknowledge, shelve, unshelve, comment) for its
// user, whose role is role: an alert of a collector read from a broker
// goes to that collector, whatever the action, and its answer is
// returned; an acknowledgement of another owner's alert goes to that
// owner (Ack); the rest is the store's.
func (r *alertRoute) Act(x store.Action, role string) error {
	a, ok := r.st.Alert(x.AlertID)
	switch {
	case ok && r.isRemote(&a):
		var d time.Duration // 0: a one-shot shelve
		if !x.Until.IsZero() {
			d = max(time.Until(x.Until).Round(time.Second), time.Second)
		}
		return r.toRemote(&a, mqttsub.Action{Kind: string(x.Kind), User: x.User, Role: role, Comment: x.Comment, ShelveFor: d})
	case x.Kind == store.ActAck:
		return r.Ack(x.AlertID, x.User, x.Comment)
	}
	_, err := r.st.Act(x)
	return err
}

// isRemote says a is the alert of a collector read from a broker.
func (r *alertRoute) isRemote(a *normalize.Alert) bool {
	return a.Owner != nil && r.remote != nil && r.remote.Owns(a.Owner.Name)
}

// toRemote sends x on alert a to the collector that owns it and returns
// its answer.
func (r *alertRoute) toRemote(a *normalize.Alert, x mqttsub.Action) error {
	x.Owner, x.Ref = a.Owner.Name, a.Owner.Ref
	ctx, cancel := context.WithTimeout(context.Background(), ownerTimeout)
	defer cancel()
	return r.remote.Act(ctx, x)
}

// newAlertRoute routes to st and to the connectors that act on their
// endpoints' alarms, by source name.
func newAlertRoute(st *store.Store, conns []connectors.Connector) *alertRoute {
	r := &alertRoute{st: st, owners: make(map[string]connectors.AlarmActor)}
	for _, c := range conns {
		if a, ok := c.(connectors.AlarmActor); ok {
			r.owners[c.Name()] = a
		}
	}
	return r
}

// Ack acknowledges alert id as user: in the store, or at its owner.
func (r *alertRoute) Ack(id, user, comment string) error {
	a, ok := r.st.Alert(id)
	if !ok || a.Owner == nil {
		return r.st.Ack(id, user, comment)
	}
	return r.toOwner(&a, connectors.AlarmAcknowledge, user, comment)
}

// Confirm confirms alert id, a condition its owner keeps until it is
// confirmed, as user, whose role is role (a collector read from a broker
// applies it).
func (r *alertRoute) Confirm(id, user, role, comment string) error {
	a, ok := r.st.Alert(id)
	switch {
	case !ok:
		return fmt.Errorf("confirm %s: %w", id, store.ErrUnknownAlert)
	case a.Owner == nil || !a.Owner.Confirmable:
		return fmt.Errorf("confirm %s: only an alarm its server keeps for confirmation is confirmed", id)
	case r.isRemote(&a):
		return r.toRemote(&a, mqttsub.Action{Kind: uns.ActionConfirm, User: user, Role: role, Comment: comment})
	}
	return r.toOwner(&a, connectors.AlarmConfirm, user, comment)
}

// toOwner passes verb on alert a to its owner and returns the owner's
// answer.
func (r *alertRoute) toOwner(a *normalize.Alert, verb connectors.AlarmVerb, user, comment string) error {
	actor, ok := r.owners[a.Owner.Name]
	if !ok {
		return fmt.Errorf("%s %s: its owner %s is not reachable from here", verb, a.ID, a.Owner.Name)
	}
	ctx, cancel := context.WithTimeout(context.Background(), ownerTimeout)
	defer cancel()
	return actor.ActOnAlarm(ctx, connectors.AlarmAction{Verb: verb, ConditionID: a.Owner.Ref, User: user, Comment: comment})
}

// historyRoute reads a tag's history from the endpoint of its source
// (connectors.HistoryReader), in engineering units as the normalizer
// makes them.
type historyRoute struct {
	st      *store.Store
	n       *normalize.Normalizer
	readers map[string]connectors.HistoryReader
}

// newHistoryRoute reads through the connectors that read history, by
// source name.
func newHistoryRoute(st *store.Store, n *normalize.Normalizer, conns []connectors.Connector) *historyRoute {
	h := &historyRoute{st: st, n: n, readers: make(map[string]connectors.HistoryReader)}
	for _, c := range conns {
		if r, ok := c.(connectors.HistoryReader); ok {
			h.readers[c.Name()] = r
		}
	}
	return h
}

// TagHistory reads tag id's history as points averages from its endpoint
// (tui.ServerHistory): each value the endpoint returns goes to the
// interval its time falls in, scaled as the tag's samples are.
func (h *historyRoute) TagHistory(ctx context.Context, id string, from, to time.Time, points int) (tui.HistorySeries, error) {
	smp, ok := h.st.Latest(id)
	if !ok {
		return tui.HistorySeries{}, fmt.Errorf("history of %s: unknown tag", id)
	}
	r, ok := h.readers[smp.Source]
	if !ok {
		return tui.HistorySeries{}, fmt.Errorf("history of %s: source %s: %w", id, smp.Source, connectors.ErrNoHistory)
	}
	if points <= 0 || !from.Before(to) {
		return tui.HistorySeries{}, errors.New("history: empty span")
	}
	hist, err := r.ReadHistory(ctx, connectors.HistoryRequest{Address: smp.Address, Start: from, End: to, Intervals: points})
	if err != nil {
		return tui.HistorySeries{}, err
	}
	out := tui.HistorySeries{Values: make([]float64, points), From: from, To: to, Aggregate: hist.Aggregate}
	for i := range out.Values {
		out.Values[i] = math.NaN()
	}
	step := to.Sub(from) / time.Duration(points)
	for _, v := range hist.Values {
		if code, _ := connectors.StatusOf(v.Status); code.IsBad() || v.Raw == nil || v.Time.Before(from) || !v.Time.Before(to) {
			continue
		}
		x, ok := h.n.Engineering(id, v.Raw)
		if !ok {
			continue
		}
		i := min(int(v.Time.Sub(from)/max(step, 1)), points-1)
		out.Values[i] = x
	}
	return out, nil
}
