package twin

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/otwin/otwin/scenarios"
)

// Errors of Call, wrapped with the machine and method named.
var (
	// ErrUnknownMethod: no such machine, or no such method on it.
	ErrUnknownMethod = errors.New("unknown method")
	// ErrInvalidState: the machine's state does not allow the method.
	ErrInvalidState = errors.New("not allowed in the machine's state")
	// ErrArgumentsMissing: fewer arguments than the method's inputs.
	ErrArgumentsMissing = errors.New("arguments missing")
	// ErrTooManyArguments: more arguments than the method's inputs.
	ErrTooManyArguments = errors.New("too many arguments")
)

// MethodInfo is the static description of a machine's method (see
// scenarios.Method).
type MethodInfo struct {
	// Name of the method.
	Name string
	// Description of the method.
	Description string
	// Inputs are the input arguments, in call order, with their types
	// resolved.
	Inputs []scenarios.Argument
	// Outputs are the output arguments.
	Outputs []MethodOutputInfo
	// StateTag is the name of the tag AllowedIn refers to ("" when the
	// method has no state check).
	StateTag string
	// AllowedIn lists the states the method may be called in; empty: any.
	AllowedIn []string

	m *scenarios.Method
}

// MethodOutputInfo is an output argument: the value of a tag after the
// call.
type MethodOutputInfo struct {
	// Name of the output argument.
	Name string
	// Description of the output argument.
	Description string
	// Type is the tag's type.
	Type scenarios.DataType
	// Tag is the engine index of the tag (-1 in a TemplateInfo).
	Tag int
}

// ArgumentsError is the error of a call whose arguments were refused: one
// entry per input argument, nil for those accepted, each wrapping ErrType
// (not a value of the argument's type) or ErrOutOfRange (outside its
// range, or outside the range of the tag it is written to).
type ArgumentsError struct {
	Args []error
}

// Error names each refused argument.
func (e *ArgumentsError) Error() string {
	var parts []string
	for _, err := range e.Args {
		if err != nil {
			parts = append(parts, err.Error())
		}
	}
	return "invalid arguments: " + strings.Join(parts, "; ")
}

// Unwrap returns the errors of the refused arguments.
func (e *ArgumentsError) Unwrap() []error {
	var out []error
	for _, err := range e.Args {
		if err != nil {
			out = append(out, err)
		}
	}
	return out
}

// methodInfos describes methods ms of a machine (or template) with tags
// tags; idx are the engine indexes of those tags (nil for a template).
func (e *Engine) methodInfos(ms []scenarios.Method, tags []scenarios.Tag, idx []int) []MethodInfo {
	var out []MethodInfo
	for k := range ms {
		m := &ms[k]
		mi := MethodInfo{Name: m.Name, Description: m.Description, AllowedIn: m.AllowedIn, m: m}
		for _, a := range m.Inputs {
			a.Type = a.DataType()
			mi.Inputs = append(mi.Inputs, a)
		}
		if len(m.AllowedIn) > 0 {
			if st := m.StateTagOf(tags); st != nil {
				mi.StateTag = st.Name
			}
		}
		for _, o := range m.Outputs {
			oi := MethodOutputInfo{Name: o.Name, Description: o.Description, Tag: -1, Type: scenarios.DefaultType}
			for ti := range tags {
				if tags[ti].Name == o.Tag {
					oi.Type = tags[ti].DataType()
					if idx != nil {
						oi.Tag = idx[ti]
					}
				}
			}
			mi.Outputs = append(mi.Outputs, oi)
		}
		out = append(out, mi)
	}
	return out
}

