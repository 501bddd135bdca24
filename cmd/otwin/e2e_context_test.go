package main

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/otwin/otwin/connectors/isolate"
	"github.com/otwin/otwin/ctxrole"
	"github.com/otwin/otwin/normalize"
	"github.com/otwin/otwin/normalize/pipeline"
	"github.com/otwin/otwin/scenarios"
)

// contextScenario is a line whose MES serves a work order and batches
// (over OPC UA and Modbus) and a site clock that serves the shift over
// Modbus alone, so that the shift reaches the collector as its numeric
// code; m1 is read over both protocols.
const contextScenario = `
name: e2econtext
tick: 100ms
location: {enterprise: acme, site: s1, area: a1, line: l1}
opcua: {security: [none]}
machines:
  - name: m1
    opcua: {port: 0}
    modbus: {port: 0}
    tags:
      - name: v
        range: {low: 0, high: 100}
        model: {sine: {offset: 50, amplitude: 10, period: 20s}}
        modbus: {table: input, address: 0, type: float32}
      - {name: w, model: {ramp: {min: 0, max: 10, period: 5s}}, modbus: {table: input, address: 2, type: int16}}
context:
  - opcua: {port: 0}
    modbus: {port: 0}
    work_orders:
      - {id: WO-1, product: cola, quantity: 100, start: 0s, end: 1h}
    batches:
      recipe: R1
      phases:
        - {name: fill, dwell: {min: 1s, max: 1s}}
        - {name: heat, dwell: {min: 1s, max: 1s}}
  - machine: clock
    level: site
    modbus: {port: 0, unit_id: 5}
    shifts:
      - {name: A, code: 3, length: 1h}
`

const contextLine = "acme/s1/a1/l1/"

// orderedEvents records every sample and alert transition of a pipeline
// in the order it published them.
type orderedEvents struct {
	mu  sync.Mutex
	evs []pipeline.Event
}

func (o *orderedEvents) handle(e pipeline.Event) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if e.Sample != nil {
		s := *e.Sample
		e.Sample = &s
	}
	if e.Alert != nil {
		a := *e.Alert
		e.Alert = &a
	}
	o.evs = append(o.evs, e)
}

func (o *orderedEvents) all() []pipeline.Event {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]pipeline.Event(nil), o.evs...)
}

// TestE2EContext: the context a scenario's MES serves reaches, through the
// twin's OPC UA and Modbus servers and the real connectors, every sample
// of the line and every alert raised on it — work order and batch as
// text over OPC UA, the shift as its code over Modbus — and changes with
// the batches.
func TestE2EContext(t *testing.T) {
	t.Parallel()
	sc := parseScenario(t, "e2econtext", contextScenario)
	tw := startE2ETwin(t, sc)
	f := exportFast(t, sc, tw.Endpoints)
	// The exported file reads the MES's work order, product, batch id,
	// recipe and phase over OPC UA, the clock's shift code over Modbus.
	roles := map[string]string{}
	for _, s := range f.Sources {
		for _, p := range s.Points {
			if p.Context != "" {
				roles[string(p.Context)] = s.Name + " " + p.Tag
			}
		}
	}
	want := map[string]string{"work_order": "mes-opcua work_order", "product": "mes-opcua product", "batch": "mes-opcua batch_id",
		"recipe": "mes-opcua recipe", "phase": "mes-opcua batch_phase", "shift": "clock-modbus shift_code"}
	for r, w := range want {
		if roles[r] != w {
			t.Errorf("context point of %s: %q, want %q", r, roles[r], w)
		}
	}
	var ev orderedEvents
	col := startE2ECollectorHooked(t, f, isolate.Options{}, ev.handle)

	// Two batches go by: the second one's samples carry it.
	waitUntil(t, 20*time.Second, "a sample of m1 in batch B-3", func() bool {
		s, ok := col.Store.Latest(contextLine + "m1/v")
		return ok && s.Context.Value(ctxrole.Batch) == "B-3"
	})
	mark := col.Rec.Mark()
	if _, err := tw.Control.Inject(context.Background(), scenarios.Fault{Name: "e2e-oor", Kind: scenarios.OutOfRange, Target: "m1/v", Value: floatp(150)}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tw.Control.Clear(context.Background(), "e2e-oor") })
	var raised []alertRecord
	waitUntil(t, 10*time.Second, "out_of_range raised on m1/v over both protocols", func() bool {
		raised = raised[:0]
		for _, a := range col.Rec.Alerts()[mark:] {
			if a.Transition == normalize.EventRaised && a.Alert.Kind == normalize.AlertOutOfRange {
				raised = append(raised, a)
			}
		}
		return len(raised) >= 2
	})
	for _, a := range raised {
		c := a.Alert.Context
		if c.Value(ctxrole.WorkOrder) != "WO-1" || c.Value(ctxrole.Shift) != "3" || !strings.HasPrefix(c.Value(ctxrole.Batch), "B-") || c.Value(ctxrole.Phase) == "" {
			t.Errorf("alert %s carries context %+v", a.Alert.ID, c)
		}
	}
	if a, ok := col.Store.Alert(raised[0].Alert.ID); !ok || a.Context == nil {
		t.Errorf("the store's alert %s has no context", raised[0].Alert.ID)
	}

	// Every sample of the line after the context was complete carries
	// all of it; batches and phases follow one another.
	full := func(c *normalize.Context) bool {
		return c.Value(ctxrole.WorkOrder) == "WO-1" && c.Value(ctxrole.Product) == "cola" && c.Value(ctxrole.Recipe) == "R1" &&
			c.Value(ctxrole.Shift) == "3" && strings.HasPrefix(c.Value(ctxrole.Batch), "B-") && c.Value(ctxrole.Phase) != ""
	}
	complete := false
	var checked int
	bySource := map[string]int{}
	batches := []string{}
	for _, e := range ev.all() {
		if e.Type != pipeline.EventSample || !strings.HasPrefix(e.Sample.ID, contextLine) {
			continue
		}
		s := e.Sample
		if !complete {
			complete = full(s.Context)
			continue
		}
		checked++
		bySource[s.Source]++
		if !full(s.Context) {
			t.Fatalf("sample %d of the line (%s from %s) after the context was known carries %+v", checked, s.ID, s.Source, s.Context)
		}
		if b := s.Context.Batch; len(batches) == 0 || batches[len(batches)-1] != b {
			batches = append(batches, b)
		}
	}
	if bySource["m1-opcua"] == 0 || bySource["m1-modbus"] == 0 || bySource["mes-opcua"] == 0 {
		t.Errorf("samples checked by source: %v, want m1 over both protocols and the MES", bySource)
	}
	for i := 1; i < len(batches); i++ {
		if batches[i] <= batches[i-1] {
			t.Errorf("batches out of order: %v", batches)
		}
	}
	if len(batches) < 2 {
		t.Errorf("batches seen: %v, want a change", batches)
	}
	t.Logf("%d samples of the line checked (%v), batches %v", checked, bySource, batches)
}

func floatp(v float64) *float64 { return &v }
