package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/goccy/go-yaml"

	"github.com/otwin/otwin/normalize/metrics/metricstest"
	"github.com/otwin/otwin/normalize/score"
	"github.com/otwin/otwin/scenarios"
)

// twoProtocolScenario has one OPC UA machine (ua) and one Modbus machine
// (mb), each with a moving value v (0..100 °C) and a counter n.
const twoProtocolScenario = `
name: e2erestart
tick: 100ms
opcua: {security: [none]}
templates:
  Sensor:
    tags:
      - name: v
        unit: degC
        range: {low: 0, high: 100}
        model:
          sine: {offset: 50, amplitude: 10, period: 20s}
          noise: {stddev: 0.5}
        modbus: {table: input, address: 0, type: float32}
      - name: n
        type: uint32
        model: {counter: {rate: 10}}
        modbus: {table: holding, address: 4, type: uint32}
machines:
  - {name: ua, template: Sensor, opcua: {port: 4904}}
  - {name: mb, template: Sensor, modbus: {port: 5106}}
`

// TestE2EWatchHeadless runs `otwin watch --headless` through run (the
// whole program) against an in-process twin's exported sources file: every
// line on stdout is JSON, every tag has samples, and an injected fault
// gives an alert line. Not parallel: it takes over os.Stdout while it runs.
func TestE2EWatchHeadless(t *testing.T) {
	sc := parseScenario(t, "e2erestart", twoProtocolScenario)
	tw := startE2ETwin(t, sc)
	f := exportFast(t, sc, tw.Endpoints)
	data, err := yaml.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "sources.yaml")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}

	out := captureStdout(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	code := make(chan int, 1)
	metricsAddr := freeAddr(t)
	go func() {
		code <- run(ctx, []string{"watch", path, "--headless", "--data-dir", filepath.Join(dir, "data"), "--log-level", "error",
			"--scorecard-every", "1s", "--metrics", metricsAddr})
	}()
	type line struct {
		Type, ID, Kind, Target, Transition, Quality string
		Machines                                    []score.Card
	}
	var cards int // scorecard lines with every machine
	parsed := func() (map[string]int, []line, error) {
		samples := map[string]int{}
		cards = 0
		var alerts []line
		for i, l := range out.Lines() {
			var x line
			if err := json.Unmarshal([]byte(l), &x); err != nil {
				return nil, nil, fmt.Errorf("line %d %q: %v", i+1, l, err)
			}
			switch x.Type {
			case "sample":
				samples[x.ID]++
			case "alert":
				alerts = append(alerts, x)
			case "scorecard":
				if len(x.Machines) == 2 {
					cards++
				}
			default:
				return nil, nil, fmt.Errorf("line %d: type %q", i+1, x.Type)
			}
		}
		return samples, alerts, nil
	}
	var perr error
	ok := pollUntil(20*time.Second, func() bool {
		samples, _, err := parsed()
		if err != nil {
			perr = err
			return true
		}
		for _, id := range pointIDs(f) {
			if samples[id] < 2 {
				return false
			}
		}
		return true
	})
	var injErr error
	if ok && perr == nil {
		_, injErr = tw.Control.Inject(ctx, scenarios.Fault{Name: "hot", Kind: scenarios.OutOfRange, Target: "mb/v", Value: ptr(250.0)})
	}
	gotAlert := ok && perr == nil && injErr == nil && pollUntil(5*time.Second, func() bool {
		_, alerts, err := parsed()
		if err != nil {
			perr = err
			return true
		}
		for _, a := range alerts {
			if a.Kind == "out_of_range" && a.Target == "mb/v" && a.Transition == "raised" {
				return true
			}
		}
		return false
	})
	// The scorecards come every second, and /metrics serves them.
	gotCards := gotAlert && pollUntil(5*time.Second, func() bool { parsed(); return cards > 0 })
	if gotCards {
		fams := metricstest.Scrape(t, "http://"+metricsAddr+"/metrics")
		if v, ok := metricstest.Value(fams, "otwin_scorecard_completeness_ratio", "level=machine"); !ok || v <= 0 {
			t.Errorf("no completeness gauge of a machine: %v %v", v, ok)
		}
		if v, ok := metricstest.Value(fams, "otwin_alerts_active", "kind=out_of_range"); !ok || v < 1 {
			t.Errorf("otwin_alerts_active{kind=out_of_range} = %v (found %v)", v, ok)
		}
	}
	cancel()
	var exit int
	select {
	case exit = <-code:
	case <-time.After(10 * time.Second):
		out.Stop()
		t.Fatal("otwin watch did not return within 10s of its context ending")
	}
	out.Stop()
	samples, _, err := parsed()
	switch {
	case perr != nil:
		t.Fatalf("stdout: %v", perr)
	case err != nil:
		t.Fatalf("stdout: %v", err)
	case !ok:
		t.Fatalf("not every tag had samples within 20s: %v", samples)
	case injErr != nil:
		t.Fatalf("inject: %v", injErr)
	case !gotAlert:
		t.Fatalf("no out_of_range alert line within 5s of the fault")
	case !gotCards:
		t.Fatalf("no scorecard line of both machines within 5s")
	}
	if exit != 0 {
		t.Errorf("otwin watch exit code %d, want 0", exit)
	}
	t.Logf("%d lines; samples per tag: %v", len(out.Lines()), samples)
}

// capturedStdout is os.Stdout taken over by a test (the program under
// test writes there), read line by line.
type capturedStdout struct {
	mu       sync.Mutex
	lines    []string
	old, w   *os.File
	done     chan struct{}
	restored bool
}

// captureStdout takes over os.Stdout until Stop (or the test's end).
func captureStdout(t *testing.T) *capturedStdout {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	c := &capturedStdout{old: os.Stdout, w: w, done: make(chan struct{})}
	os.Stdout = w
	go func() {
		defer close(c.done)
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			c.mu.Lock()
			c.lines = append(c.lines, sc.Text())
			c.mu.Unlock()
		}
	}()
	t.Cleanup(c.Stop)
	return c
}

// Lines returns the lines written so far.
func (c *capturedStdout) Lines() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.lines)
}

// Stop gives os.Stdout back and reads what is left.
func (c *capturedStdout) Stop() {
	if c.restored {
		return
	}
	c.restored = true
	os.Stdout = c.old
	c.w.Close()
	<-c.done
}
