package twin

import (
	"errors"
	"slices"
	"testing"

	"github.com/otwin/otwin/scenarios"
)

func TestCall(t *testing.T) {
	sc, err := scenarios.Example("bottling")
	if err != nil {
		t.Fatal(err)
	}
	e := newEngine(t, sc)
	e.Step(1)
	value := func(id string) any {
		t.Helper()
		i, ok := e.Lookup(id)
		if !ok {
			t.Fatalf("no tag %s", id)
		}
		return e.Value(i).V
	}
	out, err := e.Call("filler1", "stop", nil)
	if err != nil || !slices.Equal(out, []any{"Stopped"}) || value("filler1/state") != "Stopped" {
		t.Fatalf("stop: %v %v, state %v", out, err, value("filler1/state"))
	}
	if _, err := e.Call("filler1", "stop", nil); !errors.Is(err, ErrInvalidState) {
		t.Errorf("stop when stopped: %v", err)
	}
	// The state is the machine's, not the value a fault shows.
	if err := e.InjectNamed("co2-overpressure"); err != nil {
		t.Fatal(err)
	}
	out, err = e.Call("filler1", "set_recipe", []any{"lemonade-0.75l", 750.0})
	if err != nil || !slices.Equal(out, []any{"lemonade-0.75l", 750.0}) {
		t.Fatalf("set_recipe: %v %v", out, err)
	}
	e.Step(1)
	if v := value("filler1/fill_volume").(float64); v < 745 || v > 755 {
		t.Errorf("fill_volume after the recipe = %v, want about 750", v)
	}
	out, err = e.Call("filler1", "reset", nil)
	if err != nil || !slices.Equal(out, []any{"Stopped"}) {
		t.Fatalf("reset: %v %v", out, err)
	}
	for _, f := range e.Faults() {
		if f.Active && f.Target == "filler1/co2_pressure" {
			t.Errorf("reset left %s active", f.Name)
		}
	}
	if _, err := e.Call("filler1", "start", nil); err != nil || value("filler1/state") != "Running" {
		t.Errorf("start: %v, state %v", err, value("filler1/state"))
	}

	for _, tt := range []struct {
		name          string
		machine, meth string
		args          []any
		is            error
	}{
		{"unknown machine", "filler9", "start", nil, ErrUnknownMethod},
		{"unknown method", "filler1", "explode", nil, ErrUnknownMethod},
		{"missing", "filler1", "set_speed", nil, ErrArgumentsMissing},
		{"too many", "filler1", "set_speed", []any{1.0, 2.0}, ErrTooManyArguments},
		{"a string for a number", "filler1", "set_speed", []any{"fast"}, ErrType},
		{"out of range", "filler1", "set_speed", []any{900.0}, ErrOutOfRange},
		{"not when running", "filler1", "set_recipe", []any{"x", 500.0}, ErrInvalidState},
	} {
		_, err := e.Call(tt.machine, tt.meth, tt.args)
		if !errors.Is(err, tt.is) {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.is)
		}
		var ae *ArgumentsError
		if errors.As(err, &ae) && len(ae.Args) != len(tt.args) {
			t.Errorf("%s: %d argument errors for %d arguments", tt.name, len(ae.Args), len(tt.args))
		}
	}
	if v := value("filler1/speed_sp"); v != 600.0 {
		t.Errorf("refused calls changed speed_sp to %v", v)
	}
	evs, _ := e.Events(0)
	calls := 0
	for _, ev := range evs {
		if ev.Kind == EventCall && ev.Target == "filler1" {
			calls++
		}
	}
	if calls != 4 {
		t.Errorf("%d call events, want 4 (stop, set_recipe, reset, start)", calls)
	}
}
