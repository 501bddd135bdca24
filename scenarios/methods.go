package scenarios

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
)

// Method is a command a machine offers its clients (start, stop, reset,
// set a recipe): an OPC UA Method of the machine's object (and of its
// template's ObjectType), and POST /v1/machines/{machine}/methods/{name}
// on the control API. A call checks its arguments, then the machine's
// state (AllowedIn), then plays its actions in order, at once, as one
// step of the timeline would: all of them or, when a check fails, none.
//
// Methods of a template are every machine's of that template; a
// machine's own method of the same name replaces the template's.
type Method struct {
	// Name of the method ([a-zA-Z0-9._-]), unique within the machine and
	// different from its tags' names.
	Name string `yaml:"name" json:"name"`
	// Description says what the method does.
	Description string `yaml:"description,omitempty" json:"description,omitempty"`
	// StateTag is the tag (a state_machine tag of the machine) whose state
	// AllowedIn and the state actions refer to. Default: the machine's
	// only state_machine tag.
	StateTag string `yaml:"state_tag,omitempty" json:"state_tag,omitempty"`
	// AllowedIn lists the states of StateTag in which the method may be
	// called; in any other state a call is refused (OPC UA
	// Bad_InvalidState, HTTP 409). Empty: any state.
	AllowedIn []string `yaml:"allowed_in,omitempty" json:"allowed_in,omitempty"`
	// Inputs are the method's input arguments, in call order.
	Inputs []Argument `yaml:"inputs,omitempty" json:"inputs,omitempty"`
	// Outputs are the method's output arguments: values of the machine's
	// tags after the actions.
	Outputs []MethodOutput `yaml:"outputs,omitempty" json:"outputs,omitempty"`
	// Actions are what the method does, in order.
	Actions []MethodAction `yaml:"actions" json:"actions"`
}

// Argument is an input argument of a method.
type Argument struct {
	// Name of the argument ([a-zA-Z0-9._-]), unique within the method.
	Name string `yaml:"name" json:"name"`
	// Type is the argument's data type (an OPC UA client must pass exactly
	// this type). Default float64.
	Type DataType `yaml:"type,omitempty" json:"type,omitempty"`
	// Description of the argument.
	Description string `yaml:"description,omitempty" json:"description,omitempty"`
	// Range, for a numeric argument, is the range of the values accepted;
	// a value outside it is refused (OPC UA Bad_OutOfRange for the
	// argument, Bad_InvalidArgument for the call).
	Range *Range `yaml:"range,omitempty" json:"range,omitempty"`
}

// DataType is the argument's type, DefaultType when it gives none.
func (a *Argument) DataType() DataType {
	if a.Type == "" {
		return DefaultType
	}
	return a.Type
}

// MethodOutput is an output argument of a method: the value of a tag of
// the machine once the actions are done. Its type is the tag's.
type MethodOutput struct {
	// Name of the output argument, unique within the method.
	Name string `yaml:"name" json:"name"`
	// Tag is the name of the machine's tag whose value is returned.
	Tag string `yaml:"tag" json:"tag"`
	// Description of the output argument.
	Description string `yaml:"description,omitempty" json:"description,omitempty"`
}

// MethodAction is one thing a method does. Exactly one of State, Set,
// Clear and ClearFaults is given.
type MethodAction struct {
	// State forces the method's state tag into this state.
	State string `yaml:"state,omitempty" json:"state,omitempty"`
	// Set writes a tag of the machine: a fixed value or an input argument.
	Set *MethodSet `yaml:"set,omitempty" json:"set,omitempty"`
	// Clear ends the named fault of the scenario when it is active.
	Clear string `yaml:"clear,omitempty" json:"clear,omitempty"`
	// ClearFaults ends every active fault on the machine and its tags.
	ClearFaults bool `yaml:"clear_faults,omitempty" json:"clear_faults,omitempty"`
}

// MethodSet writes Value, or the input argument Arg, to the machine's tag
// Tag. The tag need not be writable: the method is the machine's own
// logic. A value outside the tag's range is refused.
type MethodSet struct {
	// Tag is the name of a tag of the machine.
	Tag string `yaml:"tag" json:"tag"`
	// Value to write, of the tag's type.
	Value any `yaml:"value,omitempty" json:"value,omitempty"`
	// Arg names the input argument whose value is written.
	Arg string `yaml:"arg,omitempty" json:"arg,omitempty"`
}

// StateTagOf returns the tag a method's state checks and state actions
// refer to, among the tags of machine m: m.StateTag, else the machine's
// only state_machine tag. It returns nil when there is none (or several
// and the method names none).
func (m *Method) StateTagOf(tags []Tag) *Tag {
	if m.StateTag != "" {
		for i := range tags {
			if tags[i].Name == m.StateTag {
				return &tags[i]
			}
		}
		return nil
	}
	var found *Tag
	for i := range tags {
		if tags[i].Model != nil && tags[i].Model.StateMachine != nil {
			if found != nil {
				return nil
			}
			found = &tags[i]
		}
	}
	return found
}

