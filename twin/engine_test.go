package twin

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/otwin/otwin/internal/testkit"
	"github.com/otwin/otwin/scenarios"
)

// randomScenario has a random model of each kind and a noise fault.
func randomScenario(seed int64, extra ...scenarios.Tag) *scenarios.Scenario {
	tags := append([]scenarios.Tag{
		{Name: "walk", Model: &scenarios.Model{RandomWalk: &scenarios.RandomWalk{Start: 0, Step: 1, Min: -10, Max: 10}}},
		{Name: "noise", Model: &scenarios.Model{Noise: &scenarios.Noise{StdDev: 1}}},
		{Name: "state", Type: scenarios.String, Model: &scenarios.Model{StateMachine: &scenarios.StateMachine{States: []scenarios.State{
			{Name: "A", Dwell: scenarios.DwellTime{Min: dur(100 * time.Millisecond), Max: dur(time.Second)}, Next: map[string]float64{"B": 1, "C": 1}},
			{Name: "B", Dwell: scenarios.DwellTime{Min: dur(100 * time.Millisecond), Max: dur(time.Second)}, Next: map[string]float64{"A": 1, "C": 2}},
			{Name: "C", Dwell: scenarios.DwellTime{Min: dur(100 * time.Millisecond), Max: dur(time.Second)}, Next: map[string]float64{"A": 1}}}}}},
	}, extra...)
	sc := scenario(tags...)
	sc.Seed = seed
	sc.Faults = []scenarios.Fault{{Name: "nb", Kind: scenarios.NoiseBurst, Target: "m1/walk", Magnitude: 0.5, Start: durp(time.Second), Duration: dur(2 * time.Second)}}
	return sc
}

func allSeries(t *testing.T, e *Engine, n int) map[string][]any {
	out := map[string][]any{}
	for range n {
		for _, ti := range e.Tags() {
			out[ti.Name] = append(out[ti.Name], e.Value(ti.Index).V)
		}
		e.Step(1)
	}
	return out
}

func TestDeterminism(t *testing.T) {
	a := allSeries(t, newEngine(t, randomScenario(7)), 300)
	b := allSeries(t, newEngine(t, randomScenario(7)), 300)
	c := allSeries(t, newEngine(t, randomScenario(8)), 300)
	// Adding a tag must not change the other tags' series.
	d := allSeries(t, newEngine(t, randomScenario(7, scenarios.Tag{Name: "extra", Type: scenarios.Float64,
		Model: &scenarios.Model{Noise: &scenarios.Noise{StdDev: 3}}})), 300)
	for _, name := range []string{"walk", "noise", "state"} {
		if !slices.Equal(a[name], b[name]) {
			t.Errorf("%s: same seed, different series", name)
		}
		if slices.Equal(a[name], c[name]) {
			t.Errorf("%s: different seed, same series", name)
		}
		if !slices.Equal(a[name], d[name]) {
			t.Errorf("%s: adding a tag changed the series", name)
		}
	}
}

func TestStepsMatchRun(t *testing.T) {
	// The series depends on the tick count only: Step(1) n times and
	// Step(n) at once agree.
	a := newEngine(t, randomScenario(3))
	b := newEngine(t, randomScenario(3))
	for range 50 {
		a.Step(1)
	}
	b.Step(50)
	for i := range a.Tags() {
		if a.Value(i).V != b.Value(i).V {
			t.Fatalf("tag %d: %v vs %v", i, a.Value(i).V, b.Value(i).V)
		}
	}
}

