package mqttpub

import (
	"errors"
	"fmt"
	"sync"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/otwin/otwin/normalize"
	"github.com/otwin/otwin/normalize/uns"
)

// Commands: the collector owns the alerts it publishes. A dashboard that
// reads it from the broker sends its users' actions on them to the
// collector's command topic (uns.Topics.Command); the publisher takes
// them there on its JSON connection (a persistent session: commands sent
// while the collector was away arrive when it is back, and expired ones
// are refused), hands each to the CommandHandler, and answers on the
// command's reply topic. The transition the action makes is published as
// any other.

// CommandHandler carries out a command: a user's action on one of the
// collector's alerts, with the permission and audit rules of a local
// action. It returns the alert after the action, or why it refused (the
// error's text is the reply's). It is called from the client library's
// goroutines, one per command, possibly at once.
type CommandHandler func(c *uns.Command) (normalize.Alert, error)

// answered is how many answers are kept for commands delivered again
// (QoS 1 may deliver a command twice; it is acted on once).
const answered = 1024

// commands is the command side of a publisher.
type commands struct {
	handle CommandHandler

	mu      sync.Mutex
	replies map[string][]byte // request id → the reply given
	order   []string          // request ids, oldest first

	taken, refused, malformed uint64
	badLog                    time.Time
}

// HandleCommands makes the publisher take commands on its command topic
// and carry them out with h. Call it before Start; without it the
// publisher does not subscribe to commands. It needs the JSON connection.
func (p *Publisher) HandleCommands(h CommandHandler) {
	p.cmds = &commands{handle: h, replies: make(map[string][]byte)}
}

// subscribeCommands subscribes to the command topic; called on every
// connection.
func (p *Publisher) subscribeCommands(c mqtt.Client) {
	if p.cmds == nil {
		return
	}
	topic := p.topics.Command()
	tok := c.Subscribe(topic, 1, p.onCommand)
	if !tok.WaitTimeout(p.cfg.ConnectTimeout) || tok.Error() != nil {
		p.log.Error("mqtt: cannot subscribe to the command topic; commands of dashboards are not taken", "topic", topic, "err", tok.Error())
	}
}

// onCommand takes one command: a malformed one is counted, logged and,
// when it names its request and reply topic, answered with the reason;
// one delivered again gets the answer it got; an expired one is refused;
// the others go to the handler.
func (p *Publisher) onCommand(_ mqtt.Client, m mqtt.Message) {
	cs := p.cmds
	c, expires, err := uns.DecodeCommand(m.Payload())
	if err != nil {
		cs.mu.Lock()
		cs.malformed++
		n, now := cs.malformed, p.cfg.Now()
		logIt := now.Sub(cs.badLog) >= logEvery
		if logIt {
			cs.badLog = now
		}
		cs.mu.Unlock()
		if logIt {
			p.log.Warn("mqtt: malformed command skipped", "topic", m.Topic(), "err", err, "malformed_total", n)
		}
		if t, perr := uns.ParseTopic(c.ReplyTo, ""); perr == nil && t.Kind == uns.TopicReply && c.RequestID != "" {
			p.reply(c.ReplyTo, &uns.Reply{RequestID: c.RequestID, Node: p.topics.Node(), Error: err.Error()})
		}
		return
	}
	cs.mu.Lock()
	prev, seen := cs.replies[c.RequestID]
	if !seen {
		cs.remember(c.RequestID, nil) // under way: a second delivery now is dropped
	}
	cs.mu.Unlock()
	if seen {
		if prev != nil {
			p.publishReply(c.ReplyTo, prev)
		}
		return
	}
	r := uns.Reply{RequestID: c.RequestID, Node: p.topics.Node()}
	if now := p.cfg.Now(); now.After(expires) {
		err = fmt.Errorf("refused: the command expired at %s, before it arrived at %s (sent %s; a collector away, or clocks apart)",
			expires.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339), c.Sent)
	} else {
		var a normalize.Alert
		if a, err = p.cmds.handle(&c); err == nil {
			r.State = a.State.String()
		}
	}
	r.OK = err == nil
	if err != nil {
		r.Error = err.Error()
	}
	cs.mu.Lock()
	if r.OK {
		cs.taken++
	} else {
		cs.refused++
	}
	cs.mu.Unlock()
	p.log.Info("mqtt: command", "action", c.Action, "alert", c.AlertID, "user", c.User, "role", c.Role, "ok", r.OK, "error", r.Error)
	b := r.Payload()
	cs.mu.Lock()
	if _, ok := cs.replies[c.RequestID]; ok {
		cs.replies[c.RequestID] = b
	}
	cs.mu.Unlock()
	p.publishReply(c.ReplyTo, b)
}

// remember keeps the reply to request id (nil while it is under way) for
// a delivery again; cs.mu is held.
func (cs *commands) remember(id string, reply []byte) {
	if len(cs.order) >= answered {
		delete(cs.replies, cs.order[0])
		cs.order = cs.order[1:]
	}
	cs.replies[id] = reply
	cs.order = append(cs.order, id)
}

func (p *Publisher) reply(topic string, r *uns.Reply) { p.publishReply(topic, r.Payload()) }

// publishReply publishes a reply at QoS 1, not retained, once the client
// has resent what it kept through an outage (a message published during
// the resend could take the id of a stored one).
func (p *Publisher) publishReply(topic string, payload []byte) {
	if ch := p.store.hold(); ch != nil {
		select {
		case <-ch:
		case <-time.After(holdTimeout):
		}
	}
	tok := p.json.Publish(topic, 1, false, payload)
	if !tok.WaitTimeout(p.cfg.ConnectTimeout) || tok.Error() != nil {
		err := tok.Error()
		if err == nil {
			err = errors.New("not acknowledged in time")
		}
		p.log.Warn("mqtt: reply to a command not published", "topic", topic, "err", err)
	}
}

// commandStats returns the command counters.
func (p *Publisher) commandStats() (taken, refused, malformed uint64) {
	if p.cmds == nil {
		return 0, 0, 0
	}
	p.cmds.mu.Lock()
	defer p.cmds.mu.Unlock()
	return p.cmds.taken, p.cmds.refused, p.cmds.malformed
}