// usesState reports whether the method needs a state tag.
func (m *Method) usesState() bool {
	return len(m.AllowedIn) > 0 || slices.ContainsFunc(m.Actions, func(a MethodAction) bool { return a.State != "" })
}

// mergeMethods returns the template's methods, each replaced by the
// machine's own of the same name, followed by the machine's new ones, and
// the origin path of each.
func mergeMethods(tmpl []Method, tmplPath string, own []Method, ownPath string) ([]Method, []string) {
	out := make([]Method, 0, len(tmpl)+len(own))
	paths := make([]string, 0, cap(out))
	for i, m := range tmpl {
		out = append(out, m)
		paths = append(paths, tmplPath+".methods["+strconv.Itoa(i)+"]")
	}
	for i, m := range own {
		p := ownPath + ".methods[" + strconv.Itoa(i) + "]"
		if k := slices.IndexFunc(out[:len(tmpl)], func(t Method) bool { return t.Name == m.Name }); k >= 0 && m.Name != "" {
			out[k], paths[k] = m, p
			continue
		}
		out = append(out, m)
		paths = append(paths, p)
	}
	return out, paths
}

// resolveMethods checks the names of every template's and machine's
// methods, resolves every machine's method list (template methods, then
// the machine's own) and records where each method is written.
func (v *validator) resolveMethods() {
	for n, t := range v.s.Templates {
		v.methodNames(t.Methods, "templates."+n)
	}
	v.methodPaths = make([][]string, len(v.s.Machines))
	for i := range v.s.Machines {
		m := &v.s.Machines[i]
		path := "machines[" + strconv.Itoa(i) + "]"
		v.methodNames(m.Methods, path)
		var tmpl []Method
		if t, ok := v.s.Templates[m.Template]; ok {
			tmpl = t.Methods
		}
		m.Methods, v.methodPaths[i] = mergeMethods(tmpl, "templates."+m.Template, m.Methods, path)
	}
}

// methods checks every method against its machine's resolved tags. A
// template's method is checked for each machine of it; a problem is
// reported once, at its line.
func (v *validator) methods() {
	for i := range v.s.Machines {
		m := &v.s.Machines[i]
		for k := range m.Methods {
			v.checkMethod(m, &m.Methods[k], v.methodPaths[i][k])
		}
	}
}

// methodNames checks the names of a list of methods and their
// uniqueness.
func (v *validator) methodNames(ms []Method, owner string) {
	seen := map[string]bool{}
	for i, m := range ms {
		path := fmt.Sprintf("%s.methods[%d]", owner, i)
		v.name(path+".name", "method", m.Name)
		if seen[m.Name] && m.Name != "" {
			v.add(v.at(path, "name"), "", "duplicate method %q", m.Name)
		}
		seen[m.Name] = true
	}
}

// checkMethod checks method m of machine mach, written at path.
func (v *validator) checkMethod(mach *Machine, m *Method, path string) {
	tags := map[string]*Tag{}
	for k := range mach.Tags {
		tags[mach.Tags[k].Name] = &mach.Tags[k]
	}
	if _, clash := tags[m.Name]; clash {
		v.add(v.at(path, "name"), "rename the method or the tag", "method %q of machine %q has the name of one of its tags", m.Name, mach.Name)
	}
	var states []string
	if m.usesState() || m.StateTag != "" {
		st := m.StateTagOf(mach.Tags)
		switch {
		case m.StateTag != "" && tags[m.StateTag] == nil:
			v.add(v.at(path, "state_tag"), didYouMean(m.StateTag, tagNames(mach)), "machine %q has no tag %q", mach.Name, m.StateTag)
		case st == nil && m.StateTag == "":
			v.add(v.at(path, "name"), "name it with state_tag", "method %q of machine %q needs a state tag: the machine has no single state_machine tag", m.Name, mach.Name)
		case st.Model == nil || st.Model.StateMachine == nil:
			v.add(v.at(path, "state_tag"), "", "tag %q of machine %q has no state machine", st.Name, mach.Name)
		default:
			states = st.Model.StateMachine.StateNames()
		}
	}
	for i, s := range m.AllowedIn {
		if states != nil && !slices.Contains(states, s) {
			v.add(v.at(path, fmt.Sprintf("allowed_in[%d]", i)), didYouMean(s, states), "unknown state %q of %s/%s", s, mach.Name, m.StateTagOf(mach.Tags).Name)
		}
	}
	args := map[string]*Argument{}
	for i := range m.Inputs {
		a := &m.Inputs[i]
		ap := fmt.Sprintf("%s.inputs[%d]", path, i)
		v.name(ap+".name", "argument", a.Name)
		if args[a.Name] != nil && a.Name != "" {
			v.add(v.at(ap, "name"), "", "duplicate argument %q", a.Name)
		}
		args[a.Name] = a
		if a.Type != "" && !slices.Contains(DataTypes, a.Type) && !v.bad(ap+".type") {
			v.add(v.at(ap, "type"), hintOr(didYouMean(string(a.Type), typeNames()), "want one of "+orList(typeNames())), "unknown type %q", a.Type)
		}
		if a.Range != nil {
			if !a.DataType().Numeric() {
				v.add(v.at(ap, "range"), "", "argument %q of type %s cannot have a range", a.Name, a.DataType())
			} else if a.Range.Low > a.Range.High {
				v.add(v.at(ap, "range"), "", "range low %v is above high %v", a.Range.Low, a.Range.High)
			}
		}
	}
	outs := map[string]bool{}
	for i, o := range m.Outputs {
		op := fmt.Sprintf("%s.outputs[%d]", path, i)
		v.name(op+".name", "output argument", o.Name)
		if outs[o.Name] && o.Name != "" {
			v.add(v.at(op, "name"), "", "duplicate output argument %q", o.Name)
		}
		outs[o.Name] = true
		if tags[o.Tag] == nil && !v.bad(op+".tag") {
			v.add(v.at(op, "tag"), didYouMean(o.Tag, tagNames(mach)), "machine %q has no tag %q", mach.Name, o.Tag)
		}
	}
	if len(m.Actions) == 0 && !v.bad(path) && !v.bad(path+".actions") {
		v.add(v.at(path, "name"), "give it actions: state, set, clear or clear_faults", "method %q has no actions", m.Name)
	}
	for i := range m.Actions {
		v.checkMethodAction(mach, m, &m.Actions[i], fmt.Sprintf("%s.actions[%d]", path, i), tags, args, states)
	}
}

