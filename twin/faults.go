package twin

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/otwin/otwin/scenarios"
)

// FaultStatus is the state of one fault: every fault the scenario
// defines, and every active ad-hoc fault.
type FaultStatus struct {
	// Name of the fault.
	Name string `json:"name"`
	// Kind is what the fault does.
	Kind scenarios.FaultKind `json:"kind"`
	// Target is "machine/tag" or "machine".
	Target string `json:"target"`
	// Protocol limits a machine fault to "opcua" or "modbus".
	Protocol string `json:"protocol,omitempty"`
	// Protocols are the protocols on which clients see the fault
	// (Engine.FaultProtocols): "opcua", "modbus", both or none.
	Protocols []string `json:"protocols"`
	// Defined: the fault is one of the scenario's named faults.
	Defined bool `json:"defined"`
	// Active: the fault is in effect.
	Active bool `json:"active"`
	// Since is the simulated time (from the scenario start) it started.
	Since scenarios.Duration `json:"since,omitempty"`
	// Until is the simulated time it ends by itself; 0 lasts until
	// cleared.
	Until scenarios.Duration `json:"until,omitempty"`
	// Started is the wall time it started (zero when not active).
	Started time.Time `json:"started,omitzero"`
	// Fault is the full definition.
	Fault scenarios.Fault `json:"fault"`
}

// activeFault is a fault in effect.
type activeFault struct {
	f       scenarios.Fault
	defined bool
	since   time.Duration
	until   time.Duration // 0: until cleared
	started time.Time
	tag     int // -1 for machine faults
	machine int
	status  uint32
	seed    uint64
	// stuck value, captured at the first tick of the fault
	stuckSet bool
	stuckNum tval
	stuckStr string
}

// linkKey is one machine's endpoint for one protocol.
type linkKey struct {
	machine  int
	protocol string
}

// faultScope resolves fault targets for scenarios.CheckFault over the
// engine's indexes.
type faultScope struct{ e *Engine }

func (s faultScope) FaultMachine(name string) (*scenarios.Machine, bool) {
	m, ok := s.e.machineIdx[name]
	if !ok {
		return nil, false
	}
	return &s.e.sc.Machines[m], true
}

func (s faultScope) FaultTag(machine, tag string) (*scenarios.Tag, bool) {
	e := s.e
	i, ok := e.lookup[machine+"/"+tag]
	if !ok || e.tags[i].Machine != machine {
		return nil, false
	}
	mi := e.machineIdx[machine]
	return &e.sc.Machines[mi].Tags[i-e.machines[mi].Tags[0]], true
}

func (s faultScope) MachineNames() []string {
	out := make([]string, len(s.e.machines))
	for i, m := range s.e.machines {
		out[i] = m.Name
	}
	return out
}

// resolveFault checks f with scenarios.CheckFault, the check the
// validator makes, and returns its runtime form. Every problem is reported
// at once, each naming its field.
func (e *Engine) resolveFault(f scenarios.Fault) (*activeFault, error) {
	if fs := scenarios.CheckFault(&f, faultScope{e}, nil); len(fs) > 0 {
		name := f.Name
		if name == "" {
			name = string(f.Kind)
		}
		return nil, fmt.Errorf("fault %q: %w: %w", name, ErrInvalidFault, scenarios.FindingsError(fs))
	}
	a := &activeFault{f: f, tag: -1, machine: -1}
	mname, _, isTag := strings.Cut(f.Target, "/")
	a.machine = e.machineIdx[mname]
	if isTag {
		a.tag = e.lookup[f.Target]
	}
	if f.Kind == scenarios.BadQuality || f.Kind == scenarios.UncertainQuality {
		st, generic, _ := scenarios.FaultStatus(&f)
		if generic {
			e.log.Warn("unknown status name; using the bare severity code", "status", f.Status, "code", fmt.Sprintf("0x%08X", st))
		}
		a.status = st
	}
	a.seed = hash64("fault:" + f.Name + ":" + f.Target)
	return a, nil
}

