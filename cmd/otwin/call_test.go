package main

import (
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/otwin/otwin/scenarios"
	"github.com/otwin/otwin/twin"
	"github.com/otwin/otwin/twin/control"
)

func TestCallCommand(t *testing.T) {
	sc, err := scenarios.Example("bottling")
	if err != nil {
		t.Fatal(err)
	}
	e, err := twin.New(sc, twin.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(control.Handler(e, slog.New(slog.DiscardHandler)))
	t.Cleanup(srv.Close)
	for _, tt := range []struct {
		args    []string
		want    string
		wantErr bool
	}{
		{[]string{"call", "--list"}, "set_recipe  recipe string, fill_volume float64  Stopped", false},
		{[]string{"call", "filler1", "stop"}, "filler1.stop: done\n  state = Stopped", false},
		{[]string{"call", "filler1", "stop"}, "state is Stopped; stop is allowed in Running, Starved, Blocked (HTTP 409)", true},
		{[]string{"call", "filler1", "set_recipe", "recipe=lemonade", "fill_volume=330"}, "fill_target = 330\n  recipe = lemonade", false},
		{[]string{"call", "filler1", "set_recipe", `recipe="1234"`, "fill_volume=330"}, "recipe = 1234", false},
		{[]string{"call", "filler1", "set_speed", "speed=fast"}, "argument speed: type mismatch", true},
		{[]string{"call", "filler1", "set_speed", "speed"}, `argument "speed": want NAME=VALUE`, true},
		{[]string{"call", "filler1"}, "requires at least 2 arg(s)", true},
	} {
		out, err := otwin(t, append(tt.args, "--control", srv.URL)...)
		if (err != nil) != tt.wantErr {
			t.Errorf("%v: error %v, output %s", tt.args, err, out)
			continue
		}
		got := out
		if err != nil {
			got += err.Error()
		}
		if !strings.Contains(got, tt.want) {
			t.Errorf("%v:\n%s\nwant %q", tt.args, got, tt.want)
		}
	}
	if v := e.Value(mustTag(t, e, "filler1/recipe")).V; v != "1234" {
		t.Errorf("recipe = %v", v)
	}
}

func mustTag(t *testing.T, e *twin.Engine, id string) int {
	t.Helper()
	i, ok := e.Lookup(id)
	if !ok {
		t.Fatalf("no tag %s", id)
	}
	return i
}
