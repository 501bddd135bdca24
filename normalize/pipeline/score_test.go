package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/otwin/otwin/connectors"
	"github.com/otwin/otwin/ctxrole"
	"github.com/otwin/otwin/normalize"
	"github.com/otwin/otwin/normalize/score"
	"github.com/otwin/otwin/normalize/store"
)

// TestContextAndScorecardEvents runs a line whose MES gives the work order:
// the samples and the alert carry it, the board counts them, and OnEvent
// gets the scorecards every ScorecardEvery of the pipeline's clock, all
// of which the JSON lines write.
func TestContextAndScorecardEvents(t *testing.T) {
	cfg := normalize.Config{Points: []normalize.Point{
		{Source: "plc", Address: "wo", Asset: "acme/site/area/line1/mes", Tag: "work_order", Context: ctxrole.WorkOrder},
		{Source: "plc", Address: "t", Asset: "acme/site/area/line1/oven", Tag: "temp", Range: &normalize.Range{Low: 0, High: 100}},
	}}
	n, err := normalize.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	st := store.New(store.Config{FrameInterval: 5 * time.Millisecond})
	defer st.Close()
	plc := &fakeConn{name: "plc", readings: []connectors.Reading{
		{Source: "plc", Address: "wo", Raw: "WO-4711", SourceTime: t0, Received: t0},
		{Source: "plc", Address: "t", Raw: 150.0, SourceTime: t0, Received: t0.Add(10 * time.Millisecond)},
	}}
	board := score.New(score.Config{Points: []score.Point{
		{ID: "acme/site/area/line1/mes/work_order", Asset: "acme/site/area/line1/mes", Source: "plc"},
		{ID: "acme/site/area/line1/oven/temp", Asset: "acme/site/area/line1/oven", Source: "plc"},
	}, Sources: []score.Source{{Name: "plc", Sampling: time.Second}}})
	var evs events
	var lines bytes.Buffer
	jl := NewJSONLines(&lines)
	clk := &clock{t: t0, step: time.Second}
	p := &Pipeline{
		Connectors: []connectors.Connector{plc}, Normalizer: n, Store: st, Scorecard: board,
		ScorecardEvery: 3 * time.Second, TickInterval: 2 * time.Millisecond, Now: clk.now,
		OnEvent: func(e Event) { evs.add(e); jl.Handle(e) },
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	scorecard := func(e Event) bool { return e.Type == EventScorecard }
	poll(t, "two scorecard events", func() bool { return evs.count(scorecard) >= 2 })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if s, _ := st.Latest("acme/site/area/line1/oven/temp"); s.Context.Value(ctxrole.WorkOrder) != "WO-4711" {
		t.Fatalf("stored sample context %+v", s.Context)
	}
	if a, ok := st.Alert("out_of_range:acme/site/area/line1/oven/temp"); !ok || a.Context.Value(ctxrole.WorkOrder) != "WO-4711" {
		t.Fatalf("alert %+v carries no context", a)
	}
	var last *score.Report
	evs.mu.Lock()
	var gaps []time.Duration
	var prev time.Time
	for _, e := range evs.ev {
		if e.Type == EventScorecard {
			if !prev.IsZero() {
				gaps = append(gaps, e.Scorecard.At.Sub(prev))
			}
			prev, last = e.Scorecard.At, e.Scorecard
		}
	}
	evs.mu.Unlock()
	for _, g := range gaps {
		if g != 3*time.Second {
			t.Errorf("scorecards %v apart on the pipeline's clock, want 3s", g)
		}
	}
	m := last.Machines
	if len(m) != 2 || m[1].Asset != "acme/site/area/line1/oven" || m[1].Samples != 1 || m[1].Validity != 0 || m[1].Alerts["out_of_range"] != 1 || m[1].Availability != 1 {
		t.Fatalf("machines %+v", m)
	}
	if len(last.Periods) != 1 || last.Periods[0].Value != "WO-4711" || last.Periods[0].Level != "work_order" {
		t.Fatalf("periods %+v", last.Periods)
	}
	// The JSON lines: the context on the sample and the alert, the
	// scorecard's figures.
	var sawSample, sawAlert, sawCard bool
	for _, l := range strings.Split(strings.TrimSpace(lines.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		c, _ := m["context"].(map[string]any)
		switch m["type"] {
		case "sample":
			if m["id"] == "acme/site/area/line1/oven/temp" && c["work_order"] == "WO-4711" {
				sawSample = true
			}
		case "alert":
			sawAlert = sawAlert || c["work_order"] == "WO-4711"
		case "scorecard":
			ms, _ := m["machines"].([]any)
			sawCard = sawCard || len(ms) == 2 && m["window_s"] == 900.0
		}
	}
	if !sawSample || !sawAlert || !sawCard {
		t.Errorf("JSON lines: sample %v alert %v scorecard %v\n%s", sawSample, sawAlert, sawCard, lines.String())
	}
}
