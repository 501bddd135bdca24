package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/otwin/otwin/connectors"
	"github.com/otwin/otwin/connectors/isolate"
	"github.com/otwin/otwin/connectors/modbus"
	"github.com/otwin/otwin/connectors/opcua"
	"github.com/otwin/otwin/internal/testkit"
	"github.com/otwin/otwin/normalize"
	"github.com/otwin/otwin/normalize/pipeline"
	"github.com/otwin/otwin/normalize/sources"
	"github.com/otwin/otwin/normalize/store"
	"github.com/otwin/otwin/scenarios"
	"github.com/otwin/otwin/twin/control"
)

// Shared end-to-end fixtures: a twin and a collector running in-process on
// 127.0.0.1 with free ports, stopped by t.Cleanup, and recorders of what the
// pipeline and the store deliver. Every wait polls with a deadline.

// e2eLogger is the log of end-to-end fixtures: discarded unless
// OTWIN_E2E_LOG is set (then text on stderr at debug level).
func e2eLogger() *slog.Logger {
	if os.Getenv("OTWIN_E2E_LOG") == "" {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// parseScenario resolves a scenario written in YAML, as Load would.
func parseScenario(t testing.TB, name, src string) *scenarios.Scenario {
	t.Helper()
	sc, err := scenarios.Parse(name+".yaml", []byte(src))
	if err != nil {
		t.Fatalf("scenario %s: %v", name, err)
	}
	return sc
}

// shippedScenario returns the built-in example name (bottling, cnc,
// pasteurizer), resolved.
func shippedScenario(t testing.TB, name string) *scenarios.Scenario {
	t.Helper()
	sc, err := scenarios.Example(name)
	if err != nil {
		t.Fatalf("example %s: %v", name, err)
	}
	return sc
}

// e2eTwin is a running twin with its control client.
type e2eTwin struct {
	*runningTwin
	Control *control.Client
}

// startE2ETwin serves sc on free ports of 127.0.0.1 with a control
// endpoint; the twin is closed when the test ends.
func startE2ETwin(t testing.TB, sc *scenarios.Scenario) *e2eTwin {
	t.Helper()
	rt, err := startTwin(context.Background(), sc, twinConfig{
		Host: "127.0.0.1", Ephemeral: true, DataDir: t.TempDir(), Logger: e2eLogger(),
	})
	if err != nil {
		t.Fatalf("start twin: %v", err)
	}
	t.Cleanup(func() { rt.Close() })
	cl, err := control.NewClient(rt.ControlURL, nil)
	if err != nil {
		t.Fatalf("control client: %v", err)
	}
	return &e2eTwin{runningTwin: rt, Control: cl.WithToken(rt.ControlToken)}
}

// exportFast is exportSources with the short intervals of the end-to-end
// tests: OPC UA publishing 100ms (sampling 50ms, timeout 1s), Modbus
// polling 100ms (timeout 500ms), comm loss 1s, and the pipeline's tick at
// 100ms (see startE2ECollector).
func exportFast(t testing.TB, sc *scenarios.Scenario, eps []endpoint) *sources.File {
	t.Helper()
	f := exportSources(sc, eps, exportBoth)
	f.Defaults.CommLoss = time.Second
	for i := range f.Sources {
		switch c := f.Sources[i].Config.(type) {
		case *opcua.Config:
			c.PublishingInterval = 100 * time.Millisecond
			c.SamplingInterval = 50 * time.Millisecond
			c.Timeout = time.Second
		case *modbus.Config:
			c.PollInterval = 100 * time.Millisecond
			c.Timeout = 500 * time.Millisecond
		}
	}
	return f
}

// setRules overrides the rules of the point whose tag id is id.
func setRules(t testing.TB, f *sources.File, id string, r sources.Rules) {
	t.Helper()
	for i := range f.Sources {
		for j := range f.Sources[i].Points {
			p := &f.Sources[i].Points[j]
			if p.Asset+"/"+p.Tag == id {
				p.Rules = &r
				return
			}
		}
	}
	t.Fatalf("no point %s in the sources", id)
}

// sourceOf returns the source that reads tag id.
func sourceOf(t testing.TB, f *sources.File, id string) *sources.Source {
	t.Helper()
	for i := range f.Sources {
		for _, p := range f.Sources[i].Points {
			if p.Asset+"/"+p.Tag == id {
				return &f.Sources[i]
			}
		}
	}
	t.Fatalf("no point %s in the sources", id)
	return nil
}

// pointIDs returns every tag id of f.
func pointIDs(f *sources.File) []string {
	var ids []string
	for _, s := range f.Sources {
		for _, p := range s.Points {
			ids = append(ids, p.Asset+"/"+p.Tag)
		}
	}
	return ids
}

// e2eCollector is a running collector with a recorder on its pipeline.
type e2eCollector struct {
	*collector
	Rec *eventRecorder
}

// startE2ECollector builds the collector of f (newCollector, as otwin
// watch does), hooks a recorder on the pipeline, ticks every 100ms and
// runs it until the test ends.
func startE2ECollector(t testing.TB, f *sources.File) *e2eCollector {
	t.Helper()
	return startE2ECollectorWith(t, f, isolate.Options{})
}

// startE2ECollectorWith is startE2ECollector with isolated connectors
// supervised as iso says.
func startE2ECollectorWith(t testing.TB, f *sources.File, iso isolate.Options) *e2eCollector {
	t.Helper()
	return startE2ECollectorHooked(t, f, iso, nil)
}

// startE2ECollectorHooked is startE2ECollectorWith whose pipeline also
// gives every event to also (when not nil), after the recorder.
func startE2ECollectorHooked(t testing.TB, f *sources.File, iso isolate.Options, also func(pipeline.Event)) *e2eCollector {
	t.Helper()
	col, err := newCollectorWith(f, connectors.Env{DataDir: t.TempDir(), Logger: e2eLogger()}, iso, nil)
	if err != nil {
		t.Fatalf("collector: %v", err)
	}
	rec := newEventRecorder()
	col.Pipeline.OnEvent = rec.Handle
	if also != nil {
		col.Pipeline.OnEvent = func(e pipeline.Event) { rec.Handle(e); also(e) }
	}
	col.Pipeline.TickInterval = 100 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- col.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("collector: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("collector did not stop within 10s of its context ending")
		}
		col.Store.Close()
	})
	return &e2eCollector{collector: col, Rec: rec}
}

