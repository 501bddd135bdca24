package control

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/otwin/otwin/scenarios"
)

// TestMethodEndpoints calls the bottling line's methods over HTTP: the
// list, calls with arguments by name (numbers exact), and each refusal
// with its code and a message naming what is wrong.
func TestMethodEndpoints(t *testing.T) {
	sc, err := scenarios.Example("bottling")
	if err != nil {
		t.Fatal(err)
	}
	_, srv := serveScenario(t, sc)
	c, err := NewClient(srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	ms, err := c.Methods(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range ms {
		if m.Machine == "filler1" {
			names = append(names, m.Name)
		}
	}
	if got := strings.Join(names, ","); got != "start,stop,reset,set_speed,set_recipe" {
		t.Errorf("filler1's methods: %s", got)
	}

	out, err := c.Call(ctx, "filler1", "stop", nil)
	if err != nil || out["state"] != "Stopped" {
		t.Fatalf("stop: %v %v", out, err)
	}
	out, err = c.Call(ctx, "filler1", "set_recipe", map[string]any{"recipe": "lemonade", "fill_volume": 330})
	if err != nil || out["recipe"] != "lemonade" || out["fill_target"] != 330.0 {
		t.Fatalf("set_recipe: %v %v", out, err)
	}
	for _, tt := range []struct {
		name, machine, method string
		args                  map[string]any
		code                  int
		msg                   string
	}{
		{"unknown machine", "filler9", "start", nil, http.StatusNotFound, `machine "filler9" has no method "start"`},
		{"unknown method", "filler1", "explode", nil, http.StatusNotFound, `no method "explode"`},
		{"not allowed", "filler1", "stop", nil, http.StatusConflict, "state is Stopped; stop is allowed in Running, Starved, Blocked"},
		{"missing", "filler1", "set_speed", nil, http.StatusBadRequest, "arguments: missing speed"},
		{"unknown argument", "filler1", "set_speed", map[string]any{"speed": 1, "turbo": true}, http.StatusBadRequest, "arguments: unknown turbo (set_speed takes speed)"},
		{"wrong type", "filler1", "set_speed", map[string]any{"speed": "fast"}, http.StatusBadRequest, "argument speed: type mismatch"},
		{"out of range", "filler1", "set_speed", map[string]any{"speed": 701}, http.StatusBadRequest, "argument speed: value out of range"},
	} {
		_, err := c.Call(ctx, tt.machine, tt.method, tt.args)
		var ae *APIError
		if !errors.As(err, &ae) || ae.StatusCode != tt.code || !strings.Contains(ae.Message, tt.msg) {
			t.Errorf("%s: %v, want HTTP %d with %q", tt.name, err, tt.code, tt.msg)
		}
	}
	// A body that is not JSON, a GET of a call.
	resp, err := http.Post(srv.URL+"/v1/machines/filler1/methods/start", "application/json", strings.NewReader("{"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("a broken body: HTTP %d", resp.StatusCode)
	}
	resp, err = http.Get(srv.URL + "/v1/machines/filler1/methods/start")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET of a call: HTTP %d", resp.StatusCode)
	}
}
