package twin

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/expr-lang/expr/vm"

	"github.com/otwin/otwin/scenarios"
)

type modelKind uint8

const (
	kindConstant modelKind = iota
	kindSine
	kindRamp
	kindSquare
	kindRandomWalk
	kindNoise
	kindCounter
	kindSteps
	kindStateMachine
	kindExpr
	kindIntegrate
	kindLag
)

// tagRT is the simulation state of one tag. It is owned by the engine
// and guarded by Engine.mu.
type tagRT struct {
	typ   scenarios.DataType
	kind  modelKind
	model *scenarios.Model
	noise *scenarios.Noise // added to another kind
	rng   *rand.Rand       // random models only
	prog  *vm.Program      // expr, counter.when, integrate.rate, lag.input
	reads []int            // tags prog reads

	// Model output of this tick (quantized to the type), and for string
	// tags the string.
	num float64
	str string
	// Model state: counter accumulator, integrated value, lag output,
	// random walk position.
	acc float64
	// input is the integrate rate or lag input from the previous tick.
	input float64
	// Constant or step values, converted once.
	cnum  float64
	cstr  string
	steps []stepRT
	cycle time.Duration
	sm    *smRT
	roll  float64 // counter rollover (0: none)

	// Write override.
	ovr    bool
	ovrNum float64
	ovrStr string
	// Model output before the override, to see it change.
	rawNum float64
	rawStr string

	errLogged bool
	mach      int    // index of the tag's machine
	key       string // expression environment variable, "" when unread
	envNum    float64
	envStr    string // value last put in the environment

	// Last published value, with faults.
	pNum    float64
	pStr    string
	pStatus uint32
	pSkew   time.Duration
	pTime   time.Time // wall time of the last publication
	pSet    bool
}

type stepRT struct {
	at  time.Duration
	num float64
	str string
}

type smRT struct {
	states []smState
	byName map[string]int
	cur    int
	until  time.Duration
}

type smState struct {
	name     string
	code     float64
	min, max time.Duration
	next     []int
	cum      []float64 // cumulative normalized weights
}

