package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/otwin/otwin/connectors"
	"github.com/otwin/otwin/normalize"
	"github.com/otwin/otwin/normalize/store"
	"github.com/otwin/otwin/role"
	"github.com/otwin/otwin/tui"
	"github.com/otwin/otwin/tui/sshserve"
	"github.com/otwin/otwin/twin/control"
)

// policy is what a session's user may do. Local sessions (the person who
// started otwin) may do everything; SSH sessions get their role's rights,
// enforced here, on the server side, whatever the UI shows.
type policy struct {
	Ack    bool // acknowledge and shelve alerts
	Faults bool // inject and clear faults, control the clock
}

// allows says whether the policy lets its session take the dashboard's
// action perm: Ack covers acknowledging, shelving and commenting on
// alerts, Faults injecting and clearing faults.
func (p policy) allows(perm tui.Permission) bool {
	switch perm {
	case tui.PermAck, tui.PermShelve, tui.PermComment:
		return p.Ack
	case tui.PermFaults:
		return p.Faults
	}
	return false
}

// localPolicy is the policy of the terminal that started otwin.
var localPolicy = policy{Ack: true, Faults: true}

// rolePolicy is the policy of a remote user: operators, supervisors,
// maintenance and quality acknowledge and shelve; trainers (and engineers
// the users file allows) inject faults and control the clock; everyone
// views.
func rolePolicy(r string, allowFaults bool) policy {
	switch role.Role(r) {
	case role.Operator, role.Supervisor, role.Maintenance, role.Quality:
		return policy{Ack: true}
	case role.Trainer:
		return policy{Faults: true}
	case role.Engineer:
		return policy{Faults: allowFaults}
	}
	return policy{}
}

// actionResult is one action a session attempted and what became of it.
type actionResult struct {
	User, Role string
	// Kind is acknowledge, confirm, shelve, comment, inject, clear, clock,
	// exercise or debrief; Target the alert id, fault name or setting.
	Kind, Target, Comment string
	// Refused is why the session's role may not do it; Failed why it was
	// allowed but not carried out (the store's or the twin's answer).
	// Both are "" when it was carried out.
	Refused, Failed string
}

// actionHook sees every action a session attempts (the workshop
// scoreboard). A "comment" action (a note on an alert, no ack) reaches it
// like any other when the backend carries one out.
type actionHook func(actionResult)

// session is one viewer's binding to the live store: who they are, what
// they may do, and where their actions are recorded.
type session struct {
	user, role string
	policy     policy
	audit      *sshserve.AuditLog
	remote     string
	onAction   actionHook
}

func (s *session) record(kind, target, comment string, err error) {
	result := "ok"
	r := actionResult{User: s.user, Role: s.role, Kind: kind, Target: target, Comment: comment}
	if err != nil {
		result = err.Error()
		if errors.Is(err, errRefused) {
			// the reason alone: the workshop writes "refused: <reason>"
			r.Refused = refusalReason(err)
		} else {
			r.Failed = err.Error()
		}
	}
	s.audit.Record(sshserve.AuditEvent{Event: kind, User: s.user, Role: s.role, Remote: s.remote, Target: target, Comment: comment, Result: result})
	if s.onAction != nil {
		s.onAction(r)
	}
}

var errRefused = errors.New("refused")

// refusalReason is a refusal's reason without the "refused: " in front
// ("operators cannot inject or clear faults").
func refusalReason(err error) string {
	return strings.TrimPrefix(err.Error(), errRefused.Error()+": ")
}

// actionPerm is the permission each action a session takes (and an
// exercise expects: scenarios.Actions) needs.
var actionPerm = map[string]tui.Permission{
	"acknowledge": tui.PermAck, "shelve": tui.PermShelve, "comment": tui.PermComment,
	"clear": tui.PermFaults, "inject": tui.PermFaults,
}

func (s *session) refuse(what string) error {
	return fmt.Errorf("%w: %ss cannot %s", errRefused, s.role, what)
}

// check returns nil when the session may take perm, else its refusal:
// the dashboard shows it before the attempt (Allowed) and after it, in
// the same words.
func (s *session) check(perm tui.Permission) error {
	if s.policy.allows(perm) {
		return nil
	}
	return s.refuse(string(perm))
}

// storeBackend is the TUI's Backend over the live store, for one session.
// Acknowledgements and confirmations go through route to the alert's
// owner (nil: the store's own alerts only); hist reads tags' history from
// their endpoints (nil: the dashboard charts what it saw).
type storeBackend struct {
	st    *store.Store
	sess  *session
	route *alertRoute
	hist  *historyRoute
}

var (
	_ tui.Backend       = (*storeBackend)(nil)
	_ tui.Confirmer     = (*storeBackend)(nil)
	_ tui.ServerHistory = (*storeBackend)(nil)
)

// Subscribe is a store subscription as the TUI's feed; closing the feed
// ends the subscription, even if the TUI stopped reading.
func (b *storeBackend) Subscribe() tui.Feed {
	sub := b.st.Subscribe()
	return tui.AdaptFeed(sub.C(), func(x store.Batch) tui.Update {
		return tui.Update{Samples: x.Samples, Alerts: x.Alerts, Health: x.Health}
	}, sub.Close, sub.Dropped)
}

