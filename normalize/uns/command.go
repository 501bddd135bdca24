package uns

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Commands: a dashboard that reads collectors from a broker sends the
// actions its users take on an alert — acknowledge, confirm, shelve,
// unshelve, comment — to the collector that owns it, on that collector's command
// topic (Topics.Command). The collector acts on its own store, with the
// rules of a local action, publishes the alert's transition as any other,
// and answers on the command's reply topic (Topics.Reply of the
// dashboard) whether it did, or why not.

// The command actions.
const (
	ActionAck      = "ack"
	ActionShelve   = "shelve"
	ActionUnshelve = "unshelve"
	ActionComment  = "comment"
	// ActionConfirm confirms an alarm the collector relays from a server
	// that keeps it until it is confirmed.
	ActionConfirm = "confirm"
)

// MaxCommand bounds a command's payload (and its strings), in bytes.
const MaxCommand = 16 << 10

// Command is the JSON payload of a command to a collector:
//
//	{"request_id":"central-1733486400123-7","action":"ack",
//	 "alert_id":"out_of_range:acme/springfield/packaging/line1/filler1/bowl_level",
//	 "user":"olga@central","role":"operator","comment":"valve checked",
//	 "reply_to":"_otwin/central/reply/central-1733486400123-7",
//	 "sent":"2026-12-06T10:00:00.123Z","expires":"2026-12-06T10:00:30.123Z"}
//
// shelve_seconds > 0 shelves for that long (from when the collector acts);
// a shelve without it is one-shot (until the alert next clears).
type Command struct {
	// RequestID identifies the command; the reply carries it.
	RequestID string `json:"request_id"`
	// Action is ack, confirm, shelve, unshelve or comment.
	Action string `json:"action"`
	// AlertID is the alert, as its owner names it (the payload's "id").
	AlertID string `json:"alert_id"`
	// User is who acts, "<user>@<dashboard node>"; Role is their role
	// (the collector applies that role's rights).
	User string `json:"user"`
	Role string `json:"role"`
	// Comment is the acknowledgement's comment, the shelve's reason or
	// the note.
	Comment string `json:"comment,omitempty"`
	// ShelveSeconds is a timed shelve's length.
	ShelveSeconds int64 `json:"shelve_seconds,omitempty"`
	// ReplyTo is the topic of the answer: a Topics.Reply topic.
	ReplyTo string `json:"reply_to"`
	// Sent is when the dashboard sent it; Expires when it is too late to
	// act on it (a collector that was away does not act on old
	// commands).
	Sent    string `json:"sent"`
	Expires string `json:"expires"`
}

// Reply is the JSON payload of a collector's answer to a command:
//
//	{"request_id":"central-1733486400123-7","node":"edge1","ok":true,"state":"active_acked"}
//	{"request_id":"…","node":"edge1","ok":false,"error":"refused: trainers cannot acknowledge alerts"}
type Reply struct {
	RequestID string `json:"request_id"`
	// Node is the collector that answers.
	Node string `json:"node"`
	// OK says the action was carried out; else Error says why not.
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
	// State is the alert's state after the action.
	State string `json:"state,omitempty"`
}

// Payload returns the JSON payload of c.
func (c *Command) Payload() []byte {
	b, _ := json.Marshal(c) // strings and numbers: cannot fail
	return b
}

// Payload returns the JSON payload of r.
func (r *Reply) Payload() []byte {
	b, _ := json.Marshal(r) // strings and a bool: cannot fail
	return b
}

// DecodeCommand decodes and checks a command payload: the action known,
// the alert, user and request named, the reply topic a Topics.Reply
// topic, the times RFC 3339. expires is its Expires.
func DecodeCommand(b []byte) (c Command, expires time.Time, err error) {
	if len(b) > MaxCommand {
		return c, expires, malformed("command of %d bytes (at most %d)", len(b), MaxCommand)
	}
	if _, err = decodeObject(b, &c); err != nil {
		return c, expires, err
	}
	var missing []string
	for _, f := range []struct{ name, v string }{
		{"request_id", c.RequestID}, {"action", c.Action}, {"alert_id", c.AlertID}, {"user", c.User},
		{"reply_to", c.ReplyTo}, {"expires", c.Expires},
	} {
		if strings.TrimSpace(f.v) == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return c, expires, malformed("command without %s", strings.Join(missing, ", "))
	}
	switch c.Action {
	case ActionAck, ActionShelve, ActionUnshelve, ActionComment, ActionConfirm:
	default:
		return c, expires, malformed("action %q: want ack, confirm, shelve, unshelve or comment", c.Action)
	}
	if c.ShelveSeconds < 0 {
		return c, expires, malformed("shelve_seconds %d: negative", c.ShelveSeconds)
	}
	if t, err := ParseTopic(c.ReplyTo, ""); err != nil || t.Kind != TopicReply {
		return c, expires, malformed("reply_to %q: not a reply topic (<prefix>/_otwin/<node>/reply/<id>)", c.ReplyTo)
	}
	if _, err = parseTime("sent", c.Sent); err != nil {
		return c, expires, err
	}
	if expires, err = parseTime("expires", c.Expires); err != nil {
		return c, expires, err
	}
	return c, expires, nil
}

// DecodeReply decodes a reply payload; request_id is required.
func DecodeReply(b []byte) (Reply, error) {
	var r Reply
	if len(b) > MaxCommand {
		return r, malformed("reply of %d bytes (at most %d)", len(b), MaxCommand)
	}
	if _, err := decodeObject(b, &r); err != nil {
		return r, err
	}
	if r.RequestID == "" {
		return r, malformed("reply without request_id")
	}
	if !r.OK && r.Error == "" {
		return r, malformed("a refusal without its reason (error)")
	}
	return r, nil
}

// Explain returns the reply as the dashboard shows it: nil when the
// action was carried out, else an error naming the collector.
func (r *Reply) Explain() error {
	if r.OK {
		return nil
	}
	return fmt.Errorf("%s: %s", r.Node, r.Error)
}

// TransitionRefresh is the "transition" of an alert payload published
// again for a dashboard that said hello: the alert's state, not a change
// of it.
const TransitionRefresh = "refresh"

// HelloPayload is the payload of a dashboard's Hello (Topics.Hello):
//
//	{"node":"central","sent":"2026-12-06T10:00:00.123Z"}
func HelloPayload(node string, sent time.Time) []byte {
	b, _ := json.Marshal(struct {
		Node string `json:"node"`
		Sent string `json:"sent"`
	}{node, sent.UTC().Format(time.RFC3339Nano)})
	return b
}
