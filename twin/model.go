package twin

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"strconv"
	"time"

	"github.com/expr-lang/expr/vm"

	"github.com/otwin/otwin/scenarios"
)

// A model kind is evaluated by one file of this package (model_<kind>.go)
// that registers a builder for the kind's settings type with
// registerModel; the kind's settings and checks live in package scenarios
// (see "Adding a model kind" in scenarios/README.md).

// model is the runtime of one model kind for one tag: built once, then
// evaluated every tick, in dependency order.
type model interface {
	// eval computes the model's output at the current tick (e.elapsed) of
	// tag i; dt is the simulated seconds since the previous tick (0 at
	// the first tick).
	eval(e *Engine, i int, dt float64) out
}

// stateful is implemented by models whose state a write replaces: the
// written value is where they go on from (a constant's value, a
// counter's count, an integrator's level).
type stateful interface {
	write(v tval, s string)
}

// discrete is implemented by models whose output changes in steps (steps,
// square, state_machine, expr): a write holds until the model's own
// output next changes. A write to any other model that is not stateful
// holds until the next write.
type discrete interface {
	discrete()
}

// out is a model's output for one tick.
type out struct {
	f     float64 // a computed value, converted to the tag's type
	v     tval    // an exact value of the tag's type (when exact)
	s     string  // a string tag's value (when exact)
	exact bool
	keep  bool // no new value this tick: keep the previous one
	// status is the OPC UA status code of the value (0 Good): a model
	// that replays a recording gives the status recorded.
	status uint32
}

// computed is a float output, rounded and clamped to the tag's type.
func computed(f float64) out { return out{f: f} }

// exactly is an output already of the tag's type.
func exactly(v tval, s string) out { return out{v: v, s: s, exact: true} }

// builder builds the model of one tag.
type builder struct {
	e     *Engine
	i     int // tag index
	rt    *tagRT
	typ   scenarios.DataType
	progs map[string]*vm.Program // the kind's expressions by field
}

// rng returns the tag's random stream (one per tag, from the seed and the
// tag's id).
func (b *builder) rng() *rand.Rand {
	if b.rt.rng == nil {
		b.rt.rng = b.e.rngFor(b.e.tags[b.i].ID)
	}
	return b.rt.rng
}

// newModel returns a new zero T for the tag's model. Models of one type
// come from contiguous chunks, in tag order, so that a tick's pass over
// the tags reads each kind's state in order (a separate allocation per tag
// costs a cache miss per tag and tick on a large scenario).
func newModel[T any](b *builder) *T {
	key := reflect.TypeFor[T]()
	s, _ := b.e.slabs[key].([]T)
	if len(s) == cap(s) {
		s = make([]T, 0, 1024)
	}
	s = s[:len(s)+1]
	b.e.slabs[key] = s
	return &s[len(s)-1]
}

// prog returns the compiled expression of the kind's setting field, nil
// when it has none.
func (b *builder) prog(field string) *vm.Program { return b.progs[field] }

// modelBuilders maps a kind's settings type (*scenarios.Sine, …) to its
// builder.
var modelBuilders = map[reflect.Type]func(*builder, scenarios.ModelKind) (model, error){}

// registerModel registers the builder of the model kind whose settings
// are a P; each model file calls it once, from init.
func registerModel[P scenarios.ModelKind](build func(*builder, P) (model, error)) {
	modelBuilders[reflect.TypeFor[P]()] = func(b *builder, k scenarios.ModelKind) (model, error) {
		return build(b, k.(P))
	}
}