// Inject starts an ad-hoc fault now, validated like the loader validates
// scenario faults (the error wraps ErrInvalidFault and names every bad
// field). Start is ignored: the fault starts at the current tick and
// lasts Duration of simulated time (0: until cleared). A fault without a
// name is named after its kind and a number. Injecting a fault with the
// name of an active fault restarts it with the new definition; the name
// of a scenario fault may only be used with that fault's definition.
// Safe for concurrent use.
func (e *Engine) Inject(f scenarios.Fault) error {
	_, err := e.InjectFault(f)
	return err
}

// InjectFault is Inject, returning the fault's name (the generated one
// when f has none).
func (e *Engine) InjectFault(f scenarios.Fault) (string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	f.Start = nil
	a, err := e.resolveFault(f)
	if err != nil {
		return "", err
	}
	if f.Name == "" {
		e.adhocN++
		f.Name = fmt.Sprintf("%s-%d", f.Kind, e.adhocN)
		a.f.Name = f.Name
		a.seed = hash64("fault:" + f.Name + ":" + f.Target)
	}
	if k, ok := e.defIdx[f.Name]; ok {
		// A different fault under a defined name would blur the two.
		if !faultEqual(e.defined[k], f) {
			return "", fmt.Errorf("fault %q: %w: name: the scenario defines a different fault of that name", f.Name, ErrInvalidFault)
		}
		a.defined = true
	}
	e.activate(a, "api")
	now := e.republish()
	fc := a.f
	e.record(input{kind: inInject, name: fc.Name, fault: &fc}, now)
	return f.Name, nil
}

func faultEqual(a, b scenarios.Fault) bool {
	a.Start, b.Start = nil, nil
	av, bv := a.Value, b.Value
	a.Value, b.Value = nil, nil
	if (av == nil) != (bv == nil) || (av != nil && *av != *bv) {
		return false
	}
	return a == b
}

// InjectNamed starts the scenario's fault name now (restarting it when
// active). The error wraps ErrUnknownFault when the scenario defines no
// such fault. Safe for concurrent use.
func (e *Engine) InjectNamed(name string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.injectNamed(name, "api"); err != nil {
		return err
	}
	e.record(input{kind: inInjectNamed, name: name}, e.republish())
	return nil
}

func (e *Engine) injectNamed(name, origin string) error {
	k, ok := e.defIdx[name]
	if !ok {
		return fmt.Errorf("inject %q: %w", name, ErrUnknownFault)
	}
	a, err := e.resolveFault(e.defined[k])
	if err != nil {
		return err
	}
	a.defined = true
	e.activate(a, origin)
	return nil
}

// Clear ends the active fault name. The error wraps ErrUnknownFault when
// no fault of that name is defined or active, ErrNotActive when it is
// defined but not active. Safe for concurrent use.
func (e *Engine) Clear(name string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.clear(name, "api", EventClear); err != nil {
		return err
	}
	e.record(input{kind: inClear, name: name}, e.republish())
	return nil
}

func (e *Engine) clear(name, origin, kind string) error {
	k := slices.IndexFunc(e.active, func(a *activeFault) bool { return a.f.Name == name })
	if k < 0 {
		if _, ok := e.defIdx[name]; ok {
			return fmt.Errorf("clear %q: %w", name, ErrNotActive)
		}
		return fmt.Errorf("clear %q: %w", name, ErrUnknownFault)
	}
	a := e.active[k]
	e.active = slices.Delete(e.active, k, k+1)
	e.index()
	if a.tag < 0 {
		e.updateLinks(a.machine)
	}
	e.logEvent(Event{Kind: kind, Origin: origin, Fault: name, FaultKind: a.f.Kind, Target: a.f.Target})
	e.log.Info("fault ended", "fault", name, "kind", a.f.Kind, "target", a.f.Target, "origin", origin, "how", kind)
	return nil
}

