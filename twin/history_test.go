package twin

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/otwin/otwin/scenarios"
)

// testClock is a wall clock the test moves.
type testClock struct{ t time.Time }

func (c *testClock) now() time.Time { return c.t }

// seen records what clients saw of every tag: after each step or live
// action, the value of every tag the engine published (a watcher's set),
// stamped with the clock, as a subscriber with a zero sampling interval
// would get it.
type seen struct {
	e      *Engine
	w      *Watcher
	clock  *testClock
	points [][]HistoryPoint
	buf    []int
}

func watchAll(e *Engine, clock *testClock) *seen {
	s := &seen{e: e, w: e.Watch(), clock: clock, points: make([][]HistoryPoint, len(e.Tags()))}
	for i := range e.Tags() {
		v := e.Value(i)
		s.points[i] = append(s.points[i], HistoryPoint{V: v.V, Status: v.Status, Source: v.Source, Server: clock.t})
	}
	return s
}

func (s *seen) collect() {
	s.buf = s.w.Changed(s.buf[:0])
	for _, i := range s.buf {
		v := s.e.Value(i)
		s.points[i] = append(s.points[i], HistoryPoint{V: v.V, Status: v.Status, Source: v.Source, Server: s.clock.t})
	}
}

// expected is what history must hold of a tag's publications: every one,
// except that a communication loss (Bad_NoCommunication) is one point
// without a value where it starts, clients seeing nothing while it lasts.
func expected(ps []HistoryPoint) []HistoryPoint {
	var out []HistoryPoint
	gap := false
	for _, p := range ps {
		if p.Status == StatusBadNoCommunication {
			if gap {
				continue
			}
			gap = true
			p.V = nil
		} else {
			gap = false
		}
		out = append(out, p)
	}
	return out
}

// samePoint compares two points, their times as instants.
func samePoint(a, b HistoryPoint) bool {
	return reflect.DeepEqual(a.V, b.V) && a.Status == b.Status && a.Source.Equal(b.Source) && a.Server.Equal(b.Server)
}

// readAll reads tag i's whole history.
func readAll(t *testing.T, e *Engine, i int) []HistoryPoint {
	t.Helper()
	c, err := e.OpenHistory(i)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	budget := int64(1 << 40)
	if err := c.Seek(time.Time{}, &budget); err != nil {
		t.Fatal(err)
	}
	var out []HistoryPoint
	for {
		p, ok, err := c.Next(&budget)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			return out
		}
		out = append(out, p)
	}
}

// liveRun drives e for n ticks with live actions drawn from r: writes to
// writable tags, injections of the scenario's faults and of ad-hoc faults
// of every kind, clears, and method calls, the clock moving by about a
// tick (with jitter, and a pause now and then) between ticks.
func liveRun(t *testing.T, e *Engine, clock *testClock, s *seen, r *rand.Rand, n int) (calls int) {
	t.Helper()
	tags := e.Tags()
	var writable []int
	for _, ti := range tags {
		if ti.Writable {
			writable = append(writable, ti.Index)
		}
	}
	kinds := []scenarios.Fault{
		{Kind: scenarios.Stuck}, {Kind: scenarios.BadQuality, Status: "Bad_SensorFailure"},
		{Kind: scenarios.UncertainQuality}, {Kind: scenarios.Drift, Rate: 0.5},
		{Kind: scenarios.NoiseBurst, Magnitude: 2}, {Kind: scenarios.Spike, Magnitude: 5, Every: dur(3 * time.Second)},
		{Kind: scenarios.ClockSkew, Skew: dur(90 * time.Second)}, {Kind: scenarios.CommLoss},
	}
	for k := 0; k < n; k++ {
		step := 100*time.Millisecond + time.Duration(r.IntN(5000))*time.Microsecond
		if r.IntN(500) == 0 {
			step += 3 * time.Second // a pause
		}
		clock.t = clock.t.Add(step)
		e.Step(1)
		s.collect()
		if r.IntN(8) != 0 {
			continue
		}
		clock.t = clock.t.Add(time.Duration(r.IntN(50)) * time.Millisecond)
		switch r.IntN(5) {
		case 0:
			if len(writable) > 0 {
				i := writable[r.IntN(len(writable))]
				_ = e.Write(i, writeValue(tags[i], r))
			}
		case 1:
			if fs := e.Faults(); len(fs) > 0 {
				_ = e.InjectNamed(fs[r.IntN(len(fs))].Name)
			}
		case 2:
			f := kinds[r.IntN(len(kinds))]
			ti := tags[r.IntN(len(tags))]
			f.Target = ti.Machine + "/" + ti.Name
			if f.Kind == scenarios.CommLoss || f.Kind == scenarios.ClockSkew {
				f.Target = ti.Machine
			}
			if r.IntN(2) == 0 {
				f.Duration = dur(time.Duration(1+r.IntN(20)) * time.Second)
			}
			_, _ = e.InjectFault(f)
		case 3:
			for _, f := range e.Faults() {
				if f.Active && r.IntN(2) == 0 {
					_ = e.Clear(f.Name)
					s.collect()
				}
			}
		case 4:
			ms := e.Machines()
			m := ms[r.IntN(len(ms))]
			if len(m.Methods) > 0 {
				me := m.Methods[r.IntN(len(m.Methods))]
				args := make([]any, len(me.Inputs))
				for a, in := range me.Inputs {
					args[a] = argValueOf(in, r)
				}
				if _, err := e.Call(m.Name, me.Name, args); err == nil {
					calls++
				}
			}
		}
		s.collect()
	}
	return calls
}