// alertRecord is one alert transition seen by a recorder.
type alertRecord struct {
	At         time.Time
	Transition string
	Alert      normalize.Alert
}

// eventRecorder records every sample (per tag, in order) and every alert
// transition a pipeline publishes. It is safe for concurrent use.
type eventRecorder struct {
	mu      sync.Mutex
	samples map[string][]normalize.Sample
	alerts  []alertRecord
}

func newEventRecorder() *eventRecorder {
	return &eventRecorder{samples: map[string][]normalize.Sample{}}
}

// Handle is a pipeline OnEvent hook.
func (r *eventRecorder) Handle(e pipeline.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case e.Type == pipeline.EventSample && e.Sample != nil:
		r.samples[e.Sample.ID] = append(r.samples[e.Sample.ID], *e.Sample)
	case e.Type == pipeline.EventAlert && e.Alert != nil:
		r.alerts = append(r.alerts, alertRecord{At: time.Now(), Transition: e.Transition, Alert: *e.Alert})
	}
}

// Samples returns a copy of the samples of tag id, in publication order.
func (r *eventRecorder) Samples(id string) []normalize.Sample {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.samples[id])
}

// Last returns the latest sample of tag id.
func (r *eventRecorder) Last(id string) (normalize.Sample, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.samples[id]
	if len(s) == 0 {
		return normalize.Sample{}, false
	}
	return s[len(s)-1], true
}

// Count returns how many samples tag id had so far.
func (r *eventRecorder) Count(id string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.samples[id])
}

// Alerts returns the alert transitions so far, oldest first.
func (r *eventRecorder) Alerts() []alertRecord {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.alerts)
}

