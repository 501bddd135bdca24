package workshop

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/otwin/otwin/normalize"
	"github.com/otwin/otwin/scenarios"
)

// oneStep is a scenario with one exercise: fault hot on filler1/temp at
// 0s, the operator to acknowledge within 30s and maintenance to comment
// within 1m.
func oneStep() *scenarios.Scenario {
	return &scenarios.Scenario{
		Name:   "line",
		Faults: []scenarios.Fault{{Name: "hot", Kind: scenarios.OutOfRange, Target: "filler1/temp"}},
		Exercises: []scenarios.Exercise{{Name: "overheat", Steps: []scenarios.ExerciseStep{{
			Fault: "hot",
			Expect: []scenarios.Expectation{
				{Role: "operator", Action: "acknowledge", Within: scenarios.Duration(30 * time.Second)},
				{Role: "maintenance", Action: "comment", Within: scenarios.Duration(time.Minute)},
			},
		}}}},
	}
}

const hotID = "out_of_range:acme/line1/filler1/temp"

// class is a started workshop of oneStep with olga (operator) and max
// (maintenance) online and the alert raised 1s after the fault.
type class struct {
	t     *testing.T
	w     *Workshop
	tw    *fakeTwin
	clock time.Time
}

func newClass(t *testing.T, speed float64) *class {
	c := &class{t: t, clock: time.Date(2026, 1, 1, 8, 0, 0, 0, time.UTC)}
	now := func() time.Time { return c.clock }
	c.tw = &fakeTwin{now: now, speed: speed}
	c.w = New(oneStep(), c.tw, now)
	c.w.SetRoster([]Member{{"olga", "operator"}, {"max", "maintenance"}, {"sue", "supervisor"}})
	c.w.Join("olga", "operator")
	c.w.Join("max", "maintenance")
	if err := c.w.StartExercise("overheat"); err != nil {
		t.Fatal(err)
	}
	c.w.Advance()
	c.wait(time.Second)
	c.w.ObserveAlerts([]normalize.Alert{{ID: hotID, Kind: normalize.AlertOutOfRange, Target: "acme/line1/filler1/temp", State: normalize.ActiveUnacked, LastActive: c.clock, Message: "temp 150 above 100"}})
	return c
}

// wait lets d of wall time pass, the workshop reading the clock as its
// follow loop does.
func (c *class) wait(d time.Duration) {
	for end := c.clock.Add(d); c.clock.Before(end); {
		c.clock = c.clock.Add(100 * time.Millisecond)
		c.w.Advance()
	}
}

func (c *class) outcome(role string) Outcome {
	c.t.Helper()
	for _, o := range c.w.Debrief().Outcomes {
		if o.Role == role {
			return o
		}
	}
	c.t.Fatalf("no outcome for %s", role)
	return Outcome{}
}

// TestRefusedAckNotCredited: an acknowledgement the store did not carry
// out ("nothing to acknowledge") is neither an ack on the scoreboard nor
// the operator's response; the later accepted one is.
func TestRefusedAckNotCredited(t *testing.T) {
	c := newClass(t, 1)
	c.wait(2 * time.Second)
	c.w.Record(Action{User: "olga", Role: "operator", Kind: "acknowledge", Target: hotID, Failed: "nothing to acknowledge"})
	for _, s := range c.w.Scoreboard() {
		if s.User == "olga" && (s.Acks != 0 || s.MeanAck != 0) {
			t.Fatalf("a failed ack was credited: %+v", s)
		}
	}
	if o := c.outcome("operator"); o.By != "" || o.Result != "pending" {
		t.Fatalf("after a failed ack the operator's outcome is %+v, want pending with nobody", o)
	}
	c.wait(3 * time.Second)
	c.w.Record(Action{User: "olga", Role: "operator", Kind: "acknowledge", Target: hotID})
	if o := c.outcome("operator"); o.By != "olga" || o.Result != "met" || o.Response != 6*time.Second {
		t.Fatalf("operator outcome %+v, want met by olga in 6s", o)
	}
	var md bytes.Buffer
	rep := c.w.Debrief()
	if err := rep.WriteMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(md.String(), "acknowledge "+hotID+" — not carried out: nothing to acknowledge") {
		t.Errorf("the timeline does not show the failed ack:\n%s", md.String())
	}
}