func TestWrites(t *testing.T) {
	sc := scenario(
		scenarios.Tag{Name: "speed", Writable: true, Range: &scenarios.Range{Low: 0, High: 100}, Model: &scenarios.Model{Constant: &scenarios.Constant{Value: 10}}},
		scenarios.Tag{Name: "power", Model: &scenarios.Model{Expr: &scenarios.Expr{Expr: "speed * 2"}}},
		scenarios.Tag{Name: "count", Type: scenarios.Int16, Writable: true, Model: &scenarios.Model{Counter: &scenarios.Counter{Rate: 10}}},
		scenarios.Tag{Name: "step", Writable: true, Model: &scenarios.Model{Steps: &scenarios.Steps{Steps: []scenarios.Step{{At: 0, Value: 1}, {At: dur(300 * time.Millisecond), Value: 2}}}}},
		scenarios.Tag{Name: "wave", Writable: true, Model: &scenarios.Model{Sine: &scenarios.Sine{Amplitude: 1, Period: dur(time.Second)}}},
		scenarios.Tag{Name: "label", Type: scenarios.String, Writable: true},
		scenarios.Tag{Name: "ro"},
	)
	e := newEngine(t, sc)
	idx := func(n string) int { i, _ := e.Lookup("m1/" + n); return i }
	w := e.Watch()
	defer w.Close()

	if err := e.Write(idx("speed"), int32(40)); err != nil {
		t.Fatal(err)
	}
	if v := e.Value(idx("speed")).V; v != 40.0 {
		t.Fatalf("speed right after write: %v", v)
	}
	if got := w.Changed(nil); !slices.Equal(got, []int{idx("speed")}) {
		t.Fatalf("watcher after write: %v", got)
	}
	e.Step(1)
	if v := e.Value(idx("power")).V; v != 80.0 {
		t.Fatalf("power follows the setpoint: %v, want 80", v)
	}
	e.Step(5)
	if v := e.Value(idx("speed")).V; v != 40.0 {
		t.Fatalf("constant write holds: %v", v)
	}

	// A counter write resets its count.
	e.Step(1)
	if err := e.Write(idx("count"), 0); err != nil {
		t.Fatal(err)
	}
	e.Step(2)
	if v := e.Value(idx("count")).V; v != int16(2) {
		t.Fatalf("counter after reset and 2 ticks: %v", v)
	}

	// A steps write holds until the next step... (the last step has
	// passed, so it holds).
	if err := e.Write(idx("step"), 9.5); err != nil {
		t.Fatal(err)
	}
	e.Step(3)
	if v := e.Value(idx("step")).V; v != 9.5 {
		t.Fatalf("step write: %v", v)
	}
	// A sine write holds until the next write.
	if err := e.Write(idx("wave"), 0.25); err != nil {
		t.Fatal(err)
	}
	e.Step(3)
	if v := e.Value(idx("wave")).V; v != 0.25 {
		t.Fatalf("sine write: %v", v)
	}
	if err := e.Write(idx("label"), "batch 7"); err != nil || e.Value(idx("label")).V != "batch 7" {
		t.Fatalf("string write: %v %v", err, e.Value(idx("label")).V)
	}

	errs := []struct {
		i    int
		v    any
		want error
	}{
		{idx("ro"), 1.0, ErrNotWritable},
		{idx("speed"), 150, ErrOutOfRange},
		{idx("speed"), "fast", ErrType},
		{idx("count"), 3.5, ErrType},
		{idx("count"), 40000, ErrOutOfRange},
		{idx("label"), 3, ErrType},
		{999, 1, ErrUnknownTag},
	}
	for _, tt := range errs {
		if err := e.Write(tt.i, tt.v); !errors.Is(err, tt.want) {
			t.Errorf("write %v to %d: %v, want %v", tt.v, tt.i, err, tt.want)
		}
	}
	var writes int
	evs, _ := e.Events(0)
	for _, ev := range evs {
		if ev.Kind == EventWrite && ev.Origin == "client" {
			writes++
		}
	}
	if writes != 5 {
		t.Fatalf("%d write events, want 5", writes)
	}
}

func TestStepsWriteHoldsUntilNextStep(t *testing.T) {
	e := newEngine(t, scenario(scenarios.Tag{Name: "x", Writable: true, Model: &scenarios.Model{Steps: &scenarios.Steps{
		Steps: []scenarios.Step{{At: 0, Value: 1}, {At: dur(300 * time.Millisecond), Value: 2}}}}}))
	if err := e.Write(0, 5); err != nil {
		t.Fatal(err)
	}
	got := series(t, e, "m1/x", 4)
	if !slices.Equal(got, []any{5.0, 5.0, 5.0, 2.0, 2.0}) {
		t.Fatalf("got %v", got)
	}
}

