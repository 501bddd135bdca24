package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/otwin/otwin/normalize"
	"github.com/otwin/otwin/normalize/store"
)

// holdScenario has one noisy tag read over Modbus (watched for frozen by
// the exported sources) and a fault that sticks it.
const holdScenario = `
name: holdline
tick: 100ms
location: {enterprise: acme, site: plant, area: tanks, line: line1}
machines:
  - name: tank1
    modbus: {port: 0, unit_id: 1}
    tags:
      - name: level
        unit: "%"
        range: {low: 0, high: 100}
        model:
          sine: {offset: 50, amplitude: 2, period: 60s}
          noise: {stddev: 0.5}
        modbus: {table: input, address: 0, type: float32}
faults:
  - name: level-stuck
    kind: stuck
    target: tank1/level
`

// frozenOn returns the frozen alert on a tag whose id ends with tag.
func frozenOn(st *store.Store, tag string) (normalize.Alert, bool) {
	for _, a := range st.Alerts() {
		if a.Kind == normalize.AlertFrozen && strings.HasSuffix(a.Target, tag) {
			return a, true
		}
	}
	return normalize.Alert{}, false
}

// TestE2EPausedTwinRaisesNoFrozen: the in-process line (demo, ssh
// --scenario, workshop) holds its collector's rules while the twin's
// clock is paused: paused for longer than the frozen window and resumed,
// the noisy tag raises no frozen alert, while a collector that does not
// follow the pause (the control) calls it frozen. After the resume a
// stuck fault still raises frozen.
func TestE2EPausedTwinRaisesNoFrozen(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	line, err := startLocalLine(ctx, parseScenario(t, "hold", holdScenario), t.TempDir(), nil, nil, e2eLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer line.Close()
	plain, err := newCollector(line.Collector.Sources, t.TempDir(), nil, e2eLogger())
	if err != nil {
		t.Fatal(err)
	}
	eng, held := line.Twin.Engine, line.Collector.Store
	for _, c := range []*collector{line.Collector, plain} {
		done := make(chan error, 1)
		go func() { done <- c.Run(ctx) }()
		defer func() {
			cancel()
			if err := <-done; err != nil {
				t.Error(err)
			}
		}()
	}
	const tag = "tank1/level"
	waitUntil(t, 30*time.Second, "both collectors reading", func() bool { return allConnected(line.Collector) && allConnected(plain) })

	eng.Pause()
	paused := time.Now()
	waitUntil(t, frozenWindow+15*time.Second, "the control collector's frozen alert", func() bool {
		if a, ok := frozenOn(held, tag); ok {
			t.Fatalf("frozen %s after %s paused: %s", a.ID, time.Since(paused).Round(time.Millisecond), a.Message)
		}
		_, ok := frozenOn(plain.Store, tag)
		return ok
	})
	// A few more ticks of the line's pipeline: still nothing.
	if pollUntil(3*time.Second, func() bool { _, ok := frozenOn(held, tag); return ok }) {
		a, _ := frozenOn(held, tag)
		t.Fatalf("frozen %s after %s paused: %s", a.ID, time.Since(paused).Round(time.Millisecond), a.Message)
	}
	// The last value read may be up to a poll older than the pause.
	if d := time.Since(paused); d < frozenWindow-2*time.Second {
		t.Fatalf("the control raised frozen %s into the pause, before the window (%s)", d, frozenWindow)
	}
	if !line.Collector.Normalizer.Held() {
		t.Error("the line's rules are not held while the twin is paused")
	}
	eng.Resume()
	waitUntil(t, 10*time.Second, "values moving again (the control's frozen cleared)", func() bool {
		a, _ := frozenOn(plain.Store, tag)
		return a.State != normalize.ActiveUnacked && a.State != normalize.ActiveAcked
	})
	if a, ok := frozenOn(held, tag); ok {
		t.Fatalf("frozen around the pause: %+v", a)
	}
	if line.Collector.Normalizer.Held() {
		t.Error("the line's rules still held after the resume")
	}

	if err := eng.InjectNamed("level-stuck"); err != nil {
		t.Fatal(err)
	}
	stuck := time.Now()
	waitUntil(t, frozenWindow+15*time.Second, "frozen of the stuck fault", func() bool {
		_, ok := frozenOn(held, tag)
		return ok
	})
	if d := time.Since(stuck); d < frozenWindow-2*time.Second {
		t.Errorf("frozen %s after the fault, before the window (%s)", d, frozenWindow)
	}
}
