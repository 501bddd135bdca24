package score

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/otwin/otwin/connectors"
	"github.com/otwin/otwin/ctxrole"
	"github.com/otwin/otwin/normalize"
)

var t0 = time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)

func at(sec float64) time.Time { return t0.Add(time.Duration(sec * float64(time.Second))) }

func ctx(wo, batch string, since float64) *normalize.Context {
	var v [ctxrole.N]string
	v[ctxrole.WorkOrder.Index()], v[ctxrole.Batch.Index()] = wo, batch
	return normalize.NewContext(v, at(since))
}

// script is a scripted stream over ten seconds:
//
//   - machine m1 (points a, b) and m9 (point e) are polled every 500ms by
//     "mb"; its link is down from 6.5s to 8.5s (the samples between say
//     no communication: not received); b reads Bad_SensorFailure at 3s
//     and 3.5s;
//   - machine m2 (points c, d) is subscribed through "ua" (sampling
//     250ms, publishing 500ms): c changes every 500ms, 20ms old (300ms
//     once, at 5.1s), d once at 0.2s (3ms old); at 5s the subscription
//     reports two lost notification messages;
//   - line acme/s1/l1's context is work order WO-1 with batch B-1 (since
//     50ms), then batch B-2 from 5s;
//   - out_of_range is raised on a at 4s, comm_loss on mb at 7s (and a
//     clear, which counts for nothing).
func script(b *Board) {
	ctx1, ctx2 := ctx("WO-1", "B-1", 0.05), ctx("WO-1", "B-2", 5)
	lineCtx := func(x float64) *normalize.Context {
		if x <= 5 {
			return ctx1
		}
		return ctx2
	}
	b.Tick(t0, []connectors.Health{{Source: "mb", State: connectors.Connected}, {Source: "ua", State: connectors.Connected}})
	for k := 1; k <= 10; k++ {
		var out normalize.Output
		for _, tenths := range []int{10*k - 9, 10*k - 4} {
			x := float64(tenths) / 10
			out.Samples = append(out.Samples, normalize.Sample{ID: "acme/s1/l1/m2/c", Asset: "acme/s1/l1/m2", Source: "ua",
				Status: connectors.Good, Received: at(x), SourceTime: at(x - age(x)), Context: lineCtx(x)})
		}
		if k == 1 {
			out.Samples = append(out.Samples, normalize.Sample{ID: "acme/s1/l1/m2/d", Asset: "acme/s1/l1/m2", Source: "ua",
				Status: connectors.Good, Received: at(0.2), SourceTime: at(0.197), Context: ctx1})
		}
		for _, x := range []float64{float64(k) - 0.5, float64(k)} {
			st := connectors.Good
			if x >= 7 && x <= 8.5 {
				st = connectors.UncertainNoCommunicationLastUsableValue
			}
			for _, id := range []string{"acme/s1/l1/m1/a", "acme/s1/l1/m1/b", "acme/s2/l9/m9/e"} {
				s := normalize.Sample{ID: id, Asset: id[:len(id)-2], Source: "mb", Status: st, Received: at(x)}
				if id == "acme/s1/l1/m1/b" && (x == 3 || x == 3.5) {
					s.Status = connectors.BadSensorFailure
				}
				if id != "acme/s2/l9/m9/e" {
					s.Context = lineCtx(x)
				}
				out.Samples = append(out.Samples, s)
			}
		}
		switch k {
		case 4:
			out.Conditions = append(out.Conditions, normalize.Condition{Kind: normalize.AlertOutOfRange, Target: "acme/s1/l1/m1/a", Active: true, At: at(4)})
		case 7:
			out.Conditions = append(out.Conditions,
				normalize.Condition{Kind: normalize.AlertCommLoss, Target: "mb", Active: true, At: at(7)},
				normalize.Condition{Kind: normalize.AlertOutOfRange, Target: "acme/s1/l1/m1/a", At: at(7)})
		}
		b.Observe(&out)
		mb := connectors.Health{Source: "mb", State: connectors.Connected}
		switch k {
		case 7, 8:
			mb = connectors.Health{Source: "mb", State: connectors.Down, Since: at(6.5)}
		case 9, 10:
			mb.Since = at(8.5)
		}
		ua := connectors.Health{Source: "ua", State: connectors.Connected}
		if k >= 5 {
			ua.SequenceGaps = 2
		}
		b.Tick(at(float64(k)), []connectors.Health{mb, ua})
	}
}