// Call calls method of machine as a client would (an OPC UA Call or the
// control API) with args in the order of its inputs, and returns its
// outputs, in order. Each argument must be exactly a value of its input's
// type (as Write requires of a value), within the input's range and, when
// an action writes it to a tag, within the tag's range. Then the
// machine's state must be one the method allows. Then the actions run,
// in order, all at once, and the changed tags are published.
//
// Errors (wrapped, naming machine and method): ErrUnknownMethod,
// ErrArgumentsMissing, ErrTooManyArguments, *ArgumentsError (wrapping
// ErrType or ErrOutOfRange per argument), ErrInvalidState. A refused call
// changes nothing. Safe for concurrent use.
func (e *Engine) Call(machine, method string, args []any) ([]any, error) {
	mi, ok := e.machineIdx[machine]
	if !ok {
		return nil, fmt.Errorf("call %s.%s: machine %q: %w", machine, method, machine, ErrUnknownMethod)
	}
	minfo := &e.machines[mi]
	k := slices.IndexFunc(minfo.Methods, func(m MethodInfo) bool { return m.Name == method })
	if k < 0 {
		return nil, fmt.Errorf("call %s.%s: %w", machine, method, ErrUnknownMethod)
	}
	m := &minfo.Methods[k]
	switch {
	case len(args) < len(m.Inputs):
		return nil, fmt.Errorf("call %s.%s: %w: want %d, got %d", machine, method, ErrArgumentsMissing, len(m.Inputs), len(args))
	case len(args) > len(m.Inputs):
		return nil, fmt.Errorf("call %s.%s: %w: want %d, got %d", machine, method, ErrTooManyArguments, len(m.Inputs), len(args))
	}
	vals, err := e.callArgs(minfo, m, args)
	if err != nil {
		return nil, fmt.Errorf("call %s.%s: %w", machine, method, err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.callState(minfo, m); err != nil {
		return nil, fmt.Errorf("call %s.%s: %w", machine, method, err)
	}
	e.runCall(mi, m, vals)
	out := make([]any, len(m.Outputs))
	e.pubMu.RLock()
	for i, o := range m.Outputs {
		out[i] = e.pub[o.Tag].V
	}
	e.pubMu.RUnlock()
	return out, nil
}

// argValue is an accepted argument: its exact value of its type.
type argValue struct {
	num tval
	str string
}

// callArgs checks args against the method's inputs and the tags they are
// written to.
func (e *Engine) callArgs(minfo *MachineInfo, m *MethodInfo, args []any) ([]argValue, error) {
	vals := make([]argValue, len(args))
	errs := make([]error, len(args))
	bad := false
	for i, a := range m.Inputs {
		num, str, err := coerce(a.Type, a.Range, args[i])
		if err == nil {
			// Writing it must not take a tag out of its type or range.
			for _, act := range m.m.Actions {
				if act.Set != nil && act.Set.Arg == a.Name {
					t := e.tags[e.machineTag(minfo, act.Set.Tag)]
					if _, _, err2 := coerce(t.Type, t.Range, box(a.Type, num, str)); err2 != nil {
						err = fmt.Errorf("for tag %s: %w", t.Name, err2)
					}
				}
			}
		}
		if err != nil {
			errs[i], bad = fmt.Errorf("argument %s: %w", a.Name, err), true
			continue
		}
		vals[i] = argValue{num, str}
	}
	if bad {
		return nil, &ArgumentsError{Args: errs}
	}
	return vals, nil
}

// machineTag returns the engine index of machine m's tag name (the
// validator made sure it exists).
func (e *Engine) machineTag(m *MachineInfo, name string) int {
	return e.lookup[m.Name+"/"+name]
}

// callState checks that the machine's state allows method m. Called with
// e.mu held.
func (e *Engine) callState(minfo *MachineInfo, m *MethodInfo) error {
	if len(m.AllowedIn) == 0 || m.StateTag == "" {
		return nil
	}
	sm, ok := e.rt[e.machineTag(minfo, m.StateTag)].m.(*stateMachineModel)
	if !ok {
		return nil
	}
	state := sm.states[sm.cur].name
	if !slices.Contains(m.AllowedIn, state) {
		return fmt.Errorf("%w: %s is %s; %s is allowed in %s", ErrInvalidState, m.StateTag, state, m.Name, strings.Join(m.AllowedIn, ", "))
	}
	return nil
}

// runCall plays method m's actions on machine mi with the accepted
// argument values, publishes what changed, logs the call and journals its
// effects. Called with e.mu held.
func (e *Engine) runCall(mi int, m *MethodInfo, vals []argValue) {
	minfo := &e.machines[mi]
	var batch []input
	for _, act := range m.m.Actions {
		switch {
		case act.State != "":
			i := e.machineTag(minfo, m.m.StateTagOf(e.sc.Machines[mi].Tags).Name)
			if err := e.enterState(i, act.State, "method"); err == nil {
				batch = append(batch, input{kind: inState, tag: int32(i), str: act.State})
			}
		case act.Set != nil:
			i := e.machineTag(minfo, act.Set.Tag)
			t := &e.tags[i]
			var num tval
			var str string
			if act.Set.Arg != "" {
				a := slices.IndexFunc(m.Inputs, func(x scenarios.Argument) bool { return x.Name == act.Set.Arg })
				num, str, _ = coerce(t.Type, nil, box(m.Inputs[a].Type, vals[a].num, vals[a].str))
			} else {
				var err error
				if num, str, err = coerce(t.Type, nil, act.Set.Value); err != nil {
					e.log.Warn("method action failed", "machine", minfo.Name, "method", m.Name, "err", err)
					continue
				}
			}
			e.setTag(i, num, str, "method")
			batch = append(batch, input{kind: inWrite, tag: int32(i), num: num, str: str})
		case act.Clear != "":
			if e.clear(act.Clear, "method", EventClear) == nil {
				batch = append(batch, input{kind: inClear, name: act.Clear})
			}
		case act.ClearFaults:
			var names []string
			for _, a := range e.active {
				if a.machine == mi {
					names = append(names, a.f.Name)
				}
			}
			for _, n := range names {
				if e.clear(n, "method", EventClear) == nil {
					batch = append(batch, input{kind: inClear, name: n})
				}
			}
		}
	}
	e.logEvent(Event{Kind: EventCall, Origin: "client", Target: minfo.Name, Value: m.Name})
	now := e.republish()
	if e.jr == nil || len(batch) == 0 {
		return
	}
	for k := range batch {
		batch[k].tick, batch[k].wall, batch[k].call, batch[k].more = e.ticks, now.UnixNano(), true, k < len(batch)-1
	}
	if !e.jr.input(batch...) {
		e.log.Warn("history journal full: history ends here", "tick", e.ticks, "actions", maxJournalInputs)
	}
}
