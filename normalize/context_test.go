package normalize

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/otwin/otwin/connectors"
	"github.com/otwin/otwin/ctxrole"
)

// contextConfig is a site with two lines: line1's MES gives the work
// order (text) and the batch (a number), a site clock gives the shift to
// the whole site, and line1's cell "filling" has a work order of its own.
func contextConfig() Config {
	return Config{Points: []Point{
		{Source: "mes", Address: "wo", Asset: "acme/site/line1/mes", Tag: "work_order", Context: ctxrole.WorkOrder},
		{Source: "mes", Address: "batch", Asset: "acme/site/line1/mes", Tag: "batch_no", Context: ctxrole.Batch},
		{Source: "clock", Address: "shift", Asset: "acme/site/clock", Tag: "shift", Context: ctxrole.Shift, AppliesTo: []string{"acme/site"}},
		{Source: "mes", Address: "fill-wo", Asset: "acme/site/line1/filling/mes", Tag: "work_order", Context: ctxrole.WorkOrder},
		{Source: "plc1", Address: "temp", Asset: "acme/site/line1/oven", Tag: "temp", Range: &Range{0, 100}},
		{Source: "plc1", Address: "speed", Asset: "acme/site/line1/oven", Tag: "speed"},
		{Source: "plc1", Address: "level", Asset: "acme/site/line1/filling/filler", Tag: "level"},
		{Source: "plc2", Address: "temp", Asset: "acme/site/line2/oven", Tag: "temp"},
	}}
}

func TestContextReachesSamplesAndConditions(t *testing.T) {
	n := newN(t, contextConfig())
	var out Output
	get := func(r connectors.Reading) Sample {
		t.Helper()
		out.Reset()
		if !n.Apply(r, &out) {
			t.Fatalf("no sample of %s %s", r.Source, r.Address)
		}
		return out.Samples[len(out.Samples)-1]
	}

	if s := get(rd("plc1", "temp", 20.0, nil, 0)); s.Context != nil {
		t.Fatalf("context before any context point answered: %+v", s.Context)
	}
	wo := get(rd("mes", "wo", "WO-4711", nil, time.Second))
	if wo.Context.Value(ctxrole.WorkOrder) != "WO-4711" {
		t.Fatalf("the context point's own sample carries %q", wo.Context)
	}
	get(rd("mes", "batch", int64(2401), nil, 2*time.Second))
	get(rd("clock", "shift", "A", nil, 3*time.Second))

	oven := get(rd("plc1", "temp", 21.0, nil, 4*time.Second))
	want := Context{WorkOrder: "WO-4711", Batch: "2401", Shift: "A", Since: at(3 * time.Second)}
	if c := oven.Context; c == nil || c.WorkOrder != want.WorkOrder || c.Batch != want.Batch || c.Shift != want.Shift || !c.Since.Equal(want.Since) {
		t.Fatalf("line1 oven context = %+v, want %+v", c, want)
	}
	if got := oven.Context.String(); got != "WO-4711 2401 A" {
		t.Errorf("String() = %q", got)
	}
	// The same asset shares one value; a repeated context value changes
	// nothing.
	speed := get(rd("plc1", "speed", 5.0, nil, 5*time.Second))
	get(rd("mes", "wo", "WO-4711", nil, 5*time.Second))
	get(rd("mes", "batch", float64(2401), nil, 5*time.Second))
	again := get(rd("plc1", "temp", 22.0, nil, 6*time.Second))
	if speed.Context != oven.Context || again.Context != oven.Context {
		t.Error("an unchanged context was made again")
	}
	// Line2 is under the site's shift only.
	if c := get(rd("plc2", "temp", 1.0, nil, 6*time.Second)).Context; c == nil || c.Shift != "A" || c.WorkOrder != "" {
		t.Errorf("line2 context = %+v, want the shift alone", c)
	}
	// The narrower scope wins: the filling cell has its own order.
	get(rd("mes", "fill-wo", "WO-9", nil, 7*time.Second))
	if c := get(rd("plc1", "level", 1.0, nil, 7*time.Second)).Context; c.WorkOrder != "WO-9" || c.Batch != "2401" || c.Shift != "A" {
		t.Errorf("filling context = %+v, want WO-9 with the line's batch and the site's shift", c)
	}
	// A bad value does not end the order; a new value replaces the context.
	get(rd("mes", "wo", nil, connectors.BadSensorFailure, 8*time.Second))
	if c := get(rd("plc1", "temp", 23.0, nil, 8*time.Second)).Context; c != oven.Context {
		t.Errorf("a bad context value changed the context to %+v", c)
	}
	get(rd("mes", "wo", "WO-4712", nil, 9*time.Second))
	next := get(rd("plc1", "temp", 150.0, nil, 9*time.Second))
	if next.Context == oven.Context || next.Context.WorkOrder != "WO-4712" || !next.Context.Since.Equal(at(9*time.Second)) {
		t.Fatalf("after the order changed: %+v", next.Context)
	}
	// The out-of-range condition carries the tag's context.
	var raised *Condition
	for i := range out.Conditions {
		if out.Conditions[i].Kind == AlertOutOfRange && out.Conditions[i].Active {
			raised = &out.Conditions[i]
		}
	}
	if raised == nil || raised.Context != next.Context {
		t.Fatalf("out_of_range condition %+v does not carry the context %p", raised, next.Context)
	}
	// Endpoint conditions carry the context of the endpoint's assets.
	out.Reset()
	n.ObserveHealth(connectors.Health{Source: "plc1", State: connectors.Down, Since: at(10 * time.Second)}, &out)
	n.Tick(at(20*time.Second), &out)
	var comm *Condition
	for i := range out.Conditions {
		if out.Conditions[i].Kind == AlertCommLoss && out.Conditions[i].Target == "plc1" {
			comm = &out.Conditions[i]
		}
	}
	if comm == nil || comm.Context.WorkOrder != "WO-4712" {
		t.Fatalf("comm_loss of plc1 = %+v, want the line's context", comm)
	}
}