func age(x float64) float64 {
	if x == 5.1 {
		return 0.3
	}
	return 0.020
}

func scriptConfig() Config {
	return Config{
		Settings: Settings{Window: time.Minute, LineLevels: 3},
		Slices:   60,
		Sources: []Source{
			{Name: "mb", Poll: 500 * time.Millisecond},
			{Name: "ua", Sampling: 250 * time.Millisecond, Publishing: 500 * time.Millisecond},
		},
		Points: []Point{
			{ID: "acme/s1/l1/m1/a", Asset: "acme/s1/l1/m1", Source: "mb"},
			{ID: "acme/s1/l1/m1/b", Asset: "acme/s1/l1/m1", Source: "mb"},
			{ID: "acme/s1/l1/m2/c", Asset: "acme/s1/l1/m2", Source: "ua"},
			{ID: "acme/s1/l1/m2/d", Asset: "acme/s1/l1/m2", Source: "ua"},
			{ID: "acme/s2/l9/m9/e", Asset: "acme/s2/l9/m9", Source: "mb"},
		},
	}
}

// card is the figures of a Card, as the tests compare them.
type card struct {
	asset                       string
	expected, received          float64
	samples, good               uint64
	completeness, validity, p95 float64
	availability                float64
	alerts                      map[string]int
}

func figures(c Card) card {
	return card{c.Asset + c.Value, c.Expected, c.Received, c.Samples, c.Good, c.Completeness, c.Validity, c.P95Age, c.Availability, c.Alerts}
}

func TestScriptedFigures(t *testing.T) {
	b := New(scriptConfig())
	script(b)
	r := b.Report()
	if !r.At.Equal(at(10)) || r.Window != 60 {
		t.Fatalf("report at %v, window %v", r.At, r.Window)
	}
	// m1: 2 points × 10s ÷ 0.5s = 40 expected; 16 samples each read from
	// the device (4 said no communication); 2 of the 32 bad; its link up
	// 8 of 10 s.
	// m2: 2 × 10 ÷ 0.25 = 80 expected; the subscription vouched for 9 s
	// (10 up, 1 lost: 2 messages × 500ms): 72; 21 samples, all good; ages
	// 19 × 20ms, 300ms, 3ms: the 95th percentile lies in the 20ms bucket.
	// m9: 20 expected, 16 received, link up 8 of 10 s.
	want := []card{
		{"acme/s1/l1/m1", 40, 32, 32, 30, 0.8, 0.9375, -1, 0.8, map[string]int{"out_of_range": 1, "comm_loss": 1}},
		{"acme/s1/l1/m2", 80, 72, 21, 21, 0.9, 1, 0.02, 1, nil},
		{"acme/s2/l9/m9", 20, 16, 16, 16, 0.8, 1, -1, 0.8, map[string]int{"comm_loss": 1}},
	}
	check(t, "machines", r.Machines, want)
	// line = site = m1 + m2: 104/120, 51/53, up (16+20)/(20+20).
	line := card{"acme/s1/l1", 120, 104, 53, 51, 0.8667, 0.9623, 0.02, 0.9, map[string]int{"out_of_range": 1, "comm_loss": 1}}
	check(t, "lines", r.Lines, []card{line, {"acme/s2/l9", 20, 16, 16, 16, 0.8, 1, -1, 0.8, map[string]int{"comm_loss": 1}}})
	site := line
	site.asset = "acme/s1"
	check(t, "sites", r.Sites, []card{site, {"acme/s2", 20, 16, 16, 16, 0.8, 1, -1, 0.8, map[string]int{"comm_loss": 1}}})

	// Periods: batch B-1 from 50ms to 5s (ticks 1-5, samples up to 5s),
	// B-2 open since 5s; the work order spans the whole run.
	wantPeriods := []card{
		{"acme/s1/l1WO-1", 120, 104, 53, 51, 0.8667, 0.9623, 0.02, 0.9, map[string]int{"out_of_range": 1, "comm_loss": 1}},
		{"acme/s1/l1B-1", 60, 52, 31, 29, 0.8667, 0.9355, 0.02, 1, map[string]int{"out_of_range": 1}},
		{"acme/s1/l1B-2", 60, 52, 22, 22, 0.8667, 1, 0.5, 0.8, map[string]int{"comm_loss": 1}},
	}
	check(t, "periods", r.Periods, wantPeriods)
	p := r.Periods
	if p[0].Level != "work_order" || !p[0].From.Equal(at(0.05)) || !p[0].To.IsZero() ||
		p[1].Level != "batch" || !p[1].From.Equal(at(0.05)) || !p[1].To.Equal(at(5)) ||
		p[2].Level != "batch" || !p[2].From.Equal(at(5)) || !p[2].To.IsZero() {
		t.Errorf("period spans: %+v", p)
	}
	// The JSON payload round-trips.
	js, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(js, &back); err != nil || !reflect.DeepEqual(back.Periods[1], r.Periods[1]) {
		t.Errorf("JSON round trip: %v\n%+v\n%+v", err, back.Periods[1], r.Periods[1])
	}
}

