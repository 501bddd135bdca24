package workshop

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/otwin/otwin/normalize"
	"github.com/otwin/otwin/scenarios"
	"github.com/otwin/otwin/twin"
)

// fakeTwin is a stand-in for the engine: this is a unit test of the
// workshop's bookkeeping (the end-to-end test in cmd/otwin uses the real one).
// Its scenario clock runs at speed (default 1) from the first reading of
// now, unless paused.
type fakeTwin struct {
	mu     sync.Mutex
	now    func() time.Time
	speed  float64
	paused bool
	base   time.Duration // scenario time at since
	since  time.Time
	events []twin.Event
}

// elapsed is the scenario time now. Called with f.mu held.
func (f *fakeTwin) elapsed() time.Duration {
	now := f.now()
	if f.since.IsZero() {
		f.since = now
	}
	if f.paused {
		return f.base
	}
	return f.base + time.Duration(float64(now.Sub(f.since))*f.speedOr1())
}

func (f *fakeTwin) speedOr1() float64 {
	if f.speed == 0 {
		return 1
	}
	return f.speed
}

// set changes speed and pause from now on.
func (f *fakeTwin) set(speed float64, paused bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.base, f.since = f.elapsed(), f.now()
	f.speed, f.paused = speed, paused
}

func (f *fakeTwin) InjectNamed(name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.events = append(f.events, twin.Event{Seq: len(f.events), Time: f.now(), Elapsed: scenarios.Duration(f.elapsed()), Kind: "inject", Fault: name, Target: "filler1/temp", Origin: "api"})
	return nil
}
func (f *fakeTwin) Clear(string) error { return nil }
func (f *fakeTwin) Status() twin.Status {
	f.mu.Lock()
	defer f.mu.Unlock()
	return twin.Status{Elapsed: scenarios.Duration(f.elapsed()), Speed: f.speedOr1(), Paused: f.paused}
}
func (f *fakeTwin) Events(since int) ([]twin.Event, int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if since >= len(f.events) {
		return nil, since
	}
	return append([]twin.Event(nil), f.events[since:]...), len(f.events)
}

func TestExerciseDebrief(t *testing.T) {
	clock := time.Date(2026, 1, 1, 8, 0, 0, 0, time.UTC)
	now := func() time.Time { return clock }
	sc := &scenarios.Scenario{
		Name:   "line",
		Faults: []scenarios.Fault{{Name: "hot", Kind: scenarios.Drift, Target: "filler1/temp", Rate: 1}},
		Exercises: []scenarios.Exercise{{Name: "overheat", Steps: []scenarios.ExerciseStep{{
			At: scenarios.Duration(10 * time.Second), Fault: "hot",
			Expect: []scenarios.Expectation{
				{Role: "operator", Action: "acknowledge", Within: scenarios.Duration(time.Minute)},
				{Role: "maintenance", Action: "comment", Within: scenarios.Duration(30 * time.Second)},
			},
		}}}},
	}
	tw := &fakeTwin{now: now}
	w := New(sc, tw, now)
	w.Join("tom", "trainer")
	w.Join("olga", "operator")
	w.Join("max", "maintenance")
	if err := w.StartExercise("nope"); err == nil {
		t.Fatal("unknown exercise started")
	}
	if err := w.StartExercise("overheat"); err != nil {
		t.Fatal(err)
	}
	w.Advance()
	if len(tw.events) != 0 {
		t.Fatal("fault fired before its offset")
	}
	clock = clock.Add(10 * time.Second)
	w.Advance()
	if len(tw.events) != 1 {
		t.Fatalf("fault not fired at its offset: %v", tw.events)
	}
	injected := clock
	clock = clock.Add(4 * time.Second)
	id := "out_of_range:acme/line1/filler1/temp"
	w.ObserveAlerts([]normalize.Alert{{ID: id, Kind: normalize.AlertOutOfRange, Target: "acme/line1/filler1/temp", State: normalize.ActiveUnacked, LastActive: clock, Message: "temp 95 above 90"}})
	raised := clock
	clock = clock.Add(20 * time.Second)
	w.Record(Action{User: "olga", Role: "operator", Kind: "acknowledge", Target: id, Comment: "called maintenance"})
	w.Record(Action{User: "olga", Role: "operator", Kind: "inject", Target: "hot", Refused: "operators cannot inject or clear faults"})

	clock = clock.Add(10 * time.Second) // the maintenance window (30s) has passed
	rep := w.Debrief()
	var md, html bytes.Buffer
	if err := rep.WriteMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	if err := rep.WriteHTML(&html); err != nil {
		t.Fatal(err)
	}
	out := md.String()
	for _, want := range []string{
		"fault hot injected on filler1/temp",
		"alert " + id + " raised: temp 95 above 90",
		`olga (operator) acknowledge ` + id + ` — "called maintenance"`,
		"| overheat | hot | +00:10 | operator | acknowledge | 1m0s | olga | 24s | met |",
		"| overheat | hot | +00:10 | maintenance | comment | 30s | — | — | missed |",
		"| olga | operator | 1 | 1 | 20s | 1 | 1 |",
		"| operator | 1 | 20s | 20s | 1/1 | 1 |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("debrief lacks %q\n%s", want, out)
		}
	}
	if !strings.Contains(html.String(), "<td>olga</td>") || !strings.Contains(html.String(), `class="met"`) {
		t.Errorf("html debrief incomplete:\n%s", html.String())
	}
	_ = injected
	_ = raised
	sb := w.Scoreboard()
	if len(sb) != 3 || sb[1].User != "olga" || sb[1].Acks != 1 || sb[1].MeanAck != 20*time.Second || sb[1].AlertsSeen != 1 {
		t.Errorf("scoreboard = %+v", sb)
	}
}