func TestContextJSON(t *testing.T) {
	var vals [ctxrole.N]string
	vals[ctxrole.WorkOrder.Index()] = `WO-"1"`
	vals[ctxrole.Phase.Index()] = "heat"
	c := NewContext(vals, at(0))
	got := string(c.AppendJSON([]byte("x")))
	want := `x{"work_order":"WO-\"1\"","phase":"heat","since":"2026-01-02T03:04:05Z"}`
	if got != want {
		t.Fatalf("AppendJSON = %s, want %s", got, want)
	}
	if s := string((*Context)(nil).AppendJSON(nil)); s != "{}" {
		t.Errorf("nil AppendJSON = %s", s)
	}
	b, err := json.Marshal(struct{ C *Context }{c})
	if err != nil || string(b) != `{"C":`+want[1:]+`}` {
		t.Errorf("json.Marshal = %s, %v", b, err)
	}
	var back Context
	if err := json.Unmarshal([]byte(want[1:]), &back); err != nil || back.WorkOrder != `WO-"1"` || !back.Match("heat") || back.Match("cool") {
		t.Errorf("Unmarshal = %+v, %v", back, err)
	}
	if !c.Match(`wo-"1`) || c.Match("") || (*Context)(nil).Match("x") {
		t.Error("Match")
	}
	if allocs := testing.AllocsPerRun(100, func() { _ = c.AppendJSON(make([]byte, 0, 128)[:0]) }); allocs > 1 {
		t.Errorf("AppendJSON allocates %v times", allocs)
	}
}

func TestContextConfigProblems(t *testing.T) {
	cfg := Config{Points: []Point{
		{Source: "a", Address: "1", Asset: "s/l/mes", Tag: "wo", Context: "order"},
		{Source: "a", Address: "2", Asset: "s/l/m", Tag: "x", AppliesTo: []string{"s/l"}},
		{Source: "a", Address: "3", Asset: "s/l/mes", Tag: "wo2", Context: ctxrole.WorkOrder},
		{Source: "a", Address: "4", Asset: "s/l/mes2", Tag: "wo3", Context: ctxrole.WorkOrder},
		{Source: "a", Address: "5", Asset: "s/l/mes", Tag: "b", Context: ctxrole.Batch, AppliesTo: []string{"s/l x"}},
	}}
	err := cfg.Validate()
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		`point 1 (a 1): unknown context role "order"`,
		"point 2 (a 2): applies_to is for context points",
		"point 4 (a 4): the work_order of s/l is already given by point 3",
		`point 5 (a 5): applies_to "s/l x"`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

func TestApplyWithContextDoesNotAllocate(t *testing.T) {
	n := newN(t, contextConfig())
	var out Output
	n.Apply(rd("mes", "wo", "WO-1", nil, 0), &out)
	n.Apply(rd("mes", "batch", 7.0, nil, 0), &out)
	i := 0
	allocs := testing.AllocsPerRun(200, func() {
		i++
		out.Reset()
		n.Apply(rd("plc1", "temp", float64(i%50), nil, time.Duration(i)*time.Millisecond), &out)
		n.Apply(rd("mes", "batch", 7.0, nil, time.Duration(i)*time.Millisecond), &out)
		n.Apply(rd("mes", "wo", "WO-1", nil, time.Duration(i)*time.Millisecond), &out)
	})
	if allocs != 0 {
		t.Fatalf("Apply with a context allocates %v times per round", allocs)
	}
	if out.Samples[0].Context.Value(ctxrole.Batch) != "7" {
		t.Fatalf("context %+v", out.Samples[0].Context)
	}
}

func TestContextNewer(t *testing.T) {
	var v [ctxrole.N]string
	a := NewContext(v, at(0))
	b := NewContext(v, at(0)) // a second change at the same sample time
	if !b.Newer(a) || a.Newer(b) || !a.Newer(nil) || (*Context)(nil).Newer(a) {
		t.Fatal("Newer does not follow the order contexts were made")
	}
	var back Context // read back from JSON: by Since
	if err := json.Unmarshal([]byte(`{"work_order":"x","since":"2026-01-02T03:04:06Z"}`), &back); err != nil {
		t.Fatal(err)
	}
	if !back.Newer(b) || b.Newer(&back) {
		t.Error("a context read back from JSON is not ordered by Since")
	}
}