// activate puts a in effect from the current tick, replacing an active
// fault of the same name.
func (e *Engine) activate(a *activeFault, origin string) {
	if k := slices.IndexFunc(e.active, func(x *activeFault) bool { return x.f.Name == a.f.Name }); k >= 0 {
		e.active = slices.Delete(e.active, k, k+1)
	}
	a.since = e.elapsed
	a.started = e.now()
	if a.f.Duration > 0 {
		a.until = e.elapsed + a.f.Duration.D()
	}
	a.seed ^= uint64(e.ticks) * 0x9E3779B97F4A7C15
	e.active = append(e.active, a)
	e.logEvent(Event{Kind: EventInject, Origin: origin, Fault: a.f.Name, FaultKind: a.f.Kind, Target: a.f.Target})
	e.log.Info("fault injected", "fault", a.f.Name, "kind", a.f.Kind, "target", a.f.Target, "origin", origin)
	if a.f.Kind == scenarios.Disconnect {
		for _, p := range e.protocols(a) {
			e.epochs[linkKey{a.machine, p}]++
		}
		if a.f.Duration <= 0 {
			// A disconnect happens once; with no duration it is over at
			// once.
			e.active = e.active[:len(e.active)-1]
			e.logEvent(Event{Kind: EventExpire, Origin: origin, Fault: a.f.Name, FaultKind: a.f.Kind, Target: a.f.Target})
		}
	}
	e.index()
	if a.tag < 0 {
		e.updateLinks(a.machine)
	}
}

// protocols lists the protocols a machine fault applies to.
func (e *Engine) protocols(a *activeFault) []string {
	if a.f.Protocol != "" {
		return []string{a.f.Protocol}
	}
	return scenarios.Protocols
}

// index rebuilds the per-tag and per-machine fault lists.
func (e *Engine) index() {
	clear(e.byTag)
	clear(e.byMach)
	for _, a := range e.active {
		if a.tag >= 0 {
			e.byTag[a.tag] = append(e.byTag[a.tag], a)
		} else {
			e.byMach[a.machine] = append(e.byMach[a.machine], a)
		}
	}
}

// updateLinks recomputes the transport state of machine m.
func (e *Engine) updateLinks(m int) {
	e.linkMu.Lock()
	defer e.linkMu.Unlock()
	for _, p := range scenarios.Protocols {
		k := linkKey{m, p}
		l := Link{Epoch: e.epochs[k]}
		for _, a := range e.byMach[m] {
			if a.f.Protocol != "" && a.f.Protocol != p {
				continue
			}
			switch a.f.Kind {
			case scenarios.CommLoss:
				l.Down = true
			case scenarios.Latency:
				l.Latency += a.f.Latency.D()
			case scenarios.ModbusException:
				if p == scenarios.ProtocolModbus {
					l.Exception = byte(a.f.Exception)
				}
			}
		}
		if l == (Link{}) {
			delete(e.links, k)
		} else {
			e.links[k] = l
		}
	}
}

// Link returns the transport-fault state of machine's endpoint for
// protocol ("opcua" or "modbus"); the zero Link for an unknown machine or
// protocol. It does not allocate and is safe for concurrent use; servers
// call it per request or connection.
func (e *Engine) Link(machine, protocol string) Link {
	m, ok := e.machineIdx[machine]
	if !ok {
		return Link{}
	}
	e.linkMu.RLock()
	l := e.links[linkKey{m, protocol}]
	e.linkMu.RUnlock()
	return l
}