func TestRelates(t *testing.T) {
	cases := []struct {
		alert, fault string
		want         bool
	}{
		{"acme/l1/filler1/temp", "filler1/temp", true},
		{"acme/l1/filler1/temp.modbus", "filler1/temp", true},
		{"acme/l1/filler1/temperature.modbus", "filler1/temp", false},
		{"acme/l1/filler1/temp.x/y", "filler1/temp", false},
		{"acme/l1/filler1/temperature", "filler1/temp", false},
		{"acme/l1/filler1/temp", "filler1", true},
		{"filler1-opcua", "filler1", true},
		{"filler10-opcua", "filler1", false},
		{"acme/l1/capper1/torque", "filler1", false},
	}
	for _, c := range cases {
		if got := relates(c.alert, c.fault); got != c.want {
			t.Errorf("relates(%q, %q) = %v, want %v", c.alert, c.fault, got, c.want)
		}
	}
}

// TestJoinLeaveSessions: a participant with two sessions stays online
// until both have closed.
func TestJoinLeaveSessions(t *testing.T) {
	w := New(&scenarios.Scenario{Name: "line"}, &fakeTwin{now: time.Now}, nil)
	online := func() bool { return w.Participants()[0].Online }
	steps := []struct {
		join bool
		want bool
	}{{true, true}, {true, true}, {false, true}, {false, false}, {false, false}, {true, true}}
	for i, st := range steps {
		if st.join {
			w.Join("olga", "operator")
		} else {
			w.Leave("olga")
		}
		if got := online(); got != st.want {
			t.Fatalf("step %d: online %v, want %v", i, got, st.want)
		}
	}
}

// TestAckBeforeAlertSeen: an acknowledgement recorded before the workshop
// has seen its alert (the operator's session was faster than the
// workshop's own subscription) still meets the expectation.
func TestAckBeforeAlertSeen(t *testing.T) {
	clock := time.Date(2026, 1, 1, 8, 0, 0, 0, time.UTC)
	now := func() time.Time { return clock }
	sc := &scenarios.Scenario{
		Name:   "line",
		Faults: []scenarios.Fault{{Name: "hot", Kind: scenarios.OutOfRange, Target: "filler1/temp"}},
		Exercises: []scenarios.Exercise{{Name: "overheat", Steps: []scenarios.ExerciseStep{{
			Fault:  "hot",
			Expect: []scenarios.Expectation{{Role: "operator", Action: "acknowledge", Within: scenarios.Duration(time.Minute)}},
		}}}},
	}
	w := New(sc, &fakeTwin{now: now}, now)
	w.Join("olga", "operator")
	if err := w.StartExercise("overheat"); err != nil {
		t.Fatal(err)
	}
	w.Advance()
	id := "out_of_range:acme/line1/filler1/temp"
	clock = clock.Add(time.Second)
	w.Record(Action{User: "olga", Role: "operator", Kind: "acknowledge", Target: id})
	clock = clock.Add(100 * time.Millisecond)
	w.ObserveAlerts([]normalize.Alert{{ID: id, Kind: normalize.AlertOutOfRange, Target: "acme/line1/filler1/temp", State: normalize.ActiveAcked, LastActive: clock.Add(-500 * time.Millisecond)}})
	rep := w.Debrief()
	if len(rep.Outcomes) != 1 || rep.Outcomes[0].Result != "met" || rep.Outcomes[0].By != "olga" || rep.Outcomes[0].Response != time.Second {
		t.Errorf("outcomes = %+v", rep.Outcomes)
	}
}