// AlertSince returns the first transition of alert id since index from
// (of Alerts) whose transition is what ("" for any), and its index.
func (r *eventRecorder) AlertSince(from int, id, what string) (alertRecord, int, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := from; i < len(r.alerts); i++ {
		a := r.alerts[i]
		if a.Alert.ID == id && (what == "" || a.Transition == what) {
			return a, i, true
		}
	}
	return alertRecord{}, -1, false
}

// Mark returns the current number of alert transitions, to look only at
// later ones.
func (r *eventRecorder) Mark() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.alerts)
}

// checkOrder reports, for tag id, every duplicate or out-of-order sample:
// Seq must increase strictly, and time must not go back (see below).
func checkOrder(samples []normalize.Sample) error {
	for i := 1; i < len(samples); i++ {
		p, s := samples[i-1], samples[i]
		if s.Seq <= p.Seq {
			return fmt.Errorf("sample %d of %s: seq %d after %d", i, s.ID, s.Seq, p.Seq)
		}
		// Ordered by the server's clock when both have one (a device clock
		// may step back, as a clock-skew fault ending does), else by the
		// source's.
		if !s.ServerTime.IsZero() && !p.ServerTime.IsZero() {
			if s.ServerTime.Before(p.ServerTime) {
				return fmt.Errorf("sample %d of %s: server time %s before %s", i, s.ID,
					s.ServerTime.Format(time.RFC3339Nano), p.ServerTime.Format(time.RFC3339Nano))
			}
		} else if !s.SourceTime.IsZero() && !p.SourceTime.IsZero() && s.SourceTime.Before(p.SourceTime) {
			return fmt.Errorf("sample %d of %s: source time %s before %s", i, s.ID,
				s.SourceTime.Format(time.RFC3339Nano), p.SourceTime.Format(time.RFC3339Nano))
		}
	}
	return nil
}

// storeRecorder records every batch a store subscription delivers: the
// latest sample per tag of each frame (intermediate values of one frame
// are coalesced by the store), alerts and health.
type storeRecorder struct {
	sub     *store.Subscription
	done    chan struct{}
	mu      sync.Mutex
	samples map[string][]normalize.Sample
	alerts  map[string]normalize.Alert
	health  map[string]connectors.Health
}

// subscribeStore subscribes to st until the test ends.
func subscribeStore(t testing.TB, st *store.Store) *storeRecorder {
	t.Helper()
	r := &storeRecorder{
		sub: st.Subscribe(), done: make(chan struct{}),
		samples: map[string][]normalize.Sample{}, alerts: map[string]normalize.Alert{},
		health: map[string]connectors.Health{},
	}
	go func() {
		defer close(r.done)
		for b := range r.sub.C() {
			r.mu.Lock()
			for _, s := range b.Samples {
				r.samples[s.ID] = append(r.samples[s.ID], s)
			}
			for _, a := range b.Alerts {
				r.alerts[a.ID] = a
			}
			for _, h := range b.Health {
				r.health[h.Source] = h
			}
			r.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		r.sub.Close()
		<-r.done
	})
	return r
}

// Samples returns a copy of what the subscription delivered for tag id.
func (r *storeRecorder) Samples(id string) []normalize.Sample {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.samples[id])
}

// waitUntil is testkit.Eventually: it polls cond until it holds, failing
// the test with what when timeout passes first, and returns the time the
// wait took.
func waitUntil(t testing.TB, timeout time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	return testkit.Eventually(t, timeout, what, cond)
}

// pollUntil is testkit.Poll: false when timeout passes before cond holds.
func pollUntil(timeout time.Duration, cond func() bool) bool { return testkit.Poll(timeout, cond) }

// healthOf returns the store's health of source.
func healthOf(st *store.Store, source string) (connectors.Health, bool) {
	for _, h := range st.Health() {
		if h.Source == source {
			return h, true
		}
	}
	return connectors.Health{}, false
}

// startTestProcess starts this test binary as a child process that runs
// only the test named run, with env added to this process's environment;
// its standard input and output are piped to the caller, its standard
// error is this process's. The child's test tells from env what to do.
func startTestProcess(t testing.TB, run string, env ...string) (*exec.Cmd, io.WriteCloser, io.ReadCloser) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+run+"$", "-test.v")
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start the process of %s: %v", run, err)
	}
	return cmd, stdin, stdout
}
