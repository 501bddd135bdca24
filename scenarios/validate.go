package scenarios

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/otwin/otwin/ctxrole"
	"github.com/otwin/otwin/datatype"
	"github.com/otwin/otwin/role"
	"github.com/otwin/otwin/units"
)

// The validator checks a decoded scenario, reports every problem at the
// node it concerns, and resolves the scenario (templates, locations,
// defaults) as resolved.go describes.

// DataTypes lists every tag data type.
var DataTypes = datatype.All

// rtag is one resolved tag of one machine.
type rtag struct {
	m   int // machine index
	tag *Tag
	o   origin
}

type validator struct {
	s *Scenario
	d *decoder
	p *problemSet

	machines map[string]int
	origins  [][]origin
	// methodPaths[i][k] is where method k of machine i is written.
	methodPaths [][]string
	tags        map[string]*rtag // "machine/tag"
	faults      map[string]*Fault
	roles       map[string]bool
	exprCache   map[string]exprParse
	deps        map[string][]string // expression dependencies, for cycles
	depAt       map[string]pos      // where each dependent's expression is
	// fixed are the machines whose location is complete (a context's):
	// the scenario's location does not fill their empty levels.
	fixed map[int]bool
}

// exprParse is a cached expression parse; local refs start with "\x00/".
type exprParse struct {
	refs []exprRef
	err  error
}

func newValidator(s *Scenario, d *decoder, p *problemSet) *validator {
	return &validator{
		s: s, d: d, p: p,
		machines:  map[string]int{},
		tags:      map[string]*rtag{},
		faults:    map[string]*Fault{},
		roles:     map[string]bool{},
		exprCache: map[string]exprParse{},
		deps:      map[string][]string{},
		depAt:     map[string]pos{},
		fixed:     map[int]bool{},
	}
}

// at returns the position of the value at path+field, falling back to the
// nearest enclosing value that has one.
func (v *validator) at(path, field string) pos {
	full := join(path, field)
	for {
		if p, ok := v.d.vals[full]; ok {
			return p
		}
		if full == "" || full == path {
			break
		}
		i := strings.LastIndexAny(full, ".[")
		if i < 0 {
			full = ""
		} else {
			full = full[:i]
		}
	}
	if p, ok := v.d.vals[path]; ok {
		return p
	}
	return pos{}
}

// key returns the position of the key naming path (or its value).
func (v *validator) key(path string) pos {
	if p, ok := v.d.keys[path]; ok {
		return p
	}
	return v.at(path, "")
}

// has reports whether the file gives a value at path.
func (v *validator) has(path string) bool {
	_, ok := v.d.vals[path]
	return ok
}

// bad reports whether path failed to decode (and was reported).
func (v *validator) bad(path string) bool { return v.d.bad[path] }

// tagAt returns the position of a resolved tag's field, from the
// machine's own tag when it sets the field, else from the template's.
func (v *validator) tagAt(o origin, field string) pos {
	for _, base := range o.paths() {
		if base == "" {
			continue
		}
		if p, ok := v.d.vals[join(base, field)]; ok {
			return p
		}
	}
	if o.own != "" {
		return v.at(o.own, field)
	}
	return v.at(o.tmplPath(), field)
}

// tagPath returns the path of a resolved tag's field in the file: the
// machine's own tag when it sets the field, else the template's ("" when
// neither does).
func (v *validator) tagPath(o origin, field string) string {
	for _, base := range o.paths() {
		if base != "" && v.has(join(base, field)) {
			return join(base, field)
		}
	}
	return ""
}

// exprPos returns the position of rune offset from within the expression
// src written at path, when it can be computed (a one-line scalar without
// escapes), else the position of the expression.
func (v *validator) exprPos(path, src string, from int, at pos) pos {
	if path == "" || strings.ContainsAny(src, "\n\\") || at.line == 0 {
		return at
	}
	col := at.col + from
	if v.d.quoted[path] {
		col++
	}
	return pos{at.line, col}
}

// tagHas reports whether the resolved tag's field was given in the file.
func (v *validator) tagHas(o origin, field string) bool {
	return o.own != "" && v.has(join(o.own, field)) || o.tmpl != "" && v.has(join(o.tmplPath(), field))
}

