package uaimport

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/otwin/otwin/scenarios"
	"github.com/otwin/otwin/statuscode"
)

// How sampled values become models. The heuristics, in order, on the
// samples with a Good status:
//
//   - Fewer than MinSamples: a constant of the last value (the value read
//     when there are none).
//   - Every sample equal: a constant.
//   - An enumeration (a data type below Enumeration, or EnumStrings /
//     EnumValues): a state machine over its named values (see below).
//   - bool: a square wave, its period the mean time between rising edges,
//     high (true) for the fraction of that time seen true.
//   - string: a state machine over the values seen when there are at most
//     MaxStringStates and each is a valid state name, else a constant of
//     the last value.
//   - An integer tag with at most MaxCodeStates distinct values held for
//     at least MinRun samples on average: a state machine over the codes
//     (states named s<code>).
//   - Never decreasing, except drops of more than half the span seen
//     (wraps), with at least two increases, and (float tags that did not
//     wrap) rising at a steady rate, the rates of the two halves of the
//     time within a factor of MaxRateRatio: a counter at the mean rate
//     (increase over time, wraps excluded); on a float tag that wrapped at
//     least twice, a sawtooth ramp from the lowest to the highest value
//     with the mean time between wraps as period; an integer counter that
//     wrapped rolls over above the highest value seen.
//   - Rising and falling in turn (a value repeated now and then, at most a
//     quarter of the samples, counts with the run), each run at least
//     MinRun samples, with
//     rising and falling rates within RampSlopeTolerance of each other: a
//     triangle ramp between the lowest and the highest value, its period
//     twice the mean run.
//   - Anything else: noise with the samples' mean and standard deviation.
//
// A state machine's dwell in each state is the shortest and longest run
// of that state seen between two changes (runs cut by the start or end of
// sampling count when no whole run was seen); its next states are the
// changes seen, weighted by count; a state never left goes to every other
// state seen, with equal weights. Without samples, an enumeration is a
// state machine that stays in the state of the variable's value.
const (
	// MinSamples is the fewest Good samples a model other than a
	// constant is proposed from.
	MinSamples = 5
	// MaxStringStates is the most distinct strings a state machine is
	// proposed for.
	MaxStringStates = 16
	// MaxCodeStates is the most distinct integers a state machine is
	// proposed for (enumerations excepted).
	MaxCodeStates = 8
	// MinRun is the mean run of equal samples (integer codes) or the
	// shortest monotone run (triangle ramps) the heuristics want.
	MinRun = 3
	// MaxRateRatio is how much faster a float counter may rise in one
	// half of the sampled time than in the other.
	MaxRateRatio = 2
	// RampSlopeTolerance is how far the rising and falling rates of a
	// triangle ramp may differ, relative to the larger.
	RampSlopeTolerance = 0.25
)

// model proposes the model of a tag of type typ for variable v: from its
// samples when it has any, else a constant of its value. enum marks an
// enumeration with the named states (maybe none known).
func (m *mapper) model(v *Node, typ scenarios.DataType, enum bool, states []EnumValue) (*scenarios.Model, string) {
	if len(v.Samples) > 0 {
		return propose(typ, enum, states, v.Samples, v.Value)
	}
	if enum {
		sm := stateMachine(typ, states, nil, v.Value)
		if sm == nil {
			return constant(typ, v.Value), ""
		}
		return &scenarios.Model{StateMachine: sm}, "stays in its initial state: give its states a dwell and next states to make it move"
	}
	return constant(typ, v.Value), ""
}

// constant is a constant model of v, nil when v is not a value of typ
// (the tag's default, zero).
func constant(typ scenarios.DataType, v any) *scenarios.Model {
	if v == nil {
		return nil
	}
	x, err := scenarios.Exact(typ, v)
	if err != nil {
		return nil
	}
	return &scenarios.Model{Constant: &scenarios.Constant{Value: x}}
}