// tagRT is the simulation state of one tag. It is owned by the engine
// and guarded by Engine.mu.
type tagRT struct {
	typ scenarios.DataType
	m   model
	// discrete: m implements discrete (asked once, not every tick).
	discrete bool
	noise    *scenarios.Noise // added to another kind
	rng      *rand.Rand       // random models only
	// prog is the expression read from the previous tick (integrate.rate,
	// lag.input), input its value at the start of this tick.
	prog  *vm.Program
	input float64
	reads []int // tags the tag's expressions read

	// Model output of this tick, and for string tags the string, and its
	// status code.
	num     tval
	str     string
	mstatus uint32

	// Write override.
	ovr    bool
	ovrNum tval
	ovrStr string
	// Model output before the override and noise, to see it change.
	rawNum tval
	rawStr string

	errLogged bool
	mach      int    // index of the tag's machine
	key       string // expression environment variable, "" when unread
	envNum    tval
	envStr    string // value last put in the environment

	// Last published value, with faults.
	pNum    tval
	pStr    string
	pStatus uint32
	pSkew   time.Duration
	pTime   time.Time // wall time of the last publication
	pSet    bool
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
	if err := m.Runnable(rt.typ); err != nil {
		return nil, err
	}
	name, kind, ok := m.Kind()
	if !ok {
		// No kind: constant zero (the validator refuses an empty model).
		name, kind = "constant", &scenarios.Constant{}
	}
	if m.Noise != nil && kind != scenarios.ModelKind(m.Noise) {
		rt.noise = m.Noise
	}
	build, ok := modelBuilders[reflect.TypeOf(kind)]
	if !ok {
		return nil, fmt.Errorf("model kind %s: the twin cannot evaluate it", name)
	}
	b := &builder{e: e, i: i, rt: rt, typ: rt.typ, progs: map[string]*vm.Program{}}
	var deps []int
	if ke, ok := kind.(scenarios.ModelExprs); ok {
		for _, x := range ke.Exprs() {
			if x.Src == "" {
				continue
			}
			prog, refs, err := e.compileExpr(mi, x.Src)
			if err != nil {
				return nil, fmt.Errorf("model.%s.%s: %w", name, x.Field, err)
			}
			b.progs[x.Field] = prog
			rt.reads = append(rt.reads, refs...)
			if x.SameTick {
				deps = append(deps, refs...)
			} else {
				rt.prog = prog
			}
		}
	}
	if rt.noise != nil {
		b.rng()
	}
	mod, err := build(b, kind)
	if err != nil {
		return nil, fmt.Errorf("model.%s: %w", name, err)
	}
	rt.m = mod
	_, rt.discrete = mod.(discrete)
	return deps, nil
}

// runTick plays the schedule, evaluates every model and publishes the
// values of the current tick (e.elapsed). Called with e.mu held.
func (e *Engine) runTick(first bool) {
	now := e.stamp()
	if e.jr != nil {
		e.jr.tick(now)
	}
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
				if f, ok := scenarios.Number(v); ok {
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
	e.afterTick(now)
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

// evalTrue reports whether prog, a condition of tag i, holds.
func (e *Engine) evalTrue(i int, prog *vm.Program) bool {
	v, ok := e.eval(i, prog)
	return ok && truthy(v)
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
	f, ok := scenarios.Number(v)
	return ok && f != 0
}

// evalTag computes tag i's model value for the current tick: the model's
// output, noise added, converted to the tag's type, or the value a write
// holds.
func (e *Engine) evalTag(i int, dt float64) {
	rt := &e.rt[i]
	o := rt.m.eval(e, i, dt)
	var (
		num     tval
		str     string
		f       float64
		isFloat bool
	)
	switch {
	case o.keep:
		num, str = rt.rawNum, rt.rawStr
	case o.exact:
		num, str = o.v, o.s
	case rt.typ == scenarios.String:
		str = strconv.FormatFloat(o.f, 'g', -1, 64)
	default:
		f, isFloat = o.f, true
		num = fromFloat(rt.typ, f)
	}
	// A write on a discrete model holds until the model's own output
	// (before noise) changes.
	if rt.ovr && rt.discrete && (num != rt.rawNum || str != rt.rawStr) {
		rt.ovr = false // the model moved on
	}
	rt.rawNum, rt.rawStr = num, str
	if !o.keep {
		rt.mstatus = o.status
	}
	if rt.noise != nil {
		n := rt.noise.Mean + rt.rng.NormFloat64()*rt.noise.StdDev
		if rt.typ != scenarios.String {
			if !isFloat {
				f = num.float(rt.typ)
			}
			num = fromFloat(rt.typ, f+n)
		}
	}
	if rt.ovr {
		num, str, rt.mstatus = rt.ovrNum, rt.ovrStr, 0
	}
	rt.num, rt.str = num, str
}

// applyWrite makes a written value tag i's model value (see Write).
func (e *Engine) applyWrite(i int, num tval, str string) {
	rt := &e.rt[i]
	if s, ok := rt.m.(stateful); ok {
		s.write(num, str)
	} else {
		rt.ovr, rt.ovrNum, rt.ovrStr = true, num, str
	}
	rt.num, rt.str = num, str
}