func (v *validator) add(p pos, hint, format string, args ...any) {
	v.p.add(p, hint, format, args...)
}

func (v *validator) run() {
	v.scenario()
	v.modbusSettings()
	v.opcuaLimits()
	v.contexts()
	v.templates()
	v.machineList()
	v.resolveMethods()
	v.expressions()
	v.cycles()
	v.exposure()
	v.opcua()
	v.faultList()
	v.methods()
	v.alarmList()
	v.roleList()
	v.timeline()
	v.exercises()
	v.checkList()
	v.resolve()
}

// name checks a name's characters.
func (v *validator) name(path, what, name string) {
	if v.bad(path) {
		return
	}
	if name == "" {
		if v.has(path) {
			v.add(v.at(path, ""), "", "%s name is empty", what)
		}
		return
	}
	if !validName(name) {
		v.add(v.at(path, ""), "use letters, digits, '.', '_' and '-'", "%s name %q has characters outside [a-zA-Z0-9._-]", what, name)
	}
}

func (v *validator) scenario() {
	s := v.s
	v.name("name", "scenario", s.Name)
	if v.has("tick") && !v.bad("tick") && s.Tick < Duration(time.Millisecond) {
		v.add(v.at("tick", ""), "e.g. tick: 100ms", "tick %s is shorter than 1ms", s.Tick)
	}
	if v.has("time_scale") && !v.bad("time_scale") && s.TimeScale <= 0 {
		v.add(v.at("time_scale", ""), "1 is real time, 10 ten times faster", "time_scale must be > 0, got %v", s.TimeScale)
	}
	v.location("location", s.Location)
	for i, m := range s.OPCUA.Security {
		if !slices.Contains(SecurityModes, m) {
			v.add(v.at(fmt.Sprintf("opcua.security[%d]", i), ""), hintOr(didYouMean(m, SecurityModes), "want "+orList(SecurityModes)), "unknown security mode %q", m)
		}
	}
	users := map[string]bool{}
	for i, u := range s.OPCUA.Users {
		p := fmt.Sprintf("opcua.users[%d]", i)
		if u.Name == "" && v.has(p+".name") {
			v.add(v.at(p, "name"), "", "user name is empty")
		}
		if users[u.Name] {
			v.add(v.at(p, "name"), "", "duplicate user %q", u.Name)
		}
		users[u.Name] = true
	}
	if len(s.Machines) == 0 && v.has("machines") && !v.bad("machines") {
		v.add(v.at("machines", ""), "", "the scenario has no machines")
	}
}

func (v *validator) location(path string, l Location) {
	for _, f := range []struct{ name, val string }{
		{"enterprise", l.Enterprise}, {"site", l.Site}, {"area", l.Area}, {"line", l.Line}, {"cell", l.Cell},
	} {
		if f.val != "" {
			v.name(join(path, f.name), f.name, f.val)
		}
	}
}

func (v *validator) templates() {
	names := make([]string, 0, len(v.s.Templates))
	for n := range v.s.Templates {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		path := "templates." + n
		if !validName(n) {
			v.add(v.key(path), "use letters, digits, '.', '_' and '-'", "template name %q has characters outside [a-zA-Z0-9._-]", n)
		}
		t := v.s.Templates[n]
		seen := map[string]bool{}
		for i := range t.Tags {
			tp := fmt.Sprintf("%s.tags[%d]", path, i)
			tag := &t.Tags[i]
			if seen[tag.Name] && tag.Name != "" {
				v.add(v.at(tp, "name"), "", "duplicate tag %q in template %q", tag.Name, n)
			}
			seen[tag.Name] = true
			v.checkTag(tag, origin{tmpl: n, ti: i}, -1)
		}
	}
}