func (b *storeBackend) Snapshot() []normalize.Sample               { return b.st.Snapshot() }
func (b *storeBackend) Alerts() []normalize.Alert                  { return b.st.Alerts() }
func (b *storeBackend) Health() []connectors.Health                { return b.st.Health() }
func (b *storeBackend) History(id string, dst []float64) []float64 { return b.st.History(id, dst) }
func (b *storeBackend) AlertHistory(id string) []normalize.AlertEvent {
	return b.st.AlertHistory(id)
}

// Allowed answers from the session's policy, in the words its refusals
// use.
func (b *storeBackend) Allowed(p tui.Permission) error { return b.sess.check(p) }

// Ack acknowledges an alert: this collector's in the store, another
// system's at its owner (whose answer it returns).
func (b *storeBackend) Ack(id, comment string) error {
	err := b.sess.check(tui.PermAck)
	if err == nil {
		err = b.act(store.Action{Kind: store.ActAck, AlertID: id, User: b.sess.user, Comment: comment})
	}
	b.sess.record("acknowledge", id, comment, err)
	return err
}

// Confirm confirms an alarm its server keeps until it is confirmed, at
// the server; refused as Ack is.
func (b *storeBackend) Confirm(id, comment string) error {
	err := b.sess.check(tui.PermAck)
	if err == nil {
		if b.route == nil {
			err = fmt.Errorf("confirm %s: no alert owners reachable from here", id)
		} else {
			err = b.route.Confirm(id, b.sess.user, b.sess.role, comment)
		}
	}
	b.sess.record("confirm", id, comment, err)
	return err
}

// TagHistory reads a tag's history from its endpoint (tui.ServerHistory).
func (b *storeBackend) TagHistory(ctx context.Context, id string, from, to time.Time, n int) (tui.HistorySeries, error) {
	if b.hist == nil {
		return tui.HistorySeries{}, fmt.Errorf("history of %s: %w", id, connectors.ErrNoHistory)
	}
	return b.hist.TagHistory(ctx, id, from, to, n)
}

// Comment adds a note to an alert's history without acknowledging it.
func (b *storeBackend) Comment(id, text string) error {
	err := b.sess.check(tui.PermComment)
	if err == nil {
		err = b.act(store.Action{Kind: store.ActComment, AlertID: id, User: b.sess.user, Comment: text})
	}
	b.sess.record("comment", id, text, err)
	return err
}

func (b *storeBackend) Shelve(id, reason string, d time.Duration, oneShot bool) error {
	err := b.sess.check(tui.PermShelve)
	if err == nil {
		x := store.Action{Kind: store.ActShelve, AlertID: id, User: b.sess.user, Comment: reason}
		if !oneShot { // zero Until: one-shot, until the condition clears
			x.Until = time.Now().Add(d)
		}
		err = b.act(x)
	}
	b.sess.record("shelve", id, reason, err)
	return err
}

// Unshelve ends a shelve (a command of a dashboard that reads this
// collector from a broker; the dashboard itself lets shelves run out).
func (b *storeBackend) Unshelve(id string) error {
	err := b.sess.check(tui.PermShelve)
	if err == nil {
		err = b.act(store.Action{Kind: store.ActUnshelve, AlertID: id, User: b.sess.user})
	}
	b.sess.record("unshelve", id, "", err)
	return err
}

// act carries out x, which the session may take, through the route to
// the alert's owner (without one: in the store).
func (b *storeBackend) act(x store.Action) error {
	if b.route == nil {
		_, err := b.st.Act(x)
		return err
	}
	return b.route.Act(x, b.sess.role)
}

// controlTimeout bounds one call to the twin's control API.
const controlTimeout = 5 * time.Second

// controlFaults is the TUI's fault panel over the twin's control API.
type controlFaults struct {
	c    *control.Client
	sess *session
}

var _ tui.FaultControl = (*controlFaults)(nil)

func (f *controlFaults) Faults() ([]tui.Fault, error) {
	ctx, cancel := context.WithTimeout(context.Background(), controlTimeout)
	defer cancel()
	fs, err := f.c.Faults(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]tui.Fault, 0, len(fs))
	for _, x := range fs {
		tf := tui.Fault{Name: x.Name, Kind: string(x.Kind), Target: x.Target, Protocol: faultProtocols(x), Active: x.Active}
		if x.Active && !x.Started.IsZero() {
			tf.Since = x.Started
		}
		out = append(out, tf)
	}
	return out, nil
}

func (f *controlFaults) Inject(name string) error {
	err := f.sess.check(tui.PermFaults)
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), controlTimeout)
		defer cancel()
		_, err = f.c.InjectNamed(ctx, name)
	}
	f.sess.record("inject", name, "", err)
	return err
}

func (f *controlFaults) Clear(name string) error {
	err := f.sess.check(tui.PermFaults)
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), controlTimeout)
		defer cancel()
		err = f.c.Clear(ctx, name)
	}
	f.sess.record("clear", name, "", err)
	return err
}