// propose proposes a model from samples (see the heuristics above);
// fallback is the value read when no sample is Good.
func propose(typ scenarios.DataType, enum bool, states []EnumValue, samples []Sample, fallback any) (*scenarios.Model, string) {
	good := make([]Sample, 0, len(samples))
	for _, s := range samples {
		if s.Value != nil && statuscode.Code(s.Status).IsGood() {
			if x, err := scenarios.Exact(typ, s.Value); err == nil {
				s.Value = x
				good = append(good, s)
			}
		}
	}
	bad := ""
	if n := len(samples) - len(good); n > 0 {
		bad = fmt.Sprintf(", %d not Good or not of the type", n)
	}
	seen := fmt.Sprintf("%d samples over %s%s", len(samples), roundDur(samples[len(samples)-1].At-samples[0].At), bad)
	if len(good) < MinSamples {
		last := fallback
		if len(good) > 0 {
			last = good[len(good)-1].Value
		}
		return constant(typ, last), seen + ": too few to propose a model"
	}
	if all(good, func(s Sample) bool { return s.Value == good[0].Value }) && !enum {
		return constant(typ, good[0].Value), seen + ": constant"
	}
	switch {
	case enum:
		sm := stateMachine(typ, states, good, nil)
		return &scenarios.Model{StateMachine: sm}, seen + ": the enumeration's states"
	case typ == scenarios.Bool:
		return square(good), seen + ": on and off"
	case typ == scenarios.String:
		if sm := stringStates(good); sm != nil {
			return &scenarios.Model{StateMachine: sm}, seen + ": states"
		}
		return constant(typ, good[len(good)-1].Value), seen + ": too many distinct strings for states"
	}
	xs := floats(good)
	if typ.Integer() {
		if codes := distinct(xs); len(codes) <= MaxCodeStates && float64(len(xs))/float64(runs(xs)) >= MinRun {
			sm := stateMachine(typ, nil, good, nil)
			return &scenarios.Model{StateMachine: sm}, seen + ": a few codes held in turn"
		}
	}
	if mdl, what := monotone(typ, good, xs); mdl != nil {
		return mdl, seen + ": " + what
	}
	if mdl := triangle(good, xs); mdl != nil {
		return mdl, seen + ": rising and falling"
	}
	mean, sd := meanStd(xs)
	return &scenarios.Model{Noise: &scenarios.Noise{Mean: round6(mean), StdDev: round6(sd)}}, seen + ": noise"
}

// monotone proposes a counter or a sawtooth ramp for values that never
// decrease except by wrapping; nil when they do.
func monotone(typ scenarios.DataType, good []Sample, xs []float64) (*scenarios.Model, string) {
	lo, hi := slices.Min(xs), slices.Max(xs)
	span := hi - lo
	var rise, counting float64 // the increase, and the time it took (wraps excluded)
	increases := 0
	var wraps []int // indexes of the samples after a wrap
	for i := 1; i < len(xs); i++ {
		d := xs[i] - xs[i-1]
		switch {
		case d < 0 && -d > span/2:
			wraps = append(wraps, i)
			continue
		case d < 0:
			return nil, ""
		case d > 0:
			rise += d
			increases++
		}
		counting += (good[i].At - good[i-1].At).Seconds()
	}
	if increases < 2 || counting <= 0 {
		return nil, ""
	}
	if typ.Float() && len(wraps) == 0 && !steady(good, xs) {
		return nil, "" // a curve (a lag settling), not a count
	}
	if typ.Float() && len(wraps) >= 2 {
		period := (good[wraps[len(wraps)-1]].At - good[wraps[0]].At) / time.Duration(len(wraps)-1)
		return &scenarios.Model{Ramp: &scenarios.Ramp{Min: round6(lo), Max: round6(hi), Period: scenarios.Duration(roundDur(period))}}, "rises and wraps"
	}
	c := &scenarios.Counter{Rate: round6(rise / counting)}
	if len(wraps) > 0 && typ.Integer() {
		// Integers of the type, exactly: the twin counts them exactly.
		_, top, _ := typ.IntRange()
		if hi+1 <= min(float64(top), 1<<53) {
			c.Rollover = hi + 1
			if after := xs[wraps[0]]; after > 0 {
				c.Start = after
			}
		}
	}
	what := "counts up"
	if len(wraps) > 0 {
		what = "counts up and wraps"
	}
	return &scenarios.Model{Counter: c}, what
}

// steady reports whether values rising without a wrap rise at a steady
// rate: the rates over the first and the second half of the time differ
// by less than a factor of MaxRateRatio.
func steady(good []Sample, xs []float64) bool {
	mid := len(xs) / 2
	rate := func(i, j int) float64 {
		return (xs[j] - xs[i]) / (good[j].At - good[i].At).Seconds()
	}
	a, b := rate(0, mid), rate(mid, len(xs)-1)
	return a > 0 && b > 0 && max(a, b)/min(a, b) < MaxRateRatio
}