func (v *validator) machineList() {
	tmplNames := make([]string, 0, len(v.s.Templates))
	for n := range v.s.Templates {
		tmplNames = append(tmplNames, n)
	}
	v.origins = make([][]origin, len(v.s.Machines))
	// Index each template's tags once, and size the tag index.
	tmplIndex := make(map[string]map[string]int, len(v.s.Templates))
	total := 0
	for n, t := range v.s.Templates {
		idx := make(map[string]int, len(t.Tags))
		for k, tag := range t.Tags {
			idx[tag.Name] = k
		}
		tmplIndex[n] = idx
	}
	for i := range v.s.Machines {
		total += len(v.s.Machines[i].Tags) + len(v.s.Templates[v.s.Machines[i].Template].Tags)
	}
	v.tags = make(map[string]*rtag, total)
	for i := range v.s.Machines {
		m := &v.s.Machines[i]
		path := "machines[" + strconv.Itoa(i) + "]"
		v.name(path+".name", "machine", m.Name)
		if j, dup := v.machines[m.Name]; dup && m.Name != "" {
			v.add(v.at(path, "name"), "", "duplicate machine %q (first at line %d)", m.Name, v.at(fmt.Sprintf("machines[%d]", j), "name").line)
		} else if m.Name != "" {
			v.machines[m.Name] = i
		}
		v.location(path+".location", m.Location)

		// Resolve the tag list: template tags overridden by own tags.
		tmpl, hasTmpl := v.s.Templates[m.Template]
		if m.Template != "" && !hasTmpl {
			v.add(v.at(path, "template"), didYouMean(m.Template, tmplNames), "unknown template %q", m.Template)
		}
		tags := make([]Tag, 0, len(tmpl.Tags)+len(m.Tags))
		origins := make([]origin, 0, cap(tags))
		tags = append(tags, tmpl.Tags...)
		for k := range tmpl.Tags {
			origins = append(origins, origin{tmpl: m.Template, ti: k})
		}
		var own map[string]int // own new tags by name
		for k, tag := range m.Tags {
			tp := path + ".tags[" + strconv.Itoa(k) + "]"
			if _, dup := own[tag.Name]; dup && tag.Name != "" {
				v.add(v.at(tp, "name"), "", "duplicate tag %q in machine %q", tag.Name, m.Name)
				continue
			}
			if own == nil {
				own = map[string]int{}
			}
			j, ok := tmplIndex[m.Template][tag.Name]
			if ok && origins[j].own == "" {
				tags[j] = mergeTag(tags[j], tag)
				origins[j].own = tp
				own[tag.Name] = j
				continue
			}
			own[tag.Name] = len(tags)
			tags = append(tags, tag)
			origins = append(origins, origin{own: tp})
		}
		m.Tags = tags
		v.origins[i] = origins
		if len(tags) == 0 && !v.bad(path) && !v.bad(path+".tags") && (m.Template == "" || tmpl.Tags != nil) {
			v.add(v.at(path, "name"), "give it a template or tags", "machine %q has no tags", m.Name)
		}
		if m.Name == "" {
			continue
		}
		rts := make([]rtag, len(m.Tags))
		for k := range m.Tags {
			t := &m.Tags[k]
			if t.Name != "" {
				rts[k] = rtag{m: i, tag: t, o: origins[k]}
				v.tags[m.Name+"/"+t.Name] = &rts[k]
			}
		}
	}
	for i := range v.s.Machines {
		for k := range v.s.Machines[i].Tags {
			v.checkTag(&v.s.Machines[i].Tags[k], v.origins[i][k], i)
		}
	}
}

// checkTag checks one tag (resolved when machine >= 0, a template's
// tag when machine is -1).
func (v *validator) checkTag(t *Tag, o origin, machine int) {
	if !validName(t.Name) {
		v.name(o.base()+".name", "tag", t.Name)
	}
	typ := t.DataType()
	if !typ.Known() {
		v.add(v.tagAt(o, "type"), didYouMean(string(t.Type), typeNames()), "unknown data type %q", t.Type)
		return
	}
	if t.Unit != "" {
		if _, ok := units.Lookup(t.Unit); !ok {
			v.add(v.tagAt(o, "unit"), didYouMean(t.Unit, units.Names()), "unknown unit %q", t.Unit)
		}
	}
	if t.Range != nil && t.Range.Low > t.Range.High {
		v.add(v.tagAt(o, "range"), "", "range low %v is above high %v", t.Range.Low, t.Range.High)
	}
	if t.Range != nil && !typ.Numeric() {
		v.add(v.tagAt(o, "range"), "", "a %s tag has no engineering range", typ)
	}
	if t.Context != "" && !t.Context.Known() {
		v.add(v.tagAt(o, "context"), hintOr(didYouMean(string(t.Context), ctxrole.Names()), "want "+orList(ctxrole.Names())), "unknown context role %q", t.Context)
	}
	if t.Model != nil {
		for _, fd := range checkModel(t.Model, typ, true, v.literal(o)) {
			v.reportTag(o, fd)
		}
	}
	if t.Modbus != nil {
		v.checkRegister(t, typ, o)
	}
}