// Faults lists the scenario's faults in definition order, then the
// active ad-hoc faults in activation order. Safe for concurrent use.
func (e *Engine) Faults() []FaultStatus {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]FaultStatus, 0, len(e.defined)+len(e.active))
	status := func(f scenarios.Fault, defined bool) FaultStatus {
		return FaultStatus{Name: f.Name, Kind: f.Kind, Target: f.Target, Protocol: f.Protocol, Protocols: e.FaultProtocols(f), Defined: defined, Fault: f}
	}
	fill := func(s *FaultStatus, a *activeFault) {
		s.Active = true
		s.Since = scenarios.Duration(a.since)
		s.Until = scenarios.Duration(a.until)
		s.Started = a.started
		s.Fault = a.f
	}
	for _, f := range e.defined {
		s := status(f, true)
		for _, a := range e.active {
			if a.f.Name == f.Name {
				fill(&s, a)
			}
		}
		out = append(out, s)
	}
	for _, a := range e.active {
		if !a.defined {
			s := status(a.f, false)
			fill(&s, a)
			out = append(out, s)
		}
	}
	return out
}

// expireFaults ends the faults whose duration has passed.
func (e *Engine) expireFaults() {
	for k := 0; k < len(e.active); {
		a := e.active[k]
		if a.until > 0 && e.elapsed >= a.until {
			_ = e.clear(a.f.Name, "scenario", EventExpire)
			continue
		}
		k++
	}
}

// playSchedule plays the timeline entries due at or before now.
func (e *Engine) playSchedule() {
	for e.schedPos < len(e.sched) && e.sched[e.schedPos].at <= e.elapsed {
		s := e.sched[e.schedPos]
		e.schedPos++
		e.play(s)
	}
}

func (e *Engine) play(s schedEntry) {
	ev := s.ev
	var err error
	switch {
	case ev.Fault != "":
		err = e.injectNamed(ev.Fault, s.origin)
	case ev.Clear != "":
		err = e.clear(ev.Clear, s.origin, EventClear)
		if errors.Is(err, ErrNotActive) {
			err = nil // clearing an inactive fault is a no-op on the timeline
		}
	case ev.Set != nil:
		err = e.setFromTimeline(ev.Set)
	case ev.State != nil:
		err = e.forceState(ev.State)
	}
	if err != nil {
		e.log.Warn("timeline event failed", "at", ev.At.String(), "err", err)
	}
	if ev.Note != "" {
		e.logEvent(Event{Kind: EventNote, Origin: s.origin, Message: ev.Note})
	}
}

func (e *Engine) setFromTimeline(s *scenarios.SetValue) error {
	i, ok := e.lookup[s.Tag]
	if !ok {
		return fmt.Errorf("set %s: %w", s.Tag, ErrUnknownTag)
	}
	info := &e.tags[i]
	num, str, err := coerce(info.Type, nil, s.Value)
	if err != nil {
		return fmt.Errorf("set %s: %w", s.Tag, err)
	}
	e.applyWrite(i, num, str)
	e.logEvent(Event{Kind: EventSet, Origin: "timeline", Target: s.Tag, Value: box(info.Type, num, str)})
	return nil
}

func (e *Engine) forceState(s *scenarios.SetState) error {
	i, ok := e.lookup[s.Tag]
	if !ok {
		return fmt.Errorf("state %s: %w", s.Tag, ErrUnknownTag)
	}
	return e.enterState(i, s.State, "timeline")
}

// enterState forces the state machine of tag i into state and logs it.
// Called with e.mu held.
func (e *Engine) enterState(i int, state, origin string) error {
	info := &e.tags[i]
	rt := &e.rt[i]
	sm, isSM := rt.m.(*stateMachineModel)
	if !isSM {
		return fmt.Errorf("state %s/%s: not a state machine", info.Machine, info.Name)
	}
	j, ok := sm.byName[state]
	if !ok {
		return fmt.Errorf("state %s/%s: %w %q", info.Machine, info.Name, ErrUnknownState, state)
	}
	sm.enter(e, j)
	rt.ovr = false
	// The model's value is the new state at once (a method call between
	// ticks publishes it; within a tick the evaluation gives the same).
	st := &sm.states[j]
	rt.num, rt.str, rt.rawNum, rt.rawStr = st.code, st.name, st.code, st.name
	if e.inEnv[i] {
		e.setEnv(i)
	}
	e.logEvent(Event{Kind: EventState, Origin: origin, Target: info.Machine + "/" + info.Name, Value: state})
	return nil
}

