package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/otwin/otwin/internal/testkit"
	"github.com/otwin/otwin/units"

	"github.com/otwin/otwin/connectors"
	"github.com/otwin/otwin/normalize"
	"github.com/otwin/otwin/normalize/store"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// fakeConn delivers its readings, then waits for ctx, or fails at once
// with err (or panics with a non-empty panicMsg).
type fakeConn struct {
	name     string
	readings []connectors.Reading
	err      error
	panicMsg string
	exited   atomic.Bool
}

func (f *fakeConn) Name() string { return f.name }
func (f *fakeConn) Run(ctx context.Context, out chan<- connectors.Reading) error {
	defer f.exited.Store(true)
	if f.panicMsg != "" {
		panic(f.panicMsg)
	}
	if f.err != nil {
		return f.err
	}
	for _, r := range f.readings {
		select {
		case out <- r:
		case <-ctx.Done():
			return nil
		}
	}
	<-ctx.Done()
	return nil
}
func (f *fakeConn) Health() connectors.Health {
	return connectors.Health{Source: f.name, Protocol: "fake", State: connectors.Connected, Since: t0}
}

// clock advances step per call (none: it moves only by set).
type clock struct {
	mu   sync.Mutex
	t    time.Time
	step time.Duration
	n    int
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(c.step)
	c.n++
	return c.t
}

// set moves the clock to t0+d, and returns once it has been read at least
// twice since (a tick of the pipeline ran wholly at that time).
func (c *clock) set(t *testing.T, d time.Duration) {
	t.Helper()
	c.mu.Lock()
	c.t = t0.Add(d)
	from := c.n
	c.mu.Unlock()
	poll(t, fmt.Sprintf("ticks at %v", d), func() bool { return c.ticks() >= from+2 })
}

// ticks is how often the clock was read.
func (c *clock) ticks() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// logBuf is a concurrency-safe log sink.
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

type events struct {
	mu sync.Mutex
	ev []Event
}

func (e *events) add(ev Event)                { e.mu.Lock(); e.ev = append(e.ev, ev); e.mu.Unlock() }
func (e *events) has(f func(Event) bool) bool { return e.count(f) > 0 }

func (e *events) count(f func(Event) bool) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	for _, ev := range e.ev {
		if f(ev) {
			n++
		}
	}
	return n
}

func poll(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testkit.Eventually(t, 5*time.Second, what, cond)
}

