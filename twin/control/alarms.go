package control

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/otwin/otwin/twin/alarms"
)

// Alarms of the scenario (twin/alarms), acted on as a second operator
// would, beside the OPC UA clients:
//
//	GET  /v1/alarms                      every alarm with its state
//	GET  /v1/alarms/events?since=N       the alarms' events from cursor N
//	POST /v1/alarms/{name}/ack           acknowledge
//	POST /v1/alarms/{name}/confirm       confirm
//	POST /v1/alarms/{name}/reset         reset a latched alarm
//
// An action's body is optional: {"comment": "...", "user": "...",
// "event_id": "<hex>"}; without event_id it acts on the alarm's current
// state, with one it acts as OPC UA's Acknowledge and Confirm do. The
// answer is the event the action caused (201). Refusals: 404 for an
// unknown alarm, 409 when there is nothing to acknowledge, confirm or
// reset (already acknowledged or confirmed, not latched, still active),
// or the alarm is not confirmable or does not latch, 400 for an unknown
// event id. Every action is logged with its user.

// AlarmEngine is an Engine with alarms; Handler serves the alarm
// endpoints when its engine is one.
type AlarmEngine interface {
	Alarms() *alarms.Set
}

// AlarmAction is the body of POST /v1/alarms/{name}/ack, confirm and
// reset.
type AlarmAction struct {
	// Comment is the operator's comment.
	Comment string `json:"comment,omitempty"`
	// User names the operator. Default "control".
	User string `json:"user,omitempty"`
	// EventID, hexadecimal, names the event the operator saw; empty: the
	// alarm's current state.
	EventID alarms.EventID `json:"event_id,omitempty"`
}

// AlarmEventsResponse is the body of GET /v1/alarms/events.
type AlarmEventsResponse struct {
	// Events with Seq >= since, oldest first.
	Events []alarms.Event `json:"events"`
	// Next is the cursor for the next call.
	Next uint64 `json:"next"`
}

// registerAlarms adds the alarm endpoints when the engine has alarms.
func registerAlarms(mux *http.ServeMux, h *handler) {
	ae, ok := h.e.(AlarmEngine)
	if !ok || ae.Alarms() == nil {
		return
	}
	set := ae.Alarms()
	mux.HandleFunc("GET /v1/alarms", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, set.List())
	})
	mux.HandleFunc("GET /v1/alarms/events", func(w http.ResponseWriter, r *http.Request) {
		var since uint64
		if s := r.URL.Query().Get("since"); s != "" {
			n, err := strconv.ParseUint(s, 10, 64)
			if err != nil {
				writeError(w, http.StatusBadRequest, fmt.Sprintf("parameter since: %q, want a cursor >= 0", s))
				return
			}
			since = n
		}
		evs, next := set.Events(since)
		if evs == nil {
			evs = []alarms.Event{}
		}
		writeJSON(w, http.StatusOK, AlarmEventsResponse{Events: evs, Next: next})
	})
	for verb, op := range map[string]func(int, alarms.Action) (alarms.Event, error){
		"ack": set.Acknowledge, "confirm": set.Confirm, "reset": set.Reset,
	} {
		mux.HandleFunc("POST /v1/alarms/{name}/"+verb, func(w http.ResponseWriter, r *http.Request) {
			h.alarmAction(w, r, set, verb, op)
		})
	}
	for _, p := range []string{"/v1/alarms", "/v1/alarms/events", "/v1/alarms/{name}/ack", "/v1/alarms/{name}/confirm", "/v1/alarms/{name}/reset"} {
		mux.HandleFunc(p, func(w http.ResponseWriter, r *http.Request) {
			writeError(w, http.StatusMethodNotAllowed, fmt.Sprintf("method %s not allowed on %s", r.Method, r.URL.Path))
		})
	}
}

// alarmAction runs one operator action on the alarm of the path.
func (h *handler) alarmAction(w http.ResponseWriter, r *http.Request, set *alarms.Set, verb string, op func(int, alarms.Action) (alarms.Event, error)) {
	name := r.PathValue("name")
	i, ok := set.Lookup(name)
	if !ok {
		writeError(w, http.StatusNotFound, fmt.Sprintf("unknown alarm %q (see GET /v1/alarms)", name))
		return
	}
	var act AlarmAction
	if r.ContentLength != 0 && !decode(w, r, &act) {
		return
	}
	if act.User == "" {
		act.User = "control"
	}
	ev, err := op(i, alarms.Action{EventID: act.EventID, Comment: act.Comment, User: act.User})
	if err != nil {
		writeError(w, alarmCode(err), err.Error())
		return
	}
	h.log.Info("alarm "+verb+" over the control API", "remote", r.RemoteAddr, "alarm", name, "user", act.User)
	writeJSON(w, http.StatusCreated, ev)
}

// alarmCode maps the alarms' errors to HTTP status codes.
func alarmCode(err error) int {
	switch {
	case errors.Is(err, alarms.ErrUnknownAlarm):
		return http.StatusNotFound
	case errors.Is(err, alarms.ErrUnknownEvent):
		return http.StatusBadRequest
	}
	return http.StatusConflict
}

// Alarms lists the twin's alarms with their state.
func (c *Client) Alarms(ctx context.Context) ([]alarms.Status, error) {
	var out []alarms.Status
	err := c.do(ctx, http.MethodGet, "/v1/alarms", nil, &out)
	return out, err
}

// AlarmEvents returns the alarms' events with Seq >= since and the next
// cursor.
func (c *Client) AlarmEvents(ctx context.Context, since uint64) ([]alarms.Event, uint64, error) {
	var r AlarmEventsResponse
	err := c.do(ctx, http.MethodGet, "/v1/alarms/events?since="+strconv.FormatUint(since, 10), nil, &r)
	return r.Events, r.Next, err
}

// AlarmAct runs verb (ack, confirm or reset) on alarm name and returns
// the event it caused.
func (c *Client) AlarmAct(ctx context.Context, name, verb string, act AlarmAction) (alarms.Event, error) {
	var ev alarms.Event
	err := c.do(ctx, http.MethodPost, "/v1/alarms/"+url.PathEscape(name)+"/"+url.PathEscape(verb), act, &ev)
	return ev, err
}