// buildTag prepares tag i of machine mi and returns the tags its value
// depends on within one tick.
func (e *Engine) buildTag(i, mi int, t *scenarios.Tag) ([]int, error) {
	rt := &e.rt[i]
	rt.typ = e.tags[i].Type
	rt.mach = mi
	m := t.Model
	if m == nil {
		m = &scenarios.Model{}
	}
	rt.model = m
	id := e.tags[i].ID
	kinds := 0
	set := func(k modelKind) { rt.kind = k; kinds++ }
	if m.Constant != nil {
		set(kindConstant)
	}
	if m.Sine != nil {
		set(kindSine)
	}
	if m.Ramp != nil {
		set(kindRamp)
	}
	if m.Square != nil {
		set(kindSquare)
	}
	if m.RandomWalk != nil {
		set(kindRandomWalk)
	}
	if m.Counter != nil {
		set(kindCounter)
	}
	if m.Steps != nil {
		set(kindSteps)
	}
	if m.StateMachine != nil {
		set(kindStateMachine)
	}
	if m.Expr != nil {
		set(kindExpr)
	}
	if m.Integrate != nil {
		set(kindIntegrate)
	}
	if m.Lag != nil {
		set(kindLag)
	}
	if m.Noise != nil {
		if kinds == 0 {
			set(kindNoise)
		} else {
			rt.noise = m.Noise
		}
	}
	if kinds > 1 {
		return nil, errors.New("model: more than one kind")
	}
	if kinds == 0 {
		rt.kind = kindConstant
	}
	if rt.noise != nil || rt.kind == kindNoise || rt.kind == kindRandomWalk || rt.kind == kindStateMachine {
		rt.rng = e.rngFor(id)
	}
	var (
		refs []int
		err  error
	)
	switch rt.kind {
	case kindConstant:
		if m.Constant != nil {
			var ok bool
			if rt.cnum, rt.cstr, ok = lenient(rt.typ, m.Constant.Value); !ok {
				return nil, fmt.Errorf("constant: %v is not a %s", m.Constant.Value, rt.typ)
			}
		}
	case kindSine:
		if m.Sine.Period <= 0 {
			return nil, errors.New("sine: period must be > 0")
		}
	case kindRamp:
		if m.Ramp.Period <= 0 {
			return nil, errors.New("ramp: period must be > 0")
		}
	case kindSquare:
		if m.Square.Period <= 0 {
			return nil, errors.New("square: period must be > 0")
		}
	case kindRandomWalk:
		rt.acc = m.RandomWalk.Start
	case kindCounter:
		c := m.Counter
		rt.acc = c.Start
		rt.roll = c.Rollover
		if rt.roll == 0 {
			if _, hi, isInt := limits(rt.typ); isInt {
				rt.roll = hi + 1
			}
		}
		if rt.roll != 0 && rt.roll <= c.Start {
			return nil, fmt.Errorf("counter: rollover %v must be above start %v", rt.roll, c.Start)
		}
		if c.When != "" {
			rt.prog, refs, err = e.compileExpr(mi, c.When)
		}
	case kindSteps:
		if len(m.Steps.Steps) == 0 {
			return nil, errors.New("steps: no steps")
		}
		for k, s := range m.Steps.Steps {
			num, str, ok := lenient(rt.typ, s.Value)
			if !ok {
				return nil, fmt.Errorf("steps[%d]: %v is not a %s", k, s.Value, rt.typ)
			}
			rt.steps = append(rt.steps, stepRT{at: s.At.D(), num: num, str: str})
		}
		sort.SliceStable(rt.steps, func(a, b int) bool { return rt.steps[a].at < rt.steps[b].at })
		hold := m.Steps.Hold.D()
		if hold <= 0 {
			switch {
			case len(rt.steps) > 1:
				hold = rt.steps[1].at - rt.steps[0].at
			case rt.steps[0].at > 0:
				hold = rt.steps[0].at
			}
		}
		if hold <= 0 {
			hold = e.tick
		}
		rt.cycle = rt.steps[len(rt.steps)-1].at + hold
	case kindStateMachine:
		rt.sm, err = e.buildSM(rt, m.StateMachine)
	case kindExpr:
		rt.prog, refs, err = e.compileExpr(mi, m.Expr.Expr)
	case kindIntegrate:
		rt.acc = m.Integrate.Initial
		// The rate reads the previous tick: no same-tick dependency.
		rt.prog, rt.reads, err = e.compileExpr(mi, m.Integrate.Rate)
		return nil, err
	case kindLag:
		if m.Lag.Tau < 0 {
			return nil, errors.New("lag: tau must be >= 0")
		}
		rt.acc = m.Lag.Initial
		rt.prog, rt.reads, err = e.compileExpr(mi, m.Lag.Input)
		return nil, err
	}
	rt.reads = refs
	return refs, err
}

func (e *Engine) buildSM(rt *tagRT, m *scenarios.StateMachine) (*smRT, error) {
	if len(m.States) == 0 {
		return nil, errors.New("state_machine: no states")
	}
	sm := &smRT{byName: map[string]int{}}
	for k, s := range m.States {
		code := float64(k)
		if s.Code != nil {
			code = float64(*s.Code)
		}
		sm.states = append(sm.states, smState{name: s.Name, code: code, min: s.Dwell.Min.D(), max: s.Dwell.Max.D()})
		sm.byName[s.Name] = k
	}
	for k, s := range m.States {
		names := make([]string, 0, len(s.Next))
		for n := range s.Next {
			names = append(names, n)
		}
		slices.Sort(names) // map order must not leak into the series
		total := 0.0
		st := &sm.states[k]
		for _, n := range names {
			j, ok := sm.byName[n]
			if !ok {
				return nil, fmt.Errorf("state_machine: state %s: unknown next state %q", s.Name, n)
			}
			w := s.Next[n]
			if w <= 0 {
				continue
			}
			total += w
			st.next = append(st.next, j)
			st.cum = append(st.cum, total)
		}
		for c := range st.cum {
			st.cum[c] /= total
		}
	}
	if m.Initial != "" {
		j, ok := sm.byName[m.Initial]
		if !ok {
			return nil, fmt.Errorf("state_machine: unknown initial state %q", m.Initial)
		}
		sm.cur = j
	}
	sm.until = e.dwell(rt, sm, 0)
	return sm, nil
}