// republish publishes every tag after a change outside a tick and
// returns the time it stamped them with.
func (e *Engine) republish() time.Time {
	now := e.stamp()
	e.changed = e.changed[:0]
	e.stage = e.stage[:0]
	for i := range e.rt {
		e.publishTag(i, now)
	}
	e.flush()
	return now
}

// faultNoise is a deterministic standard normal draw for fault a at the
// current tick: it depends only on the seed, the fault and the tick.
func (e *Engine) faultNoise(a *activeFault) float64 {
	r := rand.New(rand.NewPCG(e.seed^a.seed, e.ticks))
	return r.NormFloat64()
}

// publishTag applies tag i's faults to its model value and stages the
// result when it differs from what was published. Faults that compute
// (drift, noise, spike, out_of_range) do so in float64 and convert the
// result to the tag's type; stuck keeps the value exactly.
func (e *Engine) publishTag(i int, now time.Time) {
	rt := &e.rt[i]
	num, str := rt.num, rt.str
	status := rt.mstatus
	var skew time.Duration
	if len(e.byTag) == 0 {
		// fast path: no tag faults
	} else if fs := e.byTag[i]; fs != nil {
		for _, a := range fs {
			switch a.f.Kind {
			case scenarios.Stuck:
				if !a.stuckSet {
					a.stuckSet, a.stuckNum, a.stuckStr = true, num, str
				}
				num, str = a.stuckNum, a.stuckStr
			case scenarios.Drift:
				num = fromFloat(rt.typ, num.float(rt.typ)+a.f.Rate*(e.elapsed-a.since).Seconds())
			case scenarios.NoiseBurst:
				num = fromFloat(rt.typ, num.float(rt.typ)+e.faultNoise(a)*a.f.Magnitude)
			case scenarios.Spike:
				d := e.elapsed - a.since
				every := a.f.Every.D()
				if d == 0 || (every > 0 && d >= every && d/every != (d-e.tick)/every) {
					num = fromFloat(rt.typ, num.float(rt.typ)+a.f.Magnitude)
				}
			case scenarios.BadQuality, scenarios.UncertainQuality:
				status = a.status
			case scenarios.OutOfRange:
				num = fromFloat(rt.typ, *a.f.Value)
			case scenarios.ClockSkew:
				skew += a.f.Skew.D()
			}
		}
	}
	if len(e.byMach) == 0 {
		// fast path: no machine faults
	} else if fs := e.byMach[rt.mach]; fs != nil {
		for _, a := range fs {
			switch a.f.Kind {
			case scenarios.CommLoss:
				if a.f.Protocol == "" || a.f.Protocol == scenarios.ProtocolOPCUA {
					status = StatusBadNoCommunication
				}
			case scenarios.ClockSkew:
				skew += a.f.Skew.D()
			}
		}
	}
	same := rt.pSet && rt.pStatus == status && rt.pSkew == skew && rt.pStr == str && rt.pNum == num
	if same && (e.refresh <= 0 || now.Sub(rt.pTime) < e.refresh) {
		return
	}
	rt.pSet, rt.pNum, rt.pStr, rt.pStatus, rt.pSkew, rt.pTime = true, num, str, status, skew, now
	e.stage = append(e.stage, staged{i, Value{V: box(rt.typ, num, str), Status: status, Source: now.Add(skew)}})
	e.changed = append(e.changed, i)
}

// flush publishes the staged values and notifies the watchers.
func (e *Engine) flush() {
	if len(e.stage) == 0 {
		return
	}
	e.pubMu.Lock()
	for _, s := range e.stage {
		e.pub[s.i] = s.v
	}
	e.pubMu.Unlock()
	if e.tap != nil {
		for _, s := range e.stage {
			e.tap(s.i, s.v)
		}
	}
	e.notify(e.changed)
}