// writeValue is a random value of the tag's type within its range.
func writeValue(t TagInfo, r *rand.Rand) any {
	lo, hi := 0.0, 100.0
	if t.Range != nil {
		lo, hi = t.Range.Low, t.Range.High
	}
	switch t.Type {
	case scenarios.Bool:
		return r.IntN(2) == 0
	case scenarios.String:
		return fmt.Sprintf("s%d", r.IntN(100))
	case scenarios.Float32, scenarios.Float64:
		return lo + r.Float64()*(hi-lo)
	}
	return int64(lo) + int64(r.IntN(int(hi-lo)+1))
}

// argValueOf is a random value for a method argument.
func argValueOf(a scenarios.Argument, r *rand.Rand) any {
	return writeValue(TagInfo{Type: a.Type, Range: a.Range}, r)
}

// TestHistoryIsWhatClientsSaw runs each shipped scenario with live
// actions of every kind and checks that every tag's history is exactly
// what the engine published: values, status codes, source and server
// timestamps, a stuck value, a bad-quality status, a communication loss
// as one point without a value.
func TestHistoryIsWhatClientsSaw(t *testing.T) {
	for _, name := range scenarios.Examples() {
		t.Run(name, func(t *testing.T) {
			sc, err := scenarios.Example(name)
			if err != nil {
				t.Fatal(err)
			}
			clock := &testClock{t: time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)}
			e, err := New(sc, Options{Now: clock.now, Logger: discard})
			if err != nil {
				t.Fatal(err)
			}
			s := watchAll(e, clock)
			if calls := liveRun(t, e, clock, s, rand.New(rand.NewPCG(1, uint64(len(name)))), 3000); calls < 10 {
				t.Errorf("%d method calls went through: the test does not cover them", calls)
			}
			statuses := map[uint32]bool{}
			for _, ti := range e.Tags() {
				want := expected(s.points[ti.Index])
				got := readAll(t, e, ti.Index)
				for _, p := range got {
					statuses[p.Status] = true
				}
				if len(got) != len(want) {
					t.Errorf("%s: %d points of history, want %d", ti.ID, len(got), len(want))
				}
				for k := range min(len(got), len(want)) {
					if !samePoint(got[k], want[k]) {
						t.Errorf("%s: point %d = %+v, want %+v", ti.ID, k, got[k], want[k])
						break
					}
				}
			}
			for _, st := range []uint32{StatusGood, StatusBadSensorFailure, StatusBadNoCommunication} {
				if !statuses[st] {
					t.Errorf("no point of status %s in the run: the test does not cover it", StatusName(st))
				}
			}
		})
	}
}

// TestHistoryRestart: a twin restarted with the same seed computes the
// same history for the same ticks, whatever ran before in another
// process.
func TestHistoryRestart(t *testing.T) {
	sc, err := scenarios.Example("bottling")
	if err != nil {
		t.Fatal(err)
	}
	run := func() *Engine {
		clock := &testClock{t: time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)}
		e, err := New(sc, Options{Now: clock.now, Logger: discard})
		if err != nil {
			t.Fatal(err)
		}
		for range 3100 { // the timeline's first five minutes: a setpoint, a stuck sensor, spikes
			clock.t = clock.t.Add(100 * time.Millisecond)
			e.Step(1)
		}
		return e
	}
	a, b := run(), run()
	for _, ti := range a.Tags() {
		if ti.Machine != "capper1" && ti.Name != "co2_pressure" && ti.Name != "speed_sp" {
			continue
		}
		ha, hb := readAll(t, a, ti.Index), readAll(t, b, ti.Index)
		if len(ha) != len(hb) || slices.ContainsFunc(ha, func(p HistoryPoint) bool { k := slices.Index(ha, p); return !samePoint(p, hb[k]) }) {
			t.Errorf("%s: the restarted twin's history differs (%d and %d points)", ti.ID, len(ha), len(hb))
		}
		if len(ha) < 2 && ti.Name == "co2_pressure" {
			t.Errorf("%s: %d points", ti.ID, len(ha))
		}
	}
}