// dwell draws the time the machine leaves its current state, entered at
// now.
func (e *Engine) dwell(rt *tagRT, sm *smRT, now time.Duration) time.Duration {
	s := &sm.states[sm.cur]
	d := s.min
	if s.max > s.min {
		d += time.Duration(rt.rng.Float64() * float64(s.max-s.min))
	}
	if d < e.tick {
		d = e.tick
	}
	return now + d
}

// enter moves the state machine of tag i into state j at the current
// time.
func (e *Engine) enter(rt *tagRT, j int) {
	rt.sm.cur = j
	rt.sm.until = e.dwell(rt, rt.sm, e.elapsed)
}

// runTick plays the schedule, evaluates every model and publishes the
// values of the current tick (e.elapsed). Called with e.mu held.
func (e *Engine) runTick(first bool) {
	now := e.now()
	dt := e.tick.Seconds()
	if first {
		dt = 0
	}
	e.env[scenarios.TimeVar] = e.elapsed.Seconds()
	// Inputs of integrate and lag read the previous tick's values.
	if !first {
		for _, i := range e.inputs {
			rt := &e.rt[i]
			if v, ok := e.eval(i, rt.prog); ok {
				if f, ok := toNumber(v); ok {
					rt.input = f
				}
			}
		}
	}
	e.expireFaults()
	e.playSchedule()
	for _, i := range e.order {
		e.evalTag(i, dt)
		if e.inEnv[i] {
			e.setEnv(i)
		}
	}
	e.changed = e.changed[:0]
	e.stage = e.stage[:0]
	for i := range e.rt {
		e.publishTag(i, now)
	}
	e.flush()
}

// eval runs prog for tag i, logging the first failure of each tag.
func (e *Engine) eval(i int, prog *vm.Program) (any, bool) {
	v, err := e.vm.Run(prog, e.env)
	if err != nil {
		rt := &e.rt[i]
		if !rt.errLogged {
			rt.errLogged = true
			e.log.Warn("expression failed; keeping the previous value", "tag", e.tags[i].ID, "err", err)
		}
		return nil, false
	}
	return v, true
}

// setEnv publishes tag i's model value to the expression environment.
func (e *Engine) setEnv(i int) {
	rt := &e.rt[i]
	if rt.key == "" {
		rt.key = envKey(i)
	} else if rt.envNum == rt.num && rt.envStr == rt.str {
		return // unchanged: keep the boxed value
	}
	rt.envNum, rt.envStr = rt.num, rt.str
	e.env[rt.key] = envValue(rt.typ, rt.num, rt.str)
}

// truthy reports whether an expression result counts as true.
func truthy(v any) bool {
	switch x := v.(type) {
	case bool:
		return x
	case string:
		return x != ""
	case nil:
		return false
	}
	f, ok := toNumber(v)
	return ok && f != 0
}