// TestWindowsInScenarioTime: with the twin at 16×, an ack 3 s of wall time
// after the fault is 48 s of scenario time: late for a 30 s window; a
// pause stops the window.
func TestWindowsInScenarioTime(t *testing.T) {
	c := newClass(t, 16)
	c.wait(2 * time.Second)
	c.w.Record(Action{User: "olga", Role: "operator", Kind: "acknowledge", Target: hotID})
	o := c.outcome("operator")
	if o.Result != "late" || o.Response < 47*time.Second || o.Response > 49*time.Second {
		t.Errorf("operator outcome %+v, want late after about 48s of scenario time", o)
	}
	// Maintenance's 1m window: 48s have passed; a paused clock keeps it
	// open however long the wall clock runs.
	c.tw.set(16, true)
	c.wait(10 * time.Second)
	if o := c.outcome("maintenance"); o.Result != "pending" {
		t.Errorf("maintenance outcome %+v while paused, want pending", o)
	}
	c.w.Record(Action{User: "max", Role: "maintenance", Kind: "comment", Target: hotID, Comment: "sensor checked"})
	if o := c.outcome("maintenance"); o.Result != "met" || o.By != "max" {
		t.Errorf("maintenance outcome %+v, want met by max's comment", o)
	}
	for _, s := range c.w.Scoreboard() {
		if s.User == "max" && s.Comments != 1 {
			t.Errorf("max's comment not counted: %+v", s)
		}
	}
}

// TestEndMakesOpenWindowsMissed: a window still open when the workshop
// ends is missed (with a note), not pending.
func TestEndMakesOpenWindowsMissed(t *testing.T) {
	c := newClass(t, 1)
	c.wait(5 * time.Second)
	if o := c.outcome("operator"); o.Result != "pending" {
		t.Fatalf("before the end: %+v", o)
	}
	c.w.End()
	rep := c.w.Debrief()
	if !rep.Ended {
		t.Error("report not marked ended")
	}
	for _, o := range rep.Outcomes {
		if o.Result != "missed" || o.Note != "window still open when the workshop ended" {
			t.Errorf("outcome after the end: %+v", o)
		}
	}
}

// TestRosterAndRecordings: the scoreboard lists the whole roster, online
// or not; the timeline links each moment into the recordings running
// then, the actor's first.
func TestRosterAndRecordings(t *testing.T) {
	c := newClass(t, 1)
	sb := c.w.Scoreboard()
	if len(sb) != 3 || sb[2].User != "sue" || sb[2].AlertsSeen != 0 {
		t.Fatalf("scoreboard %+v, want max, olga and sue (never joined)", sb)
	}
	var sueOnline bool
	for _, p := range c.w.Participants() {
		if p.User == "sue" {
			sueOnline = p.Online
		}
	}
	if sueOnline {
		t.Error("sue online without a session")
	}
	start := c.clock
	c.w.AddRecording("olga", "/r/casts/olga-1.cast", start)
	c.w.AddRecording("max", "/r/casts/max-1.cast", start.Add(-10*time.Second))
	c.wait(83 * time.Second)
	c.w.Record(Action{User: "olga", Role: "operator", Kind: "acknowledge", Target: hotID})
	c.w.EndRecording("max", "/r/casts/max-1.cast")
	c.wait(time.Second)
	c.w.Record(Action{User: "olga", Role: "operator", Kind: "shelve", Target: hotID, Comment: "later"})
	rep := c.w.Debrief()
	rep.RelativeTo("/r")
	var ack, shelve Entry
	for _, e := range rep.Timeline {
		if strings.Contains(e.Text, "olga (operator) acknowledge") {
			ack = e
		}
		if strings.Contains(e.Text, "olga (operator) shelve") {
			shelve = e
		}
	}
	want := []Link{{"olga", "casts/olga-1.cast", 83 * time.Second}, {"max", "casts/max-1.cast", 93 * time.Second}}
	if len(ack.Links) != 2 || ack.Links[0] != want[0] || ack.Links[1] != want[1] {
		t.Errorf("ack links %+v, want %+v", ack.Links, want)
	}
	if len(shelve.Links) != 1 || shelve.Links[0].User != "olga" {
		t.Errorf("shelve links %+v, want olga's alone (max's session had closed)", shelve.Links)
	}
	var md, html bytes.Buffer
	if err := rep.WriteMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	if err := rep.WriteHTML(&html); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(md.String(), "[olga 1:23](casts/olga-1.cast#t=83) [max 1:33](casts/max-1.cast#t=93)") {
		t.Errorf("markdown lacks the links:\n%s", md.String())
	}
	if !strings.Contains(html.String(), `<a href="casts/olga-1.cast#t=83">olga 1:23</a>`) {
		t.Errorf("html lacks the link:\n%s", html.String())
	}
	// A reload drops sue (never came) and keeps olga.
	c.w.SetRoster([]Member{{"olga", "operator"}, {"max", "maintenance"}})
	if n := len(c.w.Participants()); n != 2 {
		t.Errorf("%d participants after the roster lost sue", n)
	}
}