func TestTimeline(t *testing.T) {
	ms := time.Millisecond
	sc := scenario(
		scenarios.Tag{Name: "sp", Model: &scenarios.Model{Constant: &scenarios.Constant{Value: 1}}},
		scenarios.Tag{Name: "st", Type: scenarios.String, Model: &scenarios.Model{StateMachine: &scenarios.StateMachine{States: []scenarios.State{
			{Name: "Idle", Dwell: scenarios.DwellTime{Min: dur(time.Hour), Max: dur(time.Hour)}},
			{Name: "Fault", Dwell: scenarios.DwellTime{Min: dur(200 * ms), Max: dur(200 * ms)}, Next: map[string]float64{"Idle": 1}}}}}},
	)
	sc.Faults = []scenarios.Fault{
		{Name: "bq", Kind: scenarios.BadQuality, Target: "m1/sp"},
		{Name: "auto", Kind: scenarios.Stuck, Target: "m1/sp", Start: durp(300 * ms), Duration: dur(100 * ms)},
	}
	sc.Timeline = []scenarios.Event{
		{At: dur(500 * ms), Clear: "bq", Note: "sensor replaced"},
		{At: dur(300 * ms), Set: &scenarios.SetValue{Tag: "m1/sp", Value: 7}},
		{At: dur(100 * ms), Fault: "bq"},
		{At: dur(300 * ms), State: &scenarios.SetState{Tag: "m1/st", State: "Fault"}},
		{At: dur(600 * ms), Note: "end"},
	}
	e := newEngine(t, sc)
	sp, _ := e.Lookup("m1/sp")
	st, _ := e.Lookup("m1/st")
	var status []uint32
	var states []any
	for range 8 {
		status = append(status, e.Value(sp).Status)
		states = append(states, e.Value(st).V)
		e.Step(1)
	}
	b := StatusBadSensorFailure
	if want := []uint32{0, b, b, b, b, 0, 0, 0}; !slices.Equal(status, want) {
		t.Errorf("status %x, want %x", status, want)
	}
	if want := []any{"Idle", "Idle", "Idle", "Fault", "Fault", "Idle", "Idle", "Idle"}; !slices.Equal(states, want) {
		t.Errorf("states %v, want %v", states, want)
	}
	// The write at 300ms happens in the same tick the stuck fault starts
	// (scenario fault starts come first), so the stuck value is 7.
	if v := e.Value(sp).V; v != 7.0 {
		t.Errorf("sp = %v, want 7", v)
	}
	evs, _ := e.Events(0)
	var got []string
	for _, ev := range evs {
		what := ev.Fault
		if what == "" {
			what = ev.Message + ev.Target
		}
		got = append(got, ev.Elapsed.String()+" "+ev.Kind+" "+what)
	}
	want := []string{
		"100ms inject bq",
		"300ms inject auto",
		"300ms set m1/sp",
		"300ms state m1/st",
		"400ms expire auto",
		"500ms clear bq",
		"500ms note sensor replaced",
		"600ms note end",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("events:\n%q\nwant\n%q", got, want)
	}
}

func TestWatcher(t *testing.T) {
	e := newEngine(t, scenario(
		scenarios.Tag{Name: "c", Model: &scenarios.Model{Constant: &scenarios.Constant{Value: 1}}},
		scenarios.Tag{Name: "r", Model: &scenarios.Model{Ramp: &scenarios.Ramp{Max: 10, Period: dur(time.Second)}}},
	))
	w := e.Watch()
	select {
	case <-w.C():
		t.Fatal("signalled before any change")
	default:
	}
	e.Step(3)
	select {
	case <-w.C():
	default:
		t.Fatal("not signalled after a changing tick")
	}
	if got := w.Changed(nil); !slices.Equal(got, []int{1}) {
		t.Fatalf("changed %v, want [1]", got)
	}
	if got := w.Changed(nil); len(got) != 0 {
		t.Fatalf("changed again %v", got)
	}
	w.Close()
	e.Step(1)
	select {
	case <-w.C():
		t.Fatal("signalled after Close")
	default:
	}
}

func TestRunPacesTicks(t *testing.T) {
	sc := scenario(scenarios.Tag{Name: "r", Model: &scenarios.Model{Ramp: &scenarios.Ramp{Max: 10, Period: dur(time.Second)}}})
	sc.Tick = dur(10 * time.Millisecond)
	sc.TimeScale = 10 // one tick per wall millisecond
	e := newEngine(t, sc)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- e.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	waitTicks(t, e, 100, 5*time.Second)
	// Run never runs ahead of the wall clock: 100 ticks of 10 ms at
	// scale 10 take at least 100 ms.
	if el := time.Since(start); el < 100*time.Millisecond {
		t.Fatalf("100 ticks in %v, want >= 100ms", el)
	}
	if err := e.SetSpeed(0); err == nil {
		t.Fatal("speed 0 accepted")
	}
	// Pause: the tick count stays put while the clock is paused.
	e.Pause()
	before := e.Status().Ticks
	if !e.Status().Paused {
		t.Fatal("not paused")
	}
	deadline := time.After(60 * time.Millisecond)
	for waiting := true; waiting; {
		select {
		case <-deadline:
			waiting = false
		case <-time.After(5 * time.Millisecond):
			// Run may finish the tick it was in when Pause came.
			if n := e.Status().Ticks; n > before+maxCatchUp {
				t.Fatalf("ticks moved while paused: %d -> %d", before, n)
			}
		}
	}
	paused := e.Status().Ticks
	for end := time.Now().Add(30 * time.Millisecond); time.Now().Before(end); {
		if n := e.Status().Ticks; n != paused {
			t.Fatalf("ticks moved while paused: %d -> %d", paused, n)
		}
		<-time.After(2 * time.Millisecond)
	}
	// Step works while paused.
	e.Step(2)
	if n := e.Status().Ticks; n != paused+2 {
		t.Fatalf("step while paused: %d, want %d", n, paused+2)
	}
	// Speed 5 after resume: 250 more ticks take at least 50 ms.
	if err := e.SetSpeed(5); err != nil {
		t.Fatal(err)
	}
	resumed := time.Now()
	e.Resume()
	waitTicks(t, e, paused+2+250, 5*time.Second)
	if el := time.Since(resumed); el < 50*time.Millisecond {
		t.Fatalf("250 ticks at speed 5 in %v, want >= 50ms", el)
	}
	st := e.Status()
	if st.Speed != 5 || st.Paused || st.Elapsed.D() != time.Duration(st.Ticks)*10*time.Millisecond {
		t.Fatalf("status %+v", st)
	}
}