// article returns "a" or "an" for the word w.
func article(w string) string {
	if w != "" && strings.ContainsRune("aeiouAEIOU", rune(w[0])) {
		return "an"
	}
	return "a"
}

// hintOr returns hint, or fallback when hint is empty.
func hintOr(hint, fallback string) string {
	if hint != "" {
		return hint
	}
	return fallback
}

func typeNames() []string {
	out := make([]string, len(DataTypes))
	for i, t := range DataTypes {
		out[i] = string(t)
	}
	return out
}

// tagKey returns the position of the key of a resolved tag's field.
func (v *validator) tagKey(o origin, field string) pos {
	for _, base := range o.paths() {
		if base == "" {
			continue
		}
		if p, ok := v.d.keys[join(base, field)]; ok {
			return p
		}
	}
	return v.tagAt(o, field)
}

// cycles reports dependency cycles among expr and counter-when
// expressions. Integrate and lag read their inputs to change a state
// that carries over from the previous tick, so they break cycles.
func (v *validator) cycles() {
	const (
		white = iota
		grey
		black
	)
	color := map[string]int{}
	ids := make([]string, 0, len(v.deps))
	for id := range v.deps {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b string) int {
		pa, pb := v.depAt[a], v.depAt[b]
		return cmp.Or(cmp.Compare(pa.line, pb.line), cmp.Compare(pa.col, pb.col), cmp.Compare(a, b))
	})
	type frame struct {
		id   string
		next int
	}
	for _, start := range ids {
		if color[start] != white {
			continue
		}
		stack := []frame{{id: start}}
		color[start] = grey
		for len(stack) > 0 {
			f := &stack[len(stack)-1]
			deps := v.deps[f.id]
			if f.next >= len(deps) {
				color[f.id] = black
				stack = stack[:len(stack)-1]
				continue
			}
			d := deps[f.next]
			f.next++
			switch color[d] {
			case white:
				color[d] = grey
				stack = append(stack, frame{id: d})
			case grey:
				var cyc []string
				for i := len(stack) - 1; i >= 0; i-- {
					cyc = append(cyc, stack[i].id)
					if stack[i].id == d {
						break
					}
				}
				slices.Reverse(cyc)
				cyc = append(cyc, d)
				v.add(v.depAt[d], "an integrate or lag model in the loop would break it", "expression cycle: %s", strings.Join(cyc, " -> "))
			}
		}
	}
}

