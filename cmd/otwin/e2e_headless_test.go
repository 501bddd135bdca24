package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
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
	var cards int // scorecard lines with every machine
	parsed := func() (map[string]int, []headlessLine, error) {
		h, err := parseHeadless(out.Lines(), 2)
		cards = h.cards
		return h.samples, h.alerts, err
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
		checkMetrics(t, metricsAddr)
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
	lockedLines
	old, w   *os.File
	wg       sync.WaitGroup
	restored bool
}

// captureStdout takes over os.Stdout until Stop (or the test's end).
func captureStdout(t *testing.T) *capturedStdout {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	c := &capturedStdout{old: os.Stdout, w: w}
	os.Stdout = w
	c.wg.Add(1)
	go c.follow(r, &c.wg)
	t.Cleanup(c.Stop)
	return c
}

// Lines returns the lines written so far.
func (c *capturedStdout) Lines() []string { return c.all() }

// Stop gives os.Stdout back and reads what is left.
func (c *capturedStdout) Stop() {
	if c.restored {
		return
	}
	c.restored = true
	os.Stdout = c.old
	c.w.Close()
	c.wg.Wait()
}

// checkMetrics checks that the /metrics of addr serve a machine's
// scorecard and an active out_of_range alert.
func checkMetrics(t *testing.T, addr string) {
	t.Helper()
	fams := metricstest.Scrape(t, "http://"+addr+"/metrics")
	if v, ok := metricstest.Value(fams, "otwin_scorecard_completeness_ratio", "level=machine"); !ok || v <= 0 {
		t.Errorf("no completeness gauge of a machine: %v %v", v, ok)
	}
	if v, ok := metricstest.Value(fams, "otwin_alerts_active", "kind=out_of_range"); !ok || v < 1 {
		t.Errorf("otwin_alerts_active{kind=out_of_range} = %v (found %v)", v, ok)
	}
}

// headlessLines are the JSON lines of watch --headless, parsed.
type headlessLines struct {
	samples map[string]int // sample lines per tag id
	alerts  []headlessLine
	cards   int // scorecard lines with machines machines
}

// headlessLine is what the tests read of one line.
type headlessLine struct {
	Type, ID, Kind, Target, Transition, Quality string
	Machines                                    []score.Card
}

// parseHeadless parses lines; an error names a line that is not JSON or
// of an unknown type.
func parseHeadless(lines []string, machines int) (headlessLines, error) {
	h := headlessLines{samples: map[string]int{}}
	for i, l := range lines {
		var x headlessLine
		if err := json.Unmarshal([]byte(l), &x); err != nil {
			return h, fmt.Errorf("line %d %q: %v", i+1, l, err)
		}
		switch x.Type {
		case "sample":
			h.samples[x.ID]++
		case "alert":
			h.alerts = append(h.alerts, x)
		case "scorecard":
			if len(x.Machines) == machines {
				h.cards++
			}
		default:
			return h, fmt.Errorf("line %d: type %q", i+1, x.Type)
		}
	}
	return h, nil
}

// raised says an alert of kind on a target ending in target was raised.
func (h *headlessLines) raised(kind, target string) bool {
	for _, a := range h.alerts {
		if a.Kind == kind && strings.HasSuffix(a.Target, target) && a.Transition == "raised" {
			return true
		}
	}
	return false
}