func check(t *testing.T, what string, got []Card, want []card) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d cards, want %d: %+v", what, len(got), len(want), got)
	}
	for i := range want {
		if g := figures(got[i]); !reflect.DeepEqual(g, want[i]) {
			t.Errorf("%s[%d]:\n got %+v\nwant %+v", what, i, g, want[i])
		}
	}
}

func TestWindowRolls(t *testing.T) {
	// A 4s window in 1s slices: after 10s only slices 7-9 hold time (the
	// current slice, 10, has just begun), so the losses of the first five
	// seconds are gone.
	b := New(Config{Settings: Settings{Window: 4 * time.Second, LineLevels: 3}, Slices: 4,
		Sources: []Source{{Name: "mb", Poll: 500 * time.Millisecond}},
		Points:  []Point{{ID: "s/a/l/m/x", Asset: "s/a/l/m", Source: "mb"}}})
	b.Tick(t0, []connectors.Health{{Source: "mb", State: connectors.Connected}})
	for k := 1; k <= 10; k++ {
		var out normalize.Output
		if k > 5 {
			for _, x := range []float64{float64(k) - 0.5, float64(k)} {
				out.Samples = append(out.Samples, normalize.Sample{ID: "s/a/l/m/x", Asset: "s/a/l/m", Source: "mb", Status: connectors.Good, Received: at(x)})
			}
		}
		b.Observe(&out)
		b.Tick(at(float64(k)), []connectors.Health{{Source: "mb", State: connectors.Connected}})
	}
	r := b.Report()
	check(t, "machines", r.Machines, []card{{"s/a/l/m", 6, 6, 6, 6, 1, 1, -1, 1, nil}})
	if !r.Machines[0].From.Equal(at(7)) || !r.Machines[0].To.Equal(at(10)) {
		t.Errorf("window %v – %v, want 7s – 10s", r.Machines[0].From, r.Machines[0].To)
	}
}

func TestLevels(t *testing.T) {
	for _, tt := range []struct {
		path string
		n    int
		want string
	}{
		{"acme/springfield/packaging/line1/filling/filler1", 4, "acme/springfield/packaging/line1"},
		{"acme/springfield/packaging/line1/mes", 4, "acme/springfield/packaging/line1"},
		{"acme/springfield/shifts", 4, "acme/springfield"},
		{"m", 4, "m"},
	} {
		if got := levels(tt.path, tt.n); got != tt.want {
			t.Errorf("levels(%q, %d) = %q, want %q", tt.path, tt.n, got, tt.want)
		}
	}
}

func TestAgeBuckets(t *testing.T) {
	var x tally
	if x.p95() != -1 {
		t.Fatal("p95 of nothing")
	}
	for range 99 {
		x.age(time.Millisecond)
	}
	x.age(90 * time.Second)
	if got := x.p95(); got != 0.001 {
		t.Errorf("p95 = %v, want 0.001", got)
	}
	for range 10 {
		x.age(2 * time.Minute)
	}
	if got := x.p95(); got != 120 {
		t.Errorf("p95 beyond the last bound = %v, want the largest age 120", got)
	}
	x.age(-time.Second) // a source clock ahead: age 0
	if x.ages[0] != 100 {
		t.Errorf("negative age not in the first bucket: %v", x.ages)
	}
}