// checkMethodAction checks one action of method m.
func (v *validator) checkMethodAction(mach *Machine, m *Method, a *MethodAction, path string, tags map[string]*Tag, args map[string]*Argument, states []string) {
	var given []string
	for _, f := range []struct {
		name string
		set  bool
	}{{"state", a.State != ""}, {"set", a.Set != nil}, {"clear", a.Clear != ""}, {"clear_faults", a.ClearFaults}} {
		if f.set || v.has(path+"."+f.name) {
			given = append(given, f.name)
		}
	}
	if len(given) != 1 {
		if !v.bad(path) {
			v.add(v.at(path, ""), "", "a method action needs exactly one of state, set, clear, clear_faults; got %d", len(given))
		}
		return
	}
	switch {
	case a.State != "":
		if states != nil && !slices.Contains(states, a.State) {
			v.add(v.at(path, "state"), didYouMean(a.State, states), "unknown state %q of %s/%s", a.State, mach.Name, m.StateTagOf(mach.Tags).Name)
		}
	case a.Clear != "":
		v.faultRef(a.Clear, v.at(path, "clear"))
	case a.Set != nil:
		v.checkMethodSet(mach, a.Set, path+".set", tags, args)
	}
}

// checkMethodSet checks a set action: its tag, and exactly one of a value
// of the tag's type and an argument whose type can be written to it.
func (v *validator) checkMethodSet(mach *Machine, s *MethodSet, path string, tags map[string]*Tag, args map[string]*Argument) {
	t := tags[s.Tag]
	if t == nil {
		if !v.bad(path + ".tag") {
			v.add(v.at(path, "tag"), didYouMean(s.Tag, tagNames(mach)), "machine %q has no tag %q", mach.Name, s.Tag)
		}
		return
	}
	hasValue := s.Value != nil || v.has(path+".value")
	if hasValue == (s.Arg != "") {
		v.add(v.at(path, ""), "", "set needs exactly one of value and arg")
		return
	}
	if s.Arg != "" {
		a := args[s.Arg]
		if a == nil {
			v.add(v.at(path, "arg"), didYouMean(s.Arg, mapKeys(args)), "unknown argument %q", s.Arg)
			return
		}
		if !assignable(a.DataType(), t.DataType()) {
			v.add(v.at(path, "arg"), "", "argument %q of type %s cannot be written to tag %q of type %s", s.Arg, a.DataType(), s.Tag, t.DataType())
		}
		return
	}
	val := s.Value
	if text, ok := v.d.lits[path+".value"]; ok {
		val = json.Number(text)
	}
	if _, err := Exact(t.DataType(), val); err != nil {
		v.add(v.at(path, "value"), "", "value %v", err)
	} else if t.Range != nil && t.DataType().Numeric() {
		if f, ok := Float(val); ok && (f < t.Range.Low || f > t.Range.High) {
			v.add(v.at(path, "value"), "", "value %v is outside the range [%v, %v] of tag %q", val, t.Range.Low, t.Range.High, s.Tag)
		}
	}
}

// assignable reports whether a value of type from can be written to a
// tag of type to: the same kind of value (numbers to numbers, whose
// exactness is checked at the call).
func assignable(from, to DataType) bool {
	switch {
	case from == to:
		return true
	case from.Numeric() && to.Numeric():
		return true
	}
	return false
}

// OPCUAMethods is the methods of a resolved machine as the node-id rule
// sees them.
func OPCUAMethods(ms []Method) []OPCUAMethod {
	out := make([]OPCUAMethod, len(ms))
	for i, m := range ms {
		out[i] = OPCUAMethod{Name: m.Name, Inputs: len(m.Inputs) > 0, Outputs: len(m.Outputs) > 0}
	}
	return out
}