// triangle proposes a triangle ramp for values rising and falling in
// turn at similar rates; nil otherwise.
func triangle(good []Sample, xs []float64) *scenarios.Model {
	type run struct {
		up       bool
		from, to int
	}
	var rs []run
	flat := 0
	for i := 1; i < len(xs); i++ {
		d := xs[i] - xs[i-1]
		if d == 0 {
			// A value read twice between two updates of the server.
			if flat++; flat*4 > len(xs) {
				return nil
			}
			if len(rs) > 0 {
				rs[len(rs)-1].to = i
			}
			continue
		}
		up := d > 0
		if len(rs) > 0 && rs[len(rs)-1].up == up {
			rs[len(rs)-1].to = i
			continue
		}
		rs = append(rs, run{up: up, from: i - 1, to: i})
	}
	if len(rs) < 2 {
		return nil
	}
	var upRate, downRate, whole float64
	var nUp, nDown, nWhole int
	for k, r := range rs {
		if r.to-r.from < MinRun && k > 0 && k < len(rs)-1 {
			return nil
		}
		dt := (good[r.to].At - good[r.from].At).Seconds()
		rate := math.Abs(xs[r.to]-xs[r.from]) / dt
		if r.up {
			upRate += rate
			nUp++
		} else {
			downRate += rate
			nDown++
		}
		if k > 0 && k < len(rs)-1 {
			whole += dt
			nWhole++
		}
	}
	if nUp == 0 || nDown == 0 {
		return nil
	}
	upRate, downRate = upRate/float64(nUp), downRate/float64(nDown)
	if math.Abs(upRate-downRate) > RampSlopeTolerance*max(upRate, downRate) {
		return nil
	}
	lo, hi := slices.Min(xs), slices.Max(xs)
	half := (hi - lo) / ((upRate + downRate) / 2)
	if nWhole > 0 {
		half = whole / float64(nWhole)
	}
	period := time.Duration(2 * half * float64(time.Second))
	return &scenarios.Model{Ramp: &scenarios.Ramp{Min: round6(lo), Max: round6(hi), Period: scenarios.Duration(roundDur(period)), Shape: "triangle"}}
}

// square proposes a square wave for a bool that changes: its period the
// mean time between rising edges, its duty the time spent true between
// the first and the last rising edge (over all the samples with fewer than
// two rising edges).
func square(good []Sample) *scenarios.Model {
	var rises []int
	for i := 1; i < len(good); i++ {
		if good[i-1].Value == false && good[i].Value == true {
			rises = append(rises, i)
		}
	}
	from, to := 0, len(good)-1
	if len(rises) >= 2 {
		from, to = rises[0], rises[len(rises)-1]
	}
	var high time.Duration
	for i := from + 1; i <= to; i++ {
		if good[i-1].Value == true {
			high += good[i].At - good[i-1].At
		}
	}
	span := good[to].At - good[from].At
	period := span / time.Duration(max(len(rises)-1, 1))
	if len(rises) < 2 {
		period = span / time.Duration(max(len(rises), 1))
	}
	duty := round6(float64(high) / float64(span))
	return &scenarios.Model{Square: &scenarios.Square{Low: 0, High: 1, Period: scenarios.Duration(roundDur(period)), Duty: duty}}
}

// stringStates is a state machine over the strings seen, nil when there
// are too many or one is not a valid state name.
func stringStates(good []Sample) *scenarios.StateMachine {
	var seen []string
	for _, s := range good {
		v := s.Value.(string)
		if !slices.Contains(seen, v) {
			if len(seen) == MaxStringStates || name(v, "") != v {
				return nil
			}
			seen = append(seen, v)
		}
	}
	sm := &scenarios.StateMachine{Initial: good[0].Value.(string)}
	for _, v := range seen {
		sm.States = append(sm.States, scenarios.State{Name: v})
	}
	fitRuns(sm, good, func(s Sample) int { return slices.Index(seen, s.Value.(string)) })
	return sm
}

