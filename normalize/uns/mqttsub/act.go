package mqttsub

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/otwin/otwin/normalize/uns"
)

// Action is a user's action on an alert another collector owns.
type Action struct {
	// Kind is uns.ActionAck, ActionConfirm, ActionShelve,
	// ActionUnshelve or ActionComment.
	Kind string
	// Owner is the collector that owns the alert and Ref its id of it
	// (normalize.AlertOwner.Name and Ref).
	Owner, Ref string
	// User and Role are who acts in this dashboard; the owner records
	// "<User>@<this node>" and applies the role's rights.
	User, Role string
	// Comment is the acknowledgement's comment, the shelve's reason or
	// the note.
	Comment string
	// ShelveFor is a timed shelve's length; 0 shelves one-shot.
	ShelveFor time.Duration
}

// ErrNoAnswer says the owner did not answer a command in time.
var ErrNoAnswer = errors.New("no answer")

// Owns says collector name is one this reader has heard of: actions on
// its alerts go through Act.
func (r *Reader) Owns(name string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.nodes[name]
	return ok && name != ""
}

// Act sends x to the collector that owns the alert and waits, at most
// Config.CommandTimeout, for its answer: nil when the owner carried it
// out (the transition follows on the alert's topic), the owner's refusal
// ("edge1: refused: …"), or an error when the owner is not known, is
// offline, or did not answer (wrapping ErrNoAnswer: the owner still acts
// on the command if it gets it before it expires).
func (r *Reader) Act(ctx context.Context, x Action) error {
	now := r.cfg.Now()
	r.mu.Lock()
	n := r.nodes[x.Owner]
	switch {
	case x.Owner == "" || n == nil:
		r.mu.Unlock()
		return fmt.Errorf("refused: no collector %q publishes here to take it", x.Owner)
	case !r.connected:
		r.mu.Unlock()
		return fmt.Errorf("refused: this dashboard is not connected to broker %s; %s cannot be asked", r.healthLocked().Endpoint, x.Owner)
	case n.lost:
		why := n.why
		r.mu.Unlock()
		return fmt.Errorf("refused: %s; it cannot be asked now", why)
	case !n.known:
		r.mu.Unlock()
		return fmt.Errorf("refused: collector %s's command topic is not known yet (its status not seen)", x.Owner)
	}
	r.reqSeq++
	id := fmt.Sprintf("%s-%d-%d", r.topics.Node(), now.UnixMilli(), r.reqSeq)
	ch := make(chan uns.Reply, 1)
	r.waiting[id] = ch
	owner, _ := uns.NewTopics(strings.TrimSuffix(n.prefix, "/"), n.name)
	r.stats.Commands++
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		delete(r.waiting, id)
		r.mu.Unlock()
	}()
	expires := now.Add(r.cfg.CommandExpiry)
	c := uns.Command{
		RequestID: id, Action: x.Kind, AlertID: x.Ref, User: x.User + "@" + r.topics.Node(), Role: x.Role,
		Comment: x.Comment, ShelveSeconds: int64(x.ShelveFor / time.Second), ReplyTo: r.topics.Reply(id),
		Sent: now.UTC().Format(time.RFC3339Nano), Expires: expires.UTC().Format(time.RFC3339Nano),
	}
	timer := time.NewTimer(r.cfg.CommandTimeout)
	defer timer.Stop()
	tok := r.client.Publish(owner.Command(), 1, false, c.Payload())
	select {
	case <-tok.Done():
		if err := tok.Error(); err != nil {
			return fmt.Errorf("%s to %s not sent: %w", x.Kind, x.Owner, err)
		}
	case <-timer.C:
		return r.unanswered(x.Owner, expires)
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case rep := <-ch:
		if err := rep.Explain(); err != nil {
			r.mu.Lock()
			r.stats.CommandsRefused++
			r.mu.Unlock()
			return err
		}
		return nil
	case <-timer.C:
		return r.unanswered(x.Owner, expires)
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (r *Reader) unanswered(owner string, expires time.Time) error {
	r.mu.Lock()
	r.stats.CommandsUnanswered++
	r.mu.Unlock()
	return fmt.Errorf("%w from %s within %s: it acts on the command if it gets it before %s",
		ErrNoAnswer, owner, r.cfg.CommandTimeout, expires.Local().Format("15:04:05"))
}

// reply takes an answer to a command: to this dashboard's, it goes to the
// Act waiting for it; others' are ignored.
func (r *Reader) reply(t *uns.Topic, payload []byte) error {
	if t.Node != r.topics.Node() || t.Prefix != r.topics.Prefix() {
		r.stats.Ignored++
		return nil
	}
	rep, err := uns.DecodeReply(payload)
	if err != nil {
		return err
	}
	if ch, ok := r.waiting[rep.RequestID]; ok {
		select {
		case ch <- rep:
		default:
		}
	} else {
		r.stats.Ignored++ // an answer after its wait ended
	}
	return nil
}