// evalTag computes tag i's model value for the current tick.
func (e *Engine) evalTag(i int, dt float64) {
	rt := &e.rt[i]
	m := rt.model
	t := e.elapsed.Seconds()
	num, str := rt.num, rt.str
	isStr := false
	switch rt.kind {
	case kindConstant:
		num, str, isStr = rt.cnum, rt.cstr, true
	case kindSine:
		s := m.Sine
		num = s.Offset + s.Amplitude*math.Sin(2*math.Pi*t/s.Period.D().Seconds()+s.Phase*math.Pi/180)
	case kindRamp:
		r := m.Ramp
		p := r.Period.D()
		if r.Shape == "triangle" {
			ph := e.elapsed % (2 * p)
			frac := float64(ph) / float64(p)
			if frac > 1 {
				frac = 2 - frac
			}
			num = r.Min + (r.Max-r.Min)*frac
		} else {
			num = r.Min + (r.Max-r.Min)*float64(e.elapsed%p)/float64(p)
		}
	case kindSquare:
		s := m.Square
		duty := s.Duty
		if duty <= 0 {
			duty = 0.5
		}
		p := s.Period.D()
		if float64(e.elapsed%p) < duty*float64(p) {
			num = s.High
		} else {
			num = s.Low
		}
	case kindRandomWalk:
		w := m.RandomWalk
		if dt > 0 {
			rt.acc += (rt.rng.Float64()*2 - 1) * w.Step
		}
		if w.Max > w.Min {
			rt.acc = math.Min(math.Max(rt.acc, w.Min), w.Max)
		}
		num = rt.acc
	case kindNoise:
		num = m.Noise.Mean + rt.rng.NormFloat64()*m.Noise.StdDev
	case kindCounter:
		c := m.Counter
		if dt > 0 && (rt.prog == nil || e.whenTrue(i)) {
			rt.acc += c.Rate * dt
		}
		if rt.roll != 0 && rt.acc >= rt.roll {
			rt.acc = c.Start + math.Mod(rt.acc-c.Start, rt.roll-c.Start)
		}
		num = rt.acc
		if _, _, isInt := limits(rt.typ); isInt {
			num = math.Floor(num)
		}
	case kindSteps:
		at := e.elapsed
		if m.Steps.Repeat {
			at %= rt.cycle
		}
		k := 0
		for k+1 < len(rt.steps) && rt.steps[k+1].at <= at {
			k++
		}
		num, str, isStr = rt.steps[k].num, rt.steps[k].str, true
	case kindStateMachine:
		sm := rt.sm
		if st := &sm.states[sm.cur]; e.elapsed >= sm.until && len(st.next) > 0 {
			u := rt.rng.Float64()
			j := st.next[len(st.next)-1]
			for c, w := range st.cum {
				if u < w {
					j = st.next[c]
					break
				}
			}
			e.enter(rt, j)
		}
		st := &sm.states[sm.cur]
		num, str, isStr = st.code, st.name, true
	case kindExpr:
		if v, ok := e.eval(i, rt.prog); ok {
			if n, s, ok := lenient(rt.typ, v); ok {
				num, str, isStr = n, s, true
			}
		}
	case kindIntegrate:
		g := m.Integrate
		rt.acc += rt.input * dt
		if g.Min != nil && rt.acc < *g.Min {
			rt.acc = *g.Min
		}
		if g.Max != nil && rt.acc > *g.Max {
			rt.acc = *g.Max
		}
		num = rt.acc
	case kindLag:
		tau := m.Lag.Tau.D().Seconds()
		if tau <= 0 {
			rt.acc = rt.input
		} else if dt > 0 {
			rt.acc += (rt.input - rt.acc) * (1 - math.Exp(-dt/tau))
		}
		num = rt.acc
	}
	// A write on a discrete model holds until the model's own output
	// (before noise) changes.
	if rt.ovr {
		switch rt.kind {
		case kindSteps, kindSquare, kindStateMachine, kindExpr:
			if num != rt.rawNum || str != rt.rawStr {
				rt.ovr = false // the model moved on
			}
		}
	}
	rt.rawNum, rt.rawStr = num, str
	if rt.noise != nil {
		num += rt.noise.Mean + rt.rng.NormFloat64()*rt.noise.StdDev
	}
	if rt.typ == scenarios.String {
		if !isStr {
			str = strconv.FormatFloat(num, 'g', -1, 64)
		}
		num = 0
	} else {
		num = quantize(rt.typ, num)
	}
	if rt.ovr {
		num, str = rt.ovrNum, rt.ovrStr
	}
	rt.num, rt.str = num, str
}

func (e *Engine) whenTrue(i int) bool {
	v, ok := e.eval(i, e.rt[i].prog)
	return ok && truthy(v)
}

// applyWrite makes a written value tag i's model value (see Write).
func (e *Engine) applyWrite(i int, num float64, str string) {
	rt := &e.rt[i]
	switch rt.kind {
	case kindConstant:
		rt.cnum, rt.cstr = num, str
	case kindCounter, kindIntegrate, kindLag, kindRandomWalk:
		rt.acc = num
	default:
		rt.ovr, rt.ovrNum, rt.ovrStr = true, num, str
	}
	rt.num, rt.str = num, str
}