// exposure checks ports, unit ids and register overlaps (node ids: see
// validate_opcua.go).
func (v *validator) exposure() {
	type use struct {
		proto, machine string
		at             pos
	}
	ports := map[int]use{}
	units := map[[2]int]string{}
	for i := range v.s.Machines {
		m := &v.s.Machines[i]
		path := fmt.Sprintf("machines[%d]", i)
		if m.OPCUA != nil {
			pp := path + ".opcua.port"
			if m.OPCUA.Port < 0 || m.OPCUA.Port > 65535 {
				v.add(v.at(pp, ""), "", "port %d is outside 0-65535 (0 picks a free port)", m.OPCUA.Port)
			} else if m.OPCUA.Port != 0 {
				if u, ok := ports[m.OPCUA.Port]; ok && u.proto != "opcua" {
					v.add(v.at(pp, ""), "", "port %d is already used for Modbus by machine %q", m.OPCUA.Port, u.machine)
				} else if !ok {
					ports[m.OPCUA.Port] = use{"opcua", m.Name, v.at(pp, "")}
				}
			}
		}
		if m.Modbus != nil {
			pp := path + ".modbus.port"
			if m.Modbus.Port < 0 || m.Modbus.Port > 65535 {
				v.add(v.at(pp, ""), "", "port %d is outside 0-65535 (0 picks a free port)", m.Modbus.Port)
			} else if m.Modbus.Port != 0 {
				if u, ok := ports[m.Modbus.Port]; ok && u.proto != "modbus" {
					v.add(v.at(pp, ""), "", "port %d is already used for OPC UA by machine %q", m.Modbus.Port, u.machine)
				} else if !ok {
					ports[m.Modbus.Port] = use{"modbus", m.Name, v.at(pp, "")}
				}
			}
			uid := m.Modbus.UnitID
			if !v.has(path + ".modbus.unit_id") {
				uid = DefaultUnitID
			}
			if uid < 0 || uid > 247 {
				v.add(v.at(path, "modbus.unit_id"), "", "unit id %d is outside 0-247", uid)
			} else if m.Modbus.Port != 0 {
				k := [2]int{m.Modbus.Port, uid}
				if other, dup := units[k]; dup {
					v.add(v.at(path, "modbus.unit_id"), "give each machine on a port its own unit_id", "unit id %d on port %d is already used by machine %q", uid, m.Modbus.Port, other)
				} else {
					units[k] = m.Name
				}
			}
			v.overlaps(i)
		}
	}
}

func (v *validator) faultList() {
	for i := range v.s.Faults {
		f := &v.s.Faults[i]
		path := fmt.Sprintf("faults[%d]", i)
		if f.Name == "" && v.has(path+".name") && !v.bad(path+".name") {
			v.add(v.at(path, "name"), "", "fault name is empty")
		}
		if _, dup := v.faults[f.Name]; dup && f.Name != "" {
			v.add(v.at(path, "name"), "", "duplicate fault %q", f.Name)
		} else if f.Name != "" {
			v.faults[f.Name] = f
		}
		given := func(p string) bool { return v.has(path + "." + p) }
		for _, fd := range CheckFault(f, v, given) {
			v.reportFault(path, fd)
		}
	}
}

// reportFault places a finding of the fault at path: at its field, at
// the field's key for a parameter that does not apply, at the kind for a
// missing parameter. A missing kind or target is the decoder's to report.
func (v *validator) reportFault(path string, fd Finding) {
	full := join(path, fd.Field)
	if v.bad(full) {
		return
	}
	p := v.at(path, fd.Field)
	switch {
	case fd.Missing && (fd.Field == "kind" || fd.Field == "target"):
		if !v.has(full) {
			return
		}
	case fd.Missing:
		p = v.at(path, "kind")
	case fd.Key:
		p = v.key(full)
	}
	v.add(p, fd.Hint, "%s", fd.Msg)
}

// reportTag places a finding of the tag of origin o (a field path relative
// to the tag) where the file sets that field.
func (v *validator) reportTag(o origin, fd Finding) {
	if v.bad(join(o.base(), fd.Field)) || fd.Missing && !v.tagHas(o, fd.Field) {
		return
	}
	p := v.tagAt(o, fd.Field)
	if fd.Key {
		p = v.tagKey(o, fd.Field)
	}
	v.add(p, fd.Hint, "%s", fd.Msg)
}

// literal returns the checks' view of the numbers written in the tag of
// origin o: the text of those not decoded exactly (see decoder.lits).
func (v *validator) literal(o origin) func(string) (string, bool) {
	return func(field string) (string, bool) {
		for _, base := range o.paths() {
			if base == "" {
				continue
			}
			if p := join(base, field); v.has(p) {
				text, ok := v.d.lits[p]
				return text, ok
			}
		}
		return "", false
	}
}

// FaultMachine resolves a fault target's machine (FaultScope).
func (v *validator) FaultMachine(name string) (*Machine, bool) {
	i, ok := v.machines[name]
	if !ok {
		return nil, false
	}
	return &v.s.Machines[i], true
}

// FaultTag resolves a fault target's tag (FaultScope).
func (v *validator) FaultTag(machine, tag string) (*Tag, bool) {
	rt, ok := v.tags[machine+"/"+tag]
	if !ok {
		return nil, false
	}
	return rt.tag, true
}

