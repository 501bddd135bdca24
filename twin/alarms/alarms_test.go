package alarms

import (
	"errors"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/otwin/otwin/scenarios"
	"github.com/otwin/otwin/twin"
)

// clock is a wall clock tests move by hand.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

// testTwin is an engine and its alarms, driven by Step.
type testTwin struct {
	t   *testing.T
	e   *twin.Engine
	set *Set
	clk *clock
}

func newTestTwin(t *testing.T, yml string) *testTwin {
	t.Helper()
	sc, err := scenarios.Parse("alarms_test.yaml", []byte(yml))
	if err != nil {
		t.Fatal(err)
	}
	clk := &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	quiet := slog.New(slog.DiscardHandler)
	e, err := twin.New(sc, twin.Options{Now: clk.now, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	set, err := New(e, sc, Options{Now: clk.now, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	return &testTwin{t: t, e: e, set: set, clk: clk}
}

// write sets a writable tag and runs one tick.
func (tt *testTwin) write(tag string, v any) {
	tt.t.Helper()
	i, ok := tt.e.Lookup(tag)
	if !ok {
		tt.t.Fatalf("no tag %s", tag)
	}
	if err := tt.e.Write(i, v); err != nil {
		tt.t.Fatal(err)
	}
	tt.step(1)
}

func (tt *testTwin) step(n int) {
	for range n {
		tt.clk.t = tt.clk.t.Add(100 * time.Millisecond)
		tt.e.Step(1)
	}
}

func (tt *testTwin) state(name string) State {
	tt.t.Helper()
	i, ok := tt.set.Lookup(name)
	if !ok {
		tt.t.Fatalf("no alarm %s", name)
	}
	return tt.set.State(i)
}

func (tt *testTwin) index(name string) int {
	i, _ := tt.set.Lookup(name)
	return i
}

const limitScenario = `
name: lim
tick: 100ms
machines:
  - name: m
    modbus: {port: 0}
    tags:
      - {name: x, writable: true, model: {constant: {value: 50}}}
      - name: mode
        type: string
        writable: true
        model: {state_machine: {states: [{name: Run, dwell: {min: 1h, max: 1h}}, {name: Fault, dwell: {min: 1h, max: 1h}}]}}
      - name: code
        type: int16
        writable: true
        model: {state_machine: {states: [{name: Run, code: 1, dwell: {min: 1h, max: 1h}}, {name: Fault, code: 4, dwell: {min: 1h, max: 1h}}]}}
      - {name: flag, type: bool, writable: true, model: {constant: {value: false}}}
faults:
  - {name: x-bad, kind: bad_quality, target: m/x}
  - {name: x-unc, kind: uncertain_quality, target: m/x}
alarms:
  - name: x-excl
    tag: m/x
    limits: {high_high: 90, high: 80, low: 20, low_low: 10}
    deadband: 2
  - name: x-nonex
    tag: m/x
    limits: {high_high: 90, high: 80}
    exclusive: false
    severity: 800
  - name: x-delay
    tag: m/x
    limits: {high: 80}
    on_delay: 1s
    off_delay: 500ms
  - name: mode-fault
    tag: m/mode
    states: [Fault]
  - name: code-fault
    tag: m/code
    states: [Fault]
  - name: mode-normal
    tag: m/mode
    normal: Run
  - name: flag-on
    tag: m/flag
    states: [true]
    confirm: true
    modbus: {discrete: 7}
  - name: x-quality
    tag: m/x
    quality: bad
  - name: x-notgood
    tag: m/x
    quality: not_good
  - name: x-latch
    tag: m/x
    limits: {high: 80}
    latch: true
`

func TestLimitExclusiveWithDeadband(t *testing.T) {
	tt := newTestTwin(t, limitScenario)
	for _, c := range []struct {
		x      float64
		active bool
		limit  string
	}{
		{50, false, ""},
		{80, false, ""}, // not above
		{80.5, true, "High"},
		{79, true, "High"}, // inside, within the deadband
		{91, true, "HighHigh"},
		{89, true, "HighHigh"},
		{87.9, true, "High"}, // back inside high_high by the deadband
		{78, false, ""},      // exactly limit - deadband clears
		{19, true, "Low"},
		{9, true, "LowLow"},
		{12.5, true, "Low"},
		{22, false, ""},
	} {
		tt.write("m/x", c.x)
		st := tt.state("x-excl")
		if st.Active != c.active || st.Limit != c.limit {
			t.Fatalf("x=%v: active %v limit %q, want %v %q", c.x, st.Active, st.Limit, c.active, c.limit)
		}
	}
	// Every change was one event, with its own id.
	evs, _ := tt.set.Events(0)
	var causes []string
	ids := map[string]bool{}
	for _, ev := range evs {
		if ev.Name != "x-excl" {
			continue
		}
		causes = append(causes, ev.Cause+":"+ev.State.Limit)
		if ids[ev.State.EventID.String()] {
			t.Errorf("event id %s twice", ev.State.EventID)
		}
		ids[ev.State.EventID.String()] = true
	}
	want := []string{"active:High", "limit:HighHigh", "limit:High", "inactive:", "active:Low", "limit:LowLow", "limit:Low", "inactive:"}
	if !slices.Equal(causes, want) {
		t.Errorf("events %v, want %v", causes, want)
	}
}

func TestLimitNonExclusive(t *testing.T) {
	tt := newTestTwin(t, limitScenario)
	tt.write("m/x", 95.0)
	st := tt.state("x-nonex")
	if !st.Active || !slices.Equal(st.Limits, []string{"HighHigh", "High"}) || st.Limit != "HighHigh" || st.Severity != 800 {
		t.Fatalf("state %+v, want HighHigh and High active, severity 800", st)
	}
	tt.write("m/x", 85.0)
	if st := tt.state("x-nonex"); !slices.Equal(st.Limits, []string{"High"}) {
		t.Fatalf("limits %v, want [High]", st.Limits)
	}
}

func TestDelaysInSimulatedTime(t *testing.T) {
	tt := newTestTwin(t, limitScenario)
	tt.write("m/x", 85.0) // tick 1 (0.1 s) raises the condition
	tt.step(9)            // 1.0 s: held 0.9 s, not yet
	if tt.state("x-delay").Active {
		t.Fatal("active before on_delay")
	}
	tt.step(1) // 1.1 s: held 1 s
	if !tt.state("x-delay").Active {
		t.Fatal("not active after on_delay")
	}
	// A dip shorter than the off-delay does not clear it.
	tt.write("m/x", 50.0)
	tt.step(3)
	tt.write("m/x", 85.0)
	tt.step(10)
	if !tt.state("x-delay").Active {
		t.Fatal("a 0.4 s dip cleared the alarm (off_delay 500ms)")
	}
	tt.write("m/x", 50.0)
	tt.step(4)
	if !tt.state("x-delay").Active {
		t.Fatal("cleared before off_delay")
	}
	tt.step(1)
	if tt.state("x-delay").Active {
		t.Fatal("still active after off_delay")
	}
	// Ticks, not the wall clock: the engine's elapsed time drives it.
	evs, _ := tt.set.Events(0)
	var at []time.Duration
	for _, ev := range evs {
		if ev.Name == "x-delay" {
			at = append(at, ev.Elapsed.D())
		}
	}
	if want := []time.Duration{1100 * time.Millisecond, 3200 * time.Millisecond}; !slices.Equal(at, want) {
		t.Errorf("events at %v, want %v", at, want)
	}
}

func TestDiscreteOffNormalAndCodes(t *testing.T) {
	tt := newTestTwin(t, limitScenario)
	for _, n := range []string{"mode-fault", "code-fault", "mode-normal", "flag-on"} {
		if tt.state(n).Active {
			t.Fatalf("%s active at start", n)
		}
	}
	tt.write("m/mode", "Fault")
	tt.write("m/code", int16(4))
	tt.write("m/flag", true)
	for _, n := range []string{"mode-fault", "code-fault", "mode-normal", "flag-on"} {
		if !tt.state(n).Active {
			t.Errorf("%s not active", n)
		}
	}
	if got := tt.state("mode-fault").Message; got != "m/mode is Fault" {
		t.Errorf("default message %q", got)
	}
	if i := tt.index("flag-on"); !tt.set.Present(i) {
		t.Error("flag-on not present for Modbus")
	}
}

func TestQualityAndHoldOnBad(t *testing.T) {
	tt := newTestTwin(t, limitScenario)
	tt.write("m/x", 85.0)
	if !tt.state("x-excl").Active {
		t.Fatal("x-excl not active")
	}
	if err := tt.e.InjectNamed("x-bad"); err != nil {
		t.Fatal(err)
	}
	tt.step(1)
	if !tt.state("x-quality").Active || !tt.state("x-notgood").Active {
		t.Fatal("bad quality did not raise the quality alarms")
	}
	// A Bad value neither clears nor raises a limit alarm.
	tt.write("m/x", 50.0)
	if !tt.state("x-excl").Active {
		t.Fatal("a Bad value cleared the limit alarm")
	}
	if err := tt.e.Clear("x-bad"); err != nil {
		t.Fatal(err)
	}
	tt.step(1)
	if tt.state("x-excl").Active || tt.state("x-quality").Active {
		t.Fatal("alarms still active once the value is Good and normal")
	}
	if err := tt.e.InjectNamed("x-unc"); err != nil {
		t.Fatal(err)
	}
	tt.step(1)
	if tt.state("x-quality").Active || !tt.state("x-notgood").Active {
		t.Fatalf("uncertain: quality bad %v (want false), not_good %v (want true)", tt.state("x-quality").Active, tt.state("x-notgood").Active)
	}
}

func TestAcknowledgeConfirmRetain(t *testing.T) {
	tt := newTestTwin(t, limitScenario)
	i := tt.index("flag-on")
	st := tt.state("flag-on")
	if st.Retain || !st.Acked || !st.Confirmed {
		t.Fatalf("initial %+v", st)
	}
	if _, err := tt.set.Acknowledge(i, Action{}); !errors.Is(err, ErrAlreadyAcked) {
		t.Fatalf("ack of a normal alarm: %v, want ErrAlreadyAcked", err)
	}
	tt.write("m/flag", true)
	raised := tt.state("flag-on")
	if !raised.Active || raised.Acked || !raised.Confirmed || !raised.Retain {
		t.Fatalf("raised %+v", raised)
	}
	// An id of another run, of another alarm, or beyond the last event.
	bogus := append(EventID(nil), raised.EventID...)
	bogus[0] ^= 0xFF
	other := tt.set.eventID(tt.index("x-excl"), 1)
	future := tt.set.eventID(i, 99)
	for _, id := range []EventID{bogus, other, future, {1, 2, 3}} {
		if _, err := tt.set.Acknowledge(i, Action{EventID: id}); !errors.Is(err, ErrUnknownEvent) {
			t.Errorf("ack with %s: %v, want ErrUnknownEvent", id, err)
		}
	}
	if _, err := tt.set.Confirm(i, Action{EventID: raised.EventID}); !errors.Is(err, ErrAlreadyConfirmed) {
		t.Errorf("confirm before ack: %v, want ErrAlreadyConfirmed", err)
	}
	tt.clk.t = tt.clk.t.Add(time.Second)
	ack, err := tt.set.Acknowledge(i, Action{EventID: raised.EventID, Comment: "seen", User: "op1"})
	if err != nil {
		t.Fatal(err)
	}
	if ack.Cause != CauseAck || !ack.State.Acked || ack.State.Confirmed || !ack.State.Retain || ack.State.Comment != "seen" || ack.State.User != "op1" || !ack.State.AckedTime.Equal(tt.clk.t) {
		t.Fatalf("ack event %+v", ack)
	}
	if _, err := tt.set.Acknowledge(i, Action{EventID: raised.EventID}); !errors.Is(err, ErrAlreadyAcked) {
		t.Errorf("second ack: %v, want ErrAlreadyAcked", err)
	}
	// Confirm needs an event of the need for confirmation: the raise
	// came before it.
	if _, err := tt.set.Confirm(i, Action{EventID: raised.EventID}); !errors.Is(err, ErrAlreadyConfirmed) {
		t.Errorf("confirm with the raise's id: %v, want ErrAlreadyConfirmed", err)
	}
	tt.write("m/flag", false)
	cleared := tt.state("flag-on")
	if cleared.Active || !cleared.Retain {
		t.Fatalf("cleared but unconfirmed %+v", cleared)
	}
	conf, err := tt.set.Confirm(i, Action{EventID: ack.State.EventID, Comment: "fixed"})
	if err != nil {
		t.Fatal(err)
	}
	if !conf.State.Confirmed || conf.State.Retain {
		t.Fatalf("confirmed %+v: want not retained", conf.State)
	}
	if _, err := tt.set.Confirm(i, Action{EventID: conf.State.EventID}); !errors.Is(err, ErrAlreadyConfirmed) {
		t.Errorf("second confirm: %v, want ErrAlreadyConfirmed", err)
	}
	if _, err := tt.set.Confirm(tt.index("x-excl"), Action{}); !errors.Is(err, ErrNotConfirmable) {
		t.Errorf("confirm of x-excl: %v, want ErrNotConfirmable", err)
	}
	if _, err := tt.set.Acknowledge(-1, Action{}); !errors.Is(err, ErrUnknownAlarm) {
		t.Errorf("ack of alarm -1: %v", err)
	}
}

func TestReactivationAndEscalationNeedAck(t *testing.T) {
	tt := newTestTwin(t, limitScenario)
	i := tt.index("x-excl")
	tt.write("m/x", 85.0)
	first := tt.state("x-excl").EventID
	tt.write("m/x", 50.0)
	tt.write("m/x", 85.0)
	// Still the same need for acknowledgement: the first raise's id acks it.
	if _, err := tt.set.Acknowledge(i, Action{EventID: first}); err != nil {
		t.Fatalf("ack with the first raise's id: %v", err)
	}
	tt.write("m/x", 95.0) // escalates to HighHigh: acknowledge again
	if st := tt.state("x-excl"); st.Acked || st.Limit != "HighHigh" {
		t.Fatalf("escalated %+v: want unacknowledged HighHigh", st)
	}
	if _, err := tt.set.Acknowledge(i, Action{EventID: first}); !errors.Is(err, ErrAlreadyAcked) {
		t.Errorf("ack of the escalation with an old id: %v, want ErrAlreadyAcked", err)
	}
	if _, err := tt.set.Acknowledge(i, Action{}); err != nil {
		t.Fatal(err)
	}
	tt.write("m/x", 85.0) // back to High: no new acknowledgement
	if st := tt.state("x-excl"); !st.Acked {
		t.Fatal("de-escalation made the alarm unacknowledged")
	}
}

func TestLatchAndReset(t *testing.T) {
	tt := newTestTwin(t, limitScenario)
	i := tt.index("x-latch")
	if _, err := tt.set.Reset(tt.index("x-excl"), Action{}); !errors.Is(err, ErrNotLatching) {
		t.Errorf("reset of x-excl: %v", err)
	}
	tt.write("m/x", 85.0)
	if _, err := tt.set.Reset(i, Action{}); !errors.Is(err, ErrStillActive) {
		t.Errorf("reset while active: %v", err)
	}
	tt.write("m/x", 50.0)
	st := tt.state("x-latch")
	if st.Active || !st.Latched || !st.Retain || !tt.set.Present(i) || !strings.HasSuffix(st.Message, "(latched)") {
		t.Fatalf("after clearing %+v: want latched, retained, present", st)
	}
	if _, err := tt.set.Acknowledge(i, Action{}); err != nil {
		t.Fatal(err)
	}
	if !tt.state("x-latch").Retain {
		t.Fatal("acknowledged latched alarm not retained")
	}
	v := tt.set.Version()
	ev, err := tt.set.Reset(i, Action{User: "op2", Comment: "valve replaced"})
	if err != nil {
		t.Fatal(err)
	}
	if ev.State.Latched || ev.State.Retain || tt.set.Present(i) || tt.set.Version() == v {
		t.Fatalf("after reset %+v, present %v", ev.State, tt.set.Present(i))
	}
	if _, err := tt.set.Reset(i, Action{}); !errors.Is(err, ErrNotLatched) {
		t.Errorf("second reset: %v", err)
	}
}

func TestWatcherAndLog(t *testing.T) {
	sc, err := scenarios.Parse("w.yaml", []byte(limitScenario))
	if err != nil {
		t.Fatal(err)
	}
	e, err := twin.New(sc, twin.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	set, err := New(e, sc, Options{Logger: slog.New(slog.DiscardHandler), LogSize: 4})
	if err != nil {
		t.Fatal(err)
	}
	w := set.Watch()
	defer w.Close()
	x, _ := e.Lookup("m/x")
	for _, v := range []float64{85, 50, 85, 50} {
		if err := e.Write(x, v); err != nil {
			t.Fatal(err)
		}
		e.Step(1)
	}
	select {
	case <-w.C():
	default:
		t.Fatal("watcher not signalled")
	}
	// x-excl, x-nonex and x-latch go active and inactive twice: 12
	// events, 4 kept.
	evs, lost := w.Next()
	if len(evs) != 4 || lost != 8 {
		t.Fatalf("%d events, %d lost; want 4 and 8", len(evs), lost)
	}
	if evs, lost := w.Next(); len(evs) != 0 || lost != 0 {
		t.Fatalf("second Next: %d events, %d lost", len(evs), lost)
	}
}

func TestNewRefusesBrokenAlarms(t *testing.T) {
	sc, err := scenarios.Parse("n.yaml", []byte(limitScenario))
	if err != nil {
		t.Fatal(err)
	}
	e, err := twin.New(sc, twin.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	sc.Alarms = append(sc.Alarms, scenarios.Alarm{Name: "ghost", Tag: "m/nope", Quality: "bad"},
		scenarios.Alarm{Name: "empty", Tag: "m/x"})
	_, err = New(e, sc, Options{})
	if err == nil || !strings.Contains(err.Error(), `alarm ghost: unknown tag "m/nope"`) || !strings.Contains(err.Error(), "alarm empty: needs exactly one") {
		t.Fatalf("err = %v", err)
	}
}