func TestPipeline(t *testing.T) {
	n, err := normalize.New(normalize.Config{Points: []normalize.Point{
		{Source: "good", Address: "a", Asset: "site/l1/m1", Tag: "a", Range: &normalize.Range{Low: 0, High: 10}},
		{Source: "good", Address: "b", Asset: "site/l1/m1", Tag: "b"},
		{Source: "bad", Address: "x", Asset: "site/l1/m2", Tag: "x"},
		{Source: "boom", Address: "y", Asset: "site/l1/m3", Tag: "y"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	st := store.New(store.Config{FrameInterval: 5 * time.Millisecond})
	defer st.Close()
	good := &fakeConn{name: "good", readings: []connectors.Reading{
		{Source: "good", Address: "a", Raw: 5.0, SourceTime: t0, Received: t0},
		{Source: "good", Address: "b", Raw: int64(3), SourceTime: t0, Received: t0},
		{Source: "good", Address: "a", Raw: 50.0, SourceTime: t0.Add(time.Second), Received: t0.Add(time.Second)},
		{Source: "good", Address: "zzz", Raw: 1.0},
	}}
	bad := &fakeConn{name: "bad", err: errors.New("invalid endpoint URL")}
	boom := &fakeConn{name: "boom", panicMsg: "nil map"}
	var evs events
	var logs logBuf
	clk := &clock{t: t0, step: time.Second}
	p := &Pipeline{
		Connectors: []connectors.Connector{good, bad, boom}, Normalizer: n, Store: st,
		TickInterval: 2 * time.Millisecond, OnEvent: evs.add, Now: clk.now,
		Logger: slog.New(slog.NewTextHandler(&logs, nil)),
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()

	poll(t, "sample a=50", func() bool { s, ok := st.Latest("site/l1/m1/a"); return ok && s.Value == 50 })
	if s, _ := st.Latest("site/l1/m1/b"); s.Value != 3 || s.Status != connectors.Good {
		t.Fatalf("b: %+v", s)
	}
	// The tag never read shows it.
	if s, _ := st.Latest("site/l1/m2/x"); s.Status != connectors.BadWaitingForInitialData {
		t.Fatalf("x: %+v", s)
	}
	// The failed connectors are reported down with their error...
	poll(t, "health of failed connectors", func() bool {
		var down int
		for _, h := range st.Health() {
			if h.State == connectors.Down && h.LastError != nil {
				down++
			}
		}
		return down == 2
	})
	for _, h := range st.Health() {
		if h.Source == "boom" && !strings.Contains(h.LastError.Error(), "panicked: nil map") {
			t.Errorf("boom health: %v", h.LastError)
		}
	}
	// ...and, once the comm-loss limit passed on the pipeline's clock,
	// raise comm_loss; the out-of-range value raised its alert too.
	poll(t, "comm loss alert", func() bool { _, ok := st.Alert("comm_loss:bad"); return ok })
	poll(t, "alerts in store", func() bool {
		ids := map[string]bool{}
		for _, a := range st.Alerts() {
			ids[a.ID] = true
		}
		return ids["comm_loss:bad"] && ids["comm_loss:boom"] && ids["out_of_range:site/l1/m1/a"]
	})
	if !evs.has(func(e Event) bool {
		return e.Type == EventAlert && e.Transition == "raised" && e.Alert.ID == "comm_loss:bad"
	}) {
		t.Error("no alert event")
	}
	if !evs.has(func(e Event) bool { return e.Type == EventSample && e.Sample.ID == "site/l1/m1/b" }) {
		t.Error("no sample event")
	}
	// A user ack through the store shows as an event too, once.
	if err := st.Ack("comm_loss:bad", "ana", ""); err != nil {
		t.Fatal(err)
	}
	acked := func(e Event) bool { return e.Type == EventAlert && e.Transition == "acked" }
	poll(t, "ack event", func() bool { return evs.count(acked) > 0 })
	// Every transition once: the ack and each raise of the alerts above,
	// however many ticks and batches follow.
	ticks := clk.ticks()
	poll(t, "a few more ticks", func() bool { return clk.ticks() > ticks+3 })
	if n := evs.count(acked); n != 1 {
		t.Errorf("the ack was published %d times, want once", n)
	}
	for _, id := range []string{"comm_loss:bad", "comm_loss:boom", "out_of_range:site/l1/m1/a"} {
		if n := evs.count(func(e Event) bool { return e.Type == EventAlert && e.Transition == "raised" && e.Alert.ID == id }); n != 1 {
			t.Errorf("%s raised %d times in the events, want once", id, n)
		}
	}
	if n.Stats().Unknown != 1 {
		t.Errorf("stats %+v", n.Stats())
	}
	poll(t, "logs", func() bool {
		l := logs.String()
		return strings.Contains(l, `address="good zzz"`) && strings.Contains(l, "invalid endpoint URL")
	})
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	if !good.exited.Load() {
		t.Fatal("connector goroutine still running after Run returned")
	}
}

// TestPipelineHold: a tag that gets no update while the pipeline is held
// is not stale for the held time, however long; before and after the hold
// the time counts, and stale is raised once the limit is passed.
func TestPipelineHold(t *testing.T) {
	n, err := normalize.New(normalize.Config{Points: []normalize.Point{
		{Source: "s", Address: "a", Asset: "site/l1/m1", Tag: "a", Rules: &normalize.Rules{Stale: 5 * time.Second}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	st := store.New(store.Config{FrameInterval: 5 * time.Millisecond})
	defer st.Close()
	conn := &fakeConn{name: "s", readings: []connectors.Reading{{Source: "s", Address: "a", Raw: 5.0, SourceTime: t0, Received: t0}}}
	clk := &clock{t: t0}
	p := &Pipeline{Connectors: []connectors.Connector{conn}, Normalizer: n, Store: st, TickInterval: time.Millisecond, Now: clk.now}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	const stale = "stale:site/l1/m1/a"
	poll(t, "sample a", func() bool { _, ok := st.Latest("site/l1/m1/a"); return ok })
	clk.set(t, 2*time.Second)
	p.Hold()
	if !n.Held() {
		t.Fatal("not held after Hold")
	}
	clk.set(t, time.Minute)
	if a, ok := st.Alert(stale); ok {
		t.Fatalf("stale while held: %+v", a)
	}
	p.Resume()
	clk.set(t, time.Minute+2*time.Second) // 4s counted
	if a, ok := st.Alert(stale); ok {
		t.Fatalf("stale with 4s counted: %+v", a)
	}
	clk.set(t, time.Minute+4*time.Second)
	poll(t, "stale with 6s counted", func() bool { _, ok := st.Alert(stale); return ok })
	if a, _ := st.Alert(stale); !strings.Contains(a.Message, "no update for 6s") {
		t.Errorf("message %q", a.Message)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestRunNeedsParts(t *testing.T) {
	if err := (&Pipeline{}).Run(context.Background()); err == nil {
		t.Fatal("no error")
	}
}

func TestEventJSON(t *testing.T) {
	u, _ := units.Lookup("degC")
	s := normalize.Sample{
		ID: "s/l/m/t", Asset: "s/l/m", Tag: "t", Value: 21.5, Unit: u, Status: connectors.Good,
		HasLastGood: true, LastGood: 21.5, LastGoodTime: t0, SourceTime: t0, Received: t0.Add(time.Millisecond),
		Source: "plc", Address: "nsu=urn:x;s=T", Seq: 7,
	}
	a := normalize.Alert{ID: "stale:s/l/m/t", Kind: normalize.AlertStale, Target: "s/l/m/t", Severity: normalize.SeverityMedium,
		State: normalize.ActiveUnacked, Message: "no update for 12s (limit 5s)", FirstActive: t0, LastActive: t0, Count: 1}
	var buf bytes.Buffer
	j := NewJSONLines(&buf)
	j.Handle(Event{Type: EventSample, Sample: &s})
	bad := s
	bad.Status, bad.Err = connectors.BadSensorFailure, "sensor"
	j.Handle(Event{Type: EventSample, Sample: &bad})
	j.Handle(Event{Type: EventAlert, Alert: &a, Transition: "raised"})
	if j.Err() != nil {
		t.Fatal(j.Err())
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d lines", len(lines))
	}
	want := []string{
		`{"type":"sample","id":"s/l/m/t","asset":"s/l/m","tag":"t","value":21.5,"unit":"°C","unit_code":"CEL","quality":"Good","status":"Good","status_code":0,"last_good":21.5,"last_good_time":"2026-01-02T03:04:05Z","source_time":"2026-01-02T03:04:05Z","received":"2026-01-02T03:04:05.001Z","source":"plc","address":"nsu=urn:x;s=T","seq":7}`,
		`{"type":"alert","transition":"raised","id":"stale:s/l/m/t","kind":"stale","target":"s/l/m/t","severity":"medium","state":"active_unacked","message":"no update for 12s (limit 5s)","first_active":"2026-01-02T03:04:05Z","last_active":"2026-01-02T03:04:05Z","count":1}`,
	}
	if lines[0] != want[0] {
		t.Errorf("sample:\n got %s\nwant %s", lines[0], want[0])
	}
	if lines[2] != want[1] {
		t.Errorf("alert:\n got %s\nwant %s", lines[2], want[1])
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(lines[1]), &m); err != nil {
		t.Fatal(err)
	}
	if m["value"] != nil || m["last_good"] != 21.5 || m["quality"] != "Bad" || m["error"] != "sensor" {
		t.Errorf("bad sample: %v", m)
	}
}

// failWriter accepts n bytes, then fails every write.
type failWriter struct {
	n, writes int
}

var errFull = errors.New("no space left on device")

func (w *failWriter) Write(p []byte) (int, error) {
	w.writes++
	if len(p) > w.n {
		k := w.n
		w.n = 0
		return k, errFull
	}
	w.n -= len(p)
	return len(p), nil
}

// TestJSONLinesWriteError: the first write error is kept (Err, naming what
// was written) and nothing more is written after it.
func TestJSONLinesWriteError(t *testing.T) {
	s := normalize.Sample{ID: "s/l/m/t", Status: connectors.Good, Source: "plc", Address: "a"}
	w := &failWriter{n: 200}
	j := NewJSONLines(w)
	if j.Handle(Event{Type: EventSample, Sample: &s}); j.Err() != nil {
		t.Fatalf("first line: %v", j.Err())
	}
	j.Handle(Event{Type: EventSample, Sample: &s})
	if err := j.Err(); !errors.Is(err, errFull) || !strings.Contains(err.Error(), "write sample event") {
		t.Fatalf("second line: %v, want the write error naming the event", err)
	}
	writes := w.writes
	j.Handle(Event{Type: EventSample, Sample: &s})
	if w.writes != writes || !errors.Is(j.Err(), errFull) {
		t.Fatalf("after the error: %d more writes, Err %v", w.writes-writes, j.Err())
	}
}