// stateMachine is a state machine over the enumeration's values (states;
// nil: the codes seen, named s<code>) on a numeric tag of type typ; from
// samples when given, else staying in the state of value. nil when no
// state fits the type.
func stateMachine(typ scenarios.DataType, states []EnumValue, samples []Sample, value any) *scenarios.StateMachine {
	sm := &scenarios.StateMachine{}
	var codes []int64
	taken := names{}
	add := func(code int64, nm string) {
		if slices.Contains(codes, code) {
			return
		}
		if _, err := scenarios.Exact(typ, code); err != nil {
			return
		}
		c := code
		codes = append(codes, code)
		sm.States = append(sm.States, scenarios.State{Name: taken.unique(name(nm, "s"+strconv.FormatInt(code, 10))), Code: &c})
	}
	for _, s := range states {
		add(s.Value, s.Name)
	}
	codeOf := func(v any) (int64, bool) {
		f, ok := scenarios.Float(v)
		if !ok || f != math.Trunc(f) || math.Abs(f) > 1<<62 {
			return 0, false
		}
		return int64(f), true
	}
	for _, s := range samples {
		if c, ok := codeOf(s.Value); ok {
			add(c, "s"+strconv.FormatInt(c, 10))
		}
	}
	if len(sm.States) == 0 {
		return nil
	}
	if len(samples) == 0 {
		if c, ok := codeOf(value); ok {
			if i := slices.Index(codes, c); i >= 0 {
				sm.Initial = sm.States[i].Name
			}
		}
		return sm
	}
	index := func(s Sample) int {
		c, ok := codeOf(s.Value)
		if !ok {
			return -1
		}
		return slices.Index(codes, c)
	}
	if i := index(samples[0]); i >= 0 {
		sm.Initial = sm.States[i].Name
	}
	fitRuns(sm, samples, index)
	return sm
}

// fitRuns sets the dwell times and next states of sm from the runs of
// states in samples (index gives a sample's state, -1 for none).
func fitRuns(sm *scenarios.StateMachine, samples []Sample, index func(Sample) int) {
	n := len(sm.States)
	whole := make([][]time.Duration, n)
	cut := make([][]time.Duration, n)
	next := make([]map[string]float64, n)
	start, cur := 0, index(samples[0])
	for i := 1; i <= len(samples); i++ {
		var k int
		if i < len(samples) {
			k = index(samples[i])
			if k == cur || k < 0 {
				continue
			}
		}
		if cur >= 0 {
			end := samples[min(i, len(samples)-1)].At
			d := end - samples[start].At
			if start > 0 && i < len(samples) {
				whole[cur] = append(whole[cur], d)
			} else {
				cut[cur] = append(cut[cur], d)
			}
			if i < len(samples) {
				if next[cur] == nil {
					next[cur] = map[string]float64{}
				}
				next[cur][sm.States[k].Name]++
			}
		}
		start, cur = i, k
	}
	for i := range sm.States {
		d := whole[i]
		if len(d) == 0 {
			d = cut[i]
		}
		if len(d) > 0 {
			sm.States[i].Dwell = scenarios.DwellTime{Min: scenarios.Duration(roundDur(slices.Min(d))), Max: scenarios.Duration(roundDur(slices.Max(d)))}
		}
		sm.States[i].Next = next[i]
	}
	// A state never left goes to every other state seen.
	for i := range sm.States {
		if len(sm.States[i].Next) > 0 || len(whole[i])+len(cut[i]) == 0 {
			continue
		}
		for k := range sm.States {
			if k != i && len(whole[k])+len(cut[k]) > 0 {
				if sm.States[i].Next == nil {
					sm.States[i].Next = map[string]float64{}
				}
				sm.States[i].Next[sm.States[k].Name] = 1
			}
		}
	}
}

// floats returns the samples' values as float64.
func floats(good []Sample) []float64 {
	xs := make([]float64, len(good))
	for i, s := range good {
		xs[i], _ = scenarios.Float(s.Value)
	}
	return xs
}

// distinct returns the distinct values of xs.
func distinct(xs []float64) []float64 {
	out := slices.Clone(xs)
	slices.Sort(out)
	return slices.Compact(out)
}

// runs counts the runs of equal consecutive values of xs.
func runs(xs []float64) int {
	n := 1
	for i := 1; i < len(xs); i++ {
		if xs[i] != xs[i-1] {
			n++
		}
	}
	return n
}

func meanStd(xs []float64) (mean, sd float64) {
	for _, x := range xs {
		mean += x
	}
	mean /= float64(len(xs))
	for _, x := range xs {
		sd += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(sd / float64(len(xs)))
}

func all[T any](xs []T, f func(T) bool) bool {
	for _, x := range xs {
		if !f(x) {
			return false
		}
	}
	return true
}

// round6 rounds f to 6 significant digits, for a readable file.
func round6(f float64) float64 {
	if f == 0 || math.IsNaN(f) || math.IsInf(f, 0) {
		return f
	}
	r, _ := strconv.ParseFloat(strconv.FormatFloat(f, 'g', 6, 64), 64)
	return r
}

// roundDur rounds d to milliseconds (at least 1 ms).
func roundDur(d time.Duration) time.Duration {
	return max(d.Round(time.Millisecond), time.Millisecond)
}
