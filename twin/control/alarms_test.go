package control

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/otwin/otwin/scenarios"
	"github.com/otwin/otwin/twin"
	"github.com/otwin/otwin/twin/alarms"
)

// alarmEngine is the twin engine with its alarms, as cmd/otwin gives it
// to Handler.
type alarmEngine struct {
	*twin.Engine
	set *alarms.Set
}

func (a alarmEngine) Alarms() *alarms.Set { return a.set }

const alarmLine = `
name: ctl
tick: 100ms
machines:
  - name: m
    tags:
      - {name: x, writable: true, model: {constant: {value: 50}}}
alarms:
  - {name: x-high, tag: m/x, limits: {high: 80}, confirm: true, latch: true}
`

func newAlarmServer(t *testing.T) (*twin.Engine, *Client) {
	t.Helper()
	sc, err := scenarios.Parse("ctl.yaml", []byte(alarmLine))
	if err != nil {
		t.Fatal(err)
	}
	quiet := slog.New(slog.DiscardHandler)
	e, err := twin.New(sc, twin.Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	set, err := alarms.New(e, sc, alarms.Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(Handler(alarmEngine{e, set}, quiet))
	t.Cleanup(srv.Close)
	c, err := NewClient(srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	return e, c
}

// apiCode is the HTTP status of an APIError (0 otherwise).
func apiCode(err error) int {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.StatusCode
	}
	return 0
}

// TestAlarmEndpoints: a second operator lists, acknowledges, confirms and
// resets an alarm over the control API, with the refusals.
func TestAlarmEndpoints(t *testing.T) {
	e, c := newAlarmServer(t)
	ctx := context.Background()
	list, err := c.Alarms(ctx)
	if err != nil || len(list) != 1 || list[0].Name != "x-high" || list[0].State.Active || list[0].TagName != "m/x" {
		t.Fatalf("list %+v, %v", list, err)
	}
	if _, err := c.AlarmAct(ctx, "x-high", "ack", AlarmAction{}); apiCode(err) != http.StatusConflict {
		t.Errorf("ack of a normal alarm: %v, want 409", err)
	}
	x, _ := e.Lookup("m/x")
	if err := e.Write(x, 90.0); err != nil {
		t.Fatal(err)
	}
	e.Step(1)
	list, _ = c.Alarms(ctx)
	st := list[0].State
	if !st.Active || st.Acked || st.Limit != "High" || len(st.EventID) != 16 {
		t.Fatalf("raised %+v", st)
	}
	if _, err := c.AlarmAct(ctx, "x-high", "ack", AlarmAction{EventID: alarms.EventID{1, 2}}); apiCode(err) != http.StatusBadRequest {
		t.Errorf("ack with an unknown event id: %v, want 400", err)
	}
	ev, err := c.AlarmAct(ctx, "x-high", "ack", AlarmAction{EventID: st.EventID, Comment: "on it", User: "shift lead"})
	if err != nil {
		t.Fatal(err)
	}
	if ev.Cause != alarms.CauseAck || !ev.State.Acked || ev.State.User != "shift lead" || ev.State.Comment != "on it" {
		t.Errorf("ack event %+v", ev)
	}
	if _, err := c.AlarmAct(ctx, "x-high", "reset", AlarmAction{}); apiCode(err) != http.StatusConflict || !strings.Contains(err.Error(), "still active") {
		t.Errorf("reset while active: %v, want 409 still active", err)
	}
	if ev, err = c.AlarmAct(ctx, "x-high", "confirm", AlarmAction{}); err != nil || ev.State.User != "control" {
		t.Errorf("confirm: %+v %v (user defaults to control)", ev, err)
	}
	if err := e.Write(x, 50.0); err != nil {
		t.Fatal(err)
	}
	e.Step(1)
	if ev, err = c.AlarmAct(ctx, "x-high", "reset", AlarmAction{}); err != nil || ev.State.Retain {
		t.Errorf("reset: %+v %v", ev, err)
	}
	if _, err := c.AlarmAct(ctx, "nope", "ack", AlarmAction{}); apiCode(err) != http.StatusNotFound {
		t.Errorf("unknown alarm: %v, want 404", err)
	}
	evs, next, err := c.AlarmEvents(ctx, 0)
	if err != nil || len(evs) != 5 || next != 5 {
		t.Fatalf("events %d next %d: %v", len(evs), next, err)
	}
	var causes []string
	for _, ev := range evs {
		causes = append(causes, ev.Cause)
	}
	if got := strings.Join(causes, ","); got != "active,acknowledge,confirm,inactive,reset" {
		t.Errorf("causes %s", got)
	}
	if evs, _, _ := c.AlarmEvents(ctx, next); len(evs) != 0 {
		t.Errorf("events after the cursor: %d", len(evs))
	}
	// Bad input: unknown fields, a bad cursor, the wrong method.
	for _, tc := range []struct {
		method, path, body string
		code               int
	}{
		{"POST", "/v1/alarms/x-high/ack", `{"coment":"typo"}`, http.StatusBadRequest},
		{"POST", "/v1/alarms/x-high/ack", `{"event_id":"zz"}`, http.StatusBadRequest},
		{"GET", "/v1/alarms/events?since=-1", "", http.StatusBadRequest},
		{"DELETE", "/v1/alarms", "", http.StatusMethodNotAllowed},
	} {
		req, _ := http.NewRequest(tc.method, c.URL()+tc.path, strings.NewReader(tc.body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.code {
			t.Errorf("%s %s %s: %d, want %d", tc.method, tc.path, tc.body, resp.StatusCode, tc.code)
		}
	}
}

// TestNoAlarmEndpointsWithoutAlarms: an engine without alarms has none.
func TestNoAlarmEndpointsWithoutAlarms(t *testing.T) {
	_, srv := newServer(t)
	resp, err := http.Get(srv.URL + "/v1/alarms")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /v1/alarms without alarms: %d, want 404", resp.StatusCode)
	}
}