// TestGoAfterPausedStart: a workshop started paused waits for the clock's
// first run; the report starts there.
func TestGoAfterPausedStart(t *testing.T) {
	clock := time.Date(2026, 1, 1, 8, 0, 0, 0, time.UTC)
	now := func() time.Time { return clock }
	tw := &fakeTwin{now: now, paused: true}
	w := New(oneStep(), tw, now)
	w.Join("olga", "operator") // before the go
	if !w.Paused() {
		t.Fatal("a paused start is not waiting")
	}
	clock = clock.Add(time.Minute)
	w.Advance()
	tw.set(1, false) // the trainer's go
	w.Advance()
	if w.Paused() {
		t.Fatal("still waiting after the clock ran")
	}
	if rep := w.Debrief(); !rep.Started.Equal(clock) {
		t.Errorf("report starts %s, want the go at %s", rep.Started, clock)
	}
	// An alert raised while the clock stood still (a frozen value, as the
	// collector sees a paused twin) is not one olga is scored on; one
	// after the go is.
	w.ObserveAlerts([]normalize.Alert{{ID: "frozen:x", Target: "acme/line1/filler1/temp", State: normalize.ActiveUnacked, LastActive: clock.Add(-30 * time.Second)}})
	w.ObserveAlerts([]normalize.Alert{{ID: hotID, Target: "acme/line1/filler1/temp", State: normalize.ActiveUnacked, LastActive: clock.Add(time.Second)}})
	if sb := w.Scoreboard(); sb[0].AlertsSeen != 1 {
		t.Errorf("alerts seen %d, want only the one after the go", sb[0].AlertsSeen)
	}
	var md bytes.Buffer
	rep := w.Debrief()
	if err := rep.WriteMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(md.String(), "| -00:30 |") {
		t.Errorf("the alert before the go is not shown before the start:\n%s", md.String())
	}
}

func TestSimClock(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 8, 0, 0, 0, time.UTC)
	var c simClock
	c.add(t0, 0, 16)                                        // 16×
	c.add(t0.Add(time.Second), 16*time.Second, 0)           // paused
	c.add(t0.Add(2*time.Second), 16*time.Second, 0)         // still paused
	c.add(t0.Add(3*time.Second), 16*time.Second, 1)         // 1×
	c.add(t0.Add(3100*time.Millisecond), 16*time.Second, 1) // within one tick: the twin still reads 16s
	c.add(t0.Add(4*time.Second), 17*time.Second, 1)         // 1×
	c.add(t0.Add(1500*time.Millisecond), 16*time.Second, 0) // late, out of order
	for _, tc := range []struct {
		at   time.Duration
		want time.Duration
	}{
		{-time.Second, 0}, {500 * time.Millisecond, 8 * time.Second}, {2500 * time.Millisecond, 16 * time.Second},
		{3050 * time.Millisecond, 16050 * time.Millisecond}, {4500 * time.Millisecond, 17500 * time.Millisecond},
	} {
		if got := c.at(t0.Add(tc.at)); got != tc.want {
			t.Errorf("at(+%s) = %s, want %s", tc.at, got, tc.want)
		}
	}
	// Durations integrate the speed: 0.5s at 16×, then a pause, then 1×;
	// two instants within one tick (the twin read 16s at both 3.0 and
	// 3.1) are still 60ms apart.
	for _, tc := range []struct {
		from, to time.Duration
		want     time.Duration
	}{
		{500 * time.Millisecond, 3500 * time.Millisecond, 8500 * time.Millisecond},
		{3020 * time.Millisecond, 3080 * time.Millisecond, 60 * time.Millisecond},
		{1200 * time.Millisecond, 2800 * time.Millisecond, 0},
		{2 * time.Second, time.Second, 0},
	} {
		if got := c.span(t0.Add(tc.from), t0.Add(tc.to)); got != tc.want {
			t.Errorf("span(+%s, +%s) = %s, want %s", tc.from, tc.to, got, tc.want)
		}
	}
}