// MachineNames lists the machines (FaultScope).
func (v *validator) MachineNames() []string { return mapKeys(v.machines) }

func mapKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func tagNames(m *Machine) []string {
	out := make([]string, len(m.Tags))
	for i, t := range m.Tags {
		out[i] = t.Name
	}
	return out
}

// tagRef resolves a "machine/tag" reference, reporting a miss at p.
func (v *validator) tagRef(ref string, p pos) *rtag {
	if rt, ok := v.tags[ref]; ok {
		return rt
	}
	mname, tname, ok := strings.Cut(ref, "/")
	if !ok {
		v.add(p, "write machine/tag", "tag reference %q has no machine", ref)
		return nil
	}
	mi, ok := v.machines[mname]
	if !ok {
		v.add(p, didYouMean(mname, mapKeys(v.machines)), "unknown machine %q", mname)
		return nil
	}
	v.add(p, didYouMean(tname, tagNames(&v.s.Machines[mi])), "unknown tag %q", ref)
	return nil
}

func (v *validator) faultRef(name string, p pos) {
	if _, ok := v.faults[name]; !ok {
		v.add(p, didYouMean(name, mapKeys(v.faults)), "unknown fault %q", name)
	}
}

func (v *validator) timeline() {
	for i, e := range v.s.Timeline {
		path := fmt.Sprintf("timeline[%d]", i)
		if e.At < 0 {
			v.add(v.at(path, "at"), "", "at %s is negative", e.At)
		}
		var given []string
		for _, f := range []struct {
			name string
			set  bool
		}{{"fault", e.Fault != ""}, {"clear", e.Clear != ""}, {"set", e.Set != nil}, {"state", e.State != nil}} {
			if f.set || v.has(path+"."+f.name) {
				given = append(given, f.name)
			}
		}
		if len(given) != 1 {
			if !v.bad(path) {
				v.add(v.at(path, ""), "", "a timeline event needs exactly one of fault, clear, set, state; got %d", len(given))
			}
			continue
		}
		switch {
		case e.Fault != "":
			v.faultRef(e.Fault, v.at(path, "fault"))
		case e.Clear != "":
			v.faultRef(e.Clear, v.at(path, "clear"))
		case e.Set != nil:
			rt := v.tagRef(e.Set.Tag, v.at(path, "set.tag"))
			if rt == nil {
				continue
			}
			if !rt.tag.Writable {
				v.add(v.at(path, "set.tag"), "mark it writable: true", "tag %q is not writable", e.Set.Tag)
			}
			if val := e.Set.Value; val != nil {
				if text, ok := v.d.lits[path+".set.value"]; ok {
					val = json.Number(text)
				}
				if _, err := Exact(rt.tag.DataType(), val); err != nil {
					v.add(v.at(path, "set.value"), "", "value %v", err)
				}
			}
		case e.State != nil:
			rt := v.tagRef(e.State.Tag, v.at(path, "state.tag"))
			if rt == nil {
				continue
			}
			if rt.tag.Model == nil || rt.tag.Model.StateMachine == nil {
				v.add(v.at(path, "state.tag"), "", "tag %q has no state machine", e.State.Tag)
				continue
			}
			names := rt.tag.Model.StateMachine.StateNames()
			if !slices.Contains(names, e.State.State) {
				v.add(v.at(path, "state.state"), didYouMean(e.State.State, names), "unknown state %q of %s", e.State.State, e.State.Tag)
			}
		}
	}
}

func (v *validator) roleList() {
	for i, r := range v.s.Roles {
		p := v.at(fmt.Sprintf("roles[%d]", i), "name")
		if !role.Role(r.Name).Known() {
			v.add(p, hintOr(didYouMean(r.Name, role.Names()), "want one of "+strings.Join(role.Names(), ", ")), "unknown role %q", r.Name)
			continue
		}
		if v.roles[r.Name] {
			v.add(p, "", "duplicate role %q", r.Name)
		}
		v.roles[r.Name] = true
	}
}