func waitTicks(t *testing.T, e *Engine, n uint64, within time.Duration) {
	t.Helper()
	if !testkit.Poll(within, func() bool { return e.Status().Ticks >= n }) {
		t.Fatalf("only %d ticks of %d within %v", e.Status().Ticks, n, within)
	}
}

func TestConcurrentUse(t *testing.T) {
	e := newEngine(t, randomScenario(1, scenarios.Tag{Name: "sp", Type: scenarios.Float64, Writable: true}))
	sp, _ := e.Lookup("m1/sp")
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := e.Watch()
			defer w.Close()
			var buf []int
			for k := 0; ; k++ {
				select {
				case <-stop:
					return
				default:
				}
				for i := range e.Tags() {
					_ = e.Value(i)
				}
				_ = e.Link("m1", "opcua")
				buf = w.Changed(buf[:0])
				if g == 0 {
					_ = e.Write(sp, float64(k))
				}
				if g == 1 && k%10 == 0 {
					_ = e.Inject(scenarios.Fault{Name: "cl", Kind: scenarios.CommLoss, Target: "m1"})
					_ = e.Faults()
					_ = e.Clear("cl")
				}
			}
		}()
	}
	for range 200 {
		e.Step(1)
	}
	close(stop)
	wg.Wait()
}

func TestValueDoesNotAllocate(t *testing.T) {
	e := newEngine(t, randomScenario(1))
	if n := testing.AllocsPerRun(100, func() { _ = e.Value(0); _ = e.Link("m1", "modbus") }); n != 0 {
		t.Fatalf("Value+Link allocate %v times", n)
	}
}

func TestSourceRefresh(t *testing.T) {
	now := fixedNow()
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	tests := []struct {
		name    string
		refresh time.Duration
		want    time.Duration // age of Source after 1.5 s without change
		changed bool
	}{
		{"default: time of the last change", 0, 1500 * time.Millisecond, false},
		{"refresh every second", time.Second, 500 * time.Millisecond, true},
		{"short refresh", 200 * time.Millisecond, 100 * time.Millisecond, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now = fixedNow()
			e, err := New(scenario(scenarios.Tag{Name: "c", Model: &scenarios.Model{Constant: &scenarios.Constant{Value: 1}}}),
				Options{Now: clock, Logger: discard, SourceRefresh: tt.refresh})
			if err != nil {
				t.Fatal(err)
			}
			w := e.Watch()
			defer w.Close()
			for range 15 {
				advance(100 * time.Millisecond)
				e.Step(1)
			}
			if age := clock().Sub(e.Value(0).Source); age != tt.want {
				t.Fatalf("source is %v old, want %v", age, tt.want)
			}
			if got := len(w.Changed(nil)) > 0; got != tt.changed {
				t.Fatalf("watcher saw a change: %v, want %v", got, tt.changed)
			}
		})
	}
}

func TestEventLogWraps(t *testing.T) {
	e := newEngine(t, scenario(scenarios.Tag{Name: "sp", Type: scenarios.Float64, Writable: true}))
	for k := range maxEvents + 5 {
		if err := e.Write(0, float64(k)); err != nil {
			t.Fatal(err)
		}
	}
	evs, next := e.Events(0)
	if len(evs) != maxEvents || next != maxEvents+5 || evs[0].Seq != 5 || evs[len(evs)-1].Seq != maxEvents+4 {
		t.Fatalf("%d events, next %d, first %d, last %d", len(evs), next, evs[0].Seq, evs[len(evs)-1].Seq)
	}
	if evs[0].Value != 5.0 {
		t.Fatalf("oldest kept event has value %v, want 5", evs[0].Value)
	}
	tail, n := e.Events(next - 2)
	if len(tail) != 2 || n != next || tail[1].Value != float64(maxEvents+4) {
		t.Fatalf("tail %+v %d", tail, n)
	}
}