// TestHistorySeekAndRing: a cursor seeks into its ring, replays from the
// start when the points before the time sought are gone, and resumes
// after its budget runs out.
func TestHistorySeekAndRing(t *testing.T) {
	sc := scenario(scenarios.Tag{Name: "x", Model: &scenarios.Model{Ramp: &scenarios.Ramp{Max: 1e6, Period: dur(time.Hour)}}})
	clock := &testClock{t: time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)}
	e, err := New(sc, Options{Now: clock.now, Logger: discard})
	if err != nil {
		t.Fatal(err)
	}
	start := clock.t
	const n = 5000
	for range n {
		clock.t = clock.t.Add(100 * time.Millisecond)
		e.Step(1)
	}
	c, err := e.OpenHistory(0)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// A budget of 100 ticks per call: Seek gives up and goes on.
	at := start.Add(300 * time.Second)
	calls := 0
	for {
		budget := int64(100)
		err := c.Seek(at, &budget)
		calls++
		if err == nil {
			break
		}
		if err != ErrHistoryBudget {
			t.Fatal(err)
		}
	}
	if calls < 30 {
		t.Errorf("Seek to tick 3000 took %d calls of 100 ticks", calls)
	}
	big := int64(1 << 40)
	p, ok, _ := c.Next(&big)
	if !ok || !p.Server.Equal(at) {
		t.Fatalf("after Seek(%v): %v %v", at, p.Server, ok)
	}
	prev, ok := c.Prev()
	if !ok || !prev.Server.Equal(at) {
		t.Errorf("Prev = %v %v, want the point just returned", prev.Server, ok)
	}
	// Far back: the ring no longer has it, the cursor replays.
	early := start.Add(10 * time.Second)
	if err := c.Seek(early, &big); err != nil {
		t.Fatal(err)
	}
	p, ok, _ = c.Next(&big)
	if !ok || !p.Server.Equal(early) {
		t.Fatalf("after Seek(%v): %v %v", early, p.Server, ok)
	}
	before, ok := c.Prev()
	if !ok || !before.Server.Equal(early) {
		t.Errorf("Prev = %v, want %v", before.Server, early)
	}
	// Past the end: no point, no error.
	if err := c.Seek(clock.t.Add(time.Hour), &big); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := c.Next(&big); ok || err != nil {
		t.Errorf("Next past the end = %v, %v", ok, err)
	}
	from, to, ok := e.HistoryWindow()
	if !ok || !from.Equal(start) || !to.Equal(clock.t) {
		t.Errorf("HistoryWindow = %v %v %v, want %v %v", from, to, ok, start, clock.t)
	}
}

// TestHistoryRetention: tick times older than the retention are dropped
// in whole chunks; the window starts later, memory stays bounded.
func TestHistoryRetention(t *testing.T) {
	sc := scenario(scenarios.Tag{Name: "x", Model: &scenarios.Model{Constant: &scenarios.Constant{Value: 1}}})
	clock := &testClock{t: time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)}
	e, err := New(sc, Options{Now: clock.now, Logger: discard, HistoryRetention: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	start := clock.t
	n := 3 * journalChunk
	for range n {
		clock.t = clock.t.Add(100 * time.Millisecond)
		e.Step(1)
	}
	from, _, _ := e.HistoryWindow()
	// The retention is at least one chunk of ticks.
	if want := start.Add(time.Duration(n+1-journalChunk) * 100 * time.Millisecond); !from.Equal(want) {
		t.Errorf("window starts at %v, want %v", from, want)
	}
	if b := e.HistoryBytes(); b > 3*journalChunk*8 {
		t.Errorf("journal takes %d bytes for a retention of %d ticks", b, journalChunk)
	}
	// The constant's one point is from before the window, its time
	// estimated from the tick.
	h := readAll(t, e, 0)
	if len(h) != 1 || !h[0].Server.Equal(start) {
		t.Errorf("history = %+v", h)
	}
	if !slices.Equal([]any{h[0].V}, []any{1.0}) {
		t.Errorf("value %v", h[0].V)
	}
}