func (v *validator) exercises() {
	names := map[string]bool{}
	for i, x := range v.s.Exercises {
		path := fmt.Sprintf("exercises[%d]", i)
		v.name(path+".name", "exercise", x.Name)
		if names[x.Name] && x.Name != "" {
			v.add(v.at(path, "name"), "", "duplicate exercise %q", x.Name)
		}
		names[x.Name] = true
		if len(x.Steps) == 0 && v.has(path+".steps") && !v.bad(path+".steps") {
			v.add(v.at(path, "steps"), "", "exercise %q has no steps", x.Name)
		}
		for j, st := range x.Steps {
			sp := fmt.Sprintf("%s.steps[%d]", path, j)
			if st.At < 0 {
				v.add(v.at(sp, "at"), "", "at %s is negative", st.At)
			}
			if st.Fault != "" {
				v.faultRef(st.Fault, v.at(sp, "fault"))
			}
			for k, e := range st.Expect {
				ep := fmt.Sprintf("%s.expect[%d]", sp, k)
				switch {
				case e.Role == "":
				case !role.Role(e.Role).Known():
					v.add(v.at(ep, "role"), didYouMean(e.Role, role.Names()), "unknown role %q", e.Role)
				case !v.roles[e.Role]:
					v.add(v.at(ep, "role"), "add it under roles", "role %q is not declared in the scenario", e.Role)
				}
				if e.Action != "" && !slices.Contains(Actions, e.Action) {
					v.add(v.at(ep, "action"), hintOr(didYouMean(e.Action, Actions), "want "+orList(Actions)), "unknown action %q", e.Action)
				}
				if v.has(ep+".within") && !v.bad(ep+".within") && e.Within <= 0 {
					v.add(v.at(ep, "within"), "", "within must be > 0")
				}
			}
		}
	}
}

// resolve applies the defaults resolved.go promises.
func (v *validator) resolve() {
	s := v.s
	if s.Seed == 0 {
		s.Seed = DefaultSeed
	}
	if s.Tick == 0 {
		s.Tick = DefaultTick
	}
	if s.TimeScale == 0 {
		s.TimeScale = DefaultTimeScale
	}
	if len(s.OPCUA.Security) == 0 {
		s.OPCUA.Security = slices.Clone(SecurityModes)
	}
	if s.OPCUA.Anonymous == nil {
		yes := true
		s.OPCUA.Anonymous = &yes
	}
	for i := range s.Machines {
		m := &s.Machines[i]
		m.Location = v.machineLocation(i)
		if m.OPCUA != nil {
			o := *m.OPCUA
			if o.Namespace == "" {
				o.Namespace = DefaultNamespace(s.Name)
			}
			m.OPCUA = &o
		}
		if m.Modbus != nil {
			mb := *m.Modbus
			if !v.has(fmt.Sprintf("machines[%d].modbus.unit_id", i)) {
				mb.UnitID = DefaultUnitID
			}
			m.Modbus = &mb
		}
		resolveHistorizing(m)
		for k := range m.Tags {
			t := &m.Tags[k]
			t.Type = t.DataType()
			if t.Modbus != nil {
				r := *t.Modbus
				r.Table, r.Type = regDefaults(&r, t.Type)
				if orders := datatype.Orders(r.Type.Registers()); r.Order == "" && r.Type != Bool && len(orders) > 0 {
					r.Order = orders[0] // big-endian
				} else {
					r.Order = strings.ToUpper(r.Order)
				}
				if r.Scale == 0 {
					r.Scale = 1
				}
				t.Modbus = &r
			}
		}
	}
}

// machineLocation is machine i's location: the scenario's, overridden by the
// machine's non-empty levels — or the machine's own alone when it is
// complete (a context's machine).
func (v *validator) machineLocation(i int) Location {
	if v.fixed[i] {
		return v.s.Machines[i].Location
	}
	return mergeLocation(v.s.Location, v.s.Machines[i].Location)
}

// mergeLocation overrides base by the non-empty levels of over.
func mergeLocation(base, over Location) Location {
	out := base
	for _, f := range []struct {
		dst *string
		src string
	}{{&out.Enterprise, over.Enterprise}, {&out.Site, over.Site}, {&out.Area, over.Area}, {&out.Line, over.Line}, {&out.Cell, over.Cell}} {
		if f.src != "" {
			*f.dst = f.src
		}
	}
	return out
}
