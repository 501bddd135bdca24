package uaimport

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/otwin/otwin/scenarios"
)

// DefaultPort is the OPC UA port of the imported machines.
const DefaultPort = 4840

// maxDepth bounds the folder and object nesting followed below the root.
const maxDepth = 64

// Options steer Map.
type Options struct {
	// Name is the scenario's name; "" derives it: from an otwin types
	// namespace ("urn:otwin:<name>:types") when the space has one, else
	// from the source's file name, else "imported".
	Name string
	// Description of the scenario; "" writes one naming the source.
	Description string
	// Port is the OPC UA port every machine is served on (one server, as
	// the source was one address space); 0 means DefaultPort.
	Port int
	// Levels names the ISA-95 level of each folder above a machine, top
	// down (see ParseLevels); nil applies the rule by depth.
	Levels []string
	// Location is the scenario's default location: the levels the folders
	// leave empty.
	Location scenarios.Location
}

// Result is a mapped scenario, the report of what could not be mapped,
// and the notes Write puts beside each element as comments.
type Result struct {
	// Scenario is the scenario, as its file will say it (not resolved:
	// templates are kept, defaults left out).
	Scenario *scenarios.Scenario
	// Report lists what was left out or changed, in source order.
	Report Report
	// Source is where the space was read.
	Source string
	// Sampled says the models were proposed from sampled values.
	Sampled bool

	machineNotes  []string            // by machine index
	tagNotes      [][]string          // by machine, then tag index
	templateRank  map[string]int      // by template name: its place in the file
	templateNotes map[string]string   // by template name
	declNotes     map[string][]string // by template name, then tag index
}

// ErrNothing is the error of Map when no machine could be made; the
// Result's report says why.
var ErrNothing = errors.New("nothing to import: no object with variables")

// machine is a machine being mapped.
type machine struct {
	node    *Node
	name    string
	folders []string // location folders, top down, as names
	loc     scenarios.Location
	ns      string
	tmpl    *template
	tags    []*tag
	note    string
}

// tag is a tag being mapped.
type tag struct {
	t    scenarios.Tag
	node *Node
	note string
}

// template is a template being mapped from an ObjectType.
type template struct {
	node   *Node
	name   string
	desc   string
	tags   []*tag
	byName map[string]*tag
	used   bool
	note   string
}

// Map maps the space to a scenario. It never fails on a node: what it
// cannot map is in the Result's report. It returns ErrNothing (and the
// report) when no machine could be made, and an error without a result
// when opt is invalid.
func Map(s *Space, opt Options) (*Result, error) {
	if opt.Port == 0 {
		opt.Port = DefaultPort
	}
	if opt.Name != "" && name(opt.Name, "") != opt.Name {
		return nil, fmt.Errorf("scenario name %q: use letters, digits, '.', '_' and '-'", opt.Name)
	}
	m := newMapper(s, opt)
	m.name = m.scenarioName()
	m.templates = map[NodeID]*template{}
	m.tmplNames = names{}
	root := s.Root
	if root.IsZero() {
		root = ObjectsFolder
	}
	m.used[root] = true
	m.walk(root, nil, 0)
	m.orphans(root)
	m.unusedTypes()
	res := m.assemble()
	res.Report = append(slices.Clone(s.Findings), m.rep...)
	for _, n := range s.Nodes {
		if len(n.Samples) > 0 {
			res.Sampled = true
			break
		}
	}
	sortReport(res.Report)
	if len(res.Scenario.Machines) == 0 {
		return res, ErrNothing
	}
	return res, nil
}

// walk maps the objects below folder id (the root or a location folder)
// with location folders.
func (m *mapper) walk(id NodeID, folders []string, depth int) {
	for _, e := range m.children[id] {
		n := m.node(e.node)
		if n == nil {
			m.missing(id, e.node)
			continue
		}
		if m.used[n.ID] {
			continue
		}
		switch n.Class {
		case ClassObject:
			m.object(n, folders, depth+1)
		case ClassVariable:
			m.used[n.ID] = true
			if id == m.rootID() {
				m.report(n, Dropped, "a variable directly in the Objects folder belongs to no machine")
			} else {
				m.report(n, Dropped, "a variable directly in a folder belongs to no machine (the twin serves tags of machines only)")
			}
		case ClassMethod:
			m.used[n.ID] = true
			m.report(n, Dropped, "methods are not imported")
		}
	}
}

func (m *mapper) rootID() NodeID {
	if m.s.Root.IsZero() {
		return ObjectsFolder
	}
	return m.s.Root
}

// missing reports a hierarchical reference of from to a node the space
// does not hold (OPC UA's own nodes are not expected there).
func (m *mapper) missing(from, to NodeID) {
	if to.NS == UANamespace {
		return
	}
	f := Finding{Source: m.s.Source, Element: "Reference", Node: to, Severity: Dropped}
	if n := m.node(from); n != nil {
		f.Line = n.Line
		f.Reason = fmt.Sprintf("%s (%s) refers to it, but it is not in %s", from, n.BrowseName, m.s.Source)
	} else {
		f.Reason = fmt.Sprintf("%s refers to it, but neither is in %s", from, m.s.Source)
	}
	m.rep = append(m.rep, f)
}

// object maps object n below folders: a machine when it holds variables
// (or its type declares them), else a location level when it holds
// objects.
func (m *mapper) object(n *Node, folders []string, depth int) {
	m.used[n.ID] = true
	if depth > maxDepth {
		m.report(n, Dropped, "nested deeper than %d levels below the root", maxDepth)
		return
	}
	td := m.typeDef[n.ID]
	folder := td == FolderType || m.isSubtype(td, FolderType)
	if !folder && (m.hasVariables(n) || m.typeTemplate(td) != nil) {
		m.machine(n, folders)
		return
	}
	if !folder && !m.hasObjects(n) {
		m.report(n, Dropped, "an object without variables or objects below it")
		return
	}
	level := name(n.BrowseName, "folder")
	path := strings.Join(append(slices.Clone(folders), level), "/")
	if m.folders[path] == nil {
		m.folders[path] = n
	}
	if !folder {
		m.report(n, Changed, "an object of type %s without variables of its own is served as a folder (location level %q)", m.typeLabel(td), level)
	}
	m.walk(n.ID, append(slices.Clone(folders), level), depth)
}

// hasVariables reports whether n has variables of its own.
func (m *mapper) hasVariables(n *Node) bool {
	for _, e := range m.children[n.ID] {
		if c := m.node(e.node); c != nil && c.Class == ClassVariable {
			return true
		}
	}
	return false
}

// hasObjects reports whether n has objects below it.
func (m *mapper) hasObjects(n *Node) bool {
	for _, e := range m.children[n.ID] {
		if c := m.node(e.node); c != nil && c.Class == ClassObject {
			return true
		}
	}
	return false
}

// typeLabel names type definition td for messages.
func (m *mapper) typeLabel(td NodeID) string {
	if td.IsZero() {
		return "BaseObjectType (none given)"
	}
	if n := m.node(td); n != nil {
		return typeName(n)
	}
	if l, ok := uaTypeNames[td]; ok {
		return l
	}
	return td.String()
}

// uaTypeNames names OPC UA's object and variable types in messages.
var uaTypeNames = map[NodeID]string{
	BaseObjectType:              "BaseObjectType",
	FolderType:                  "FolderType",
	BaseDataVariableType:        "BaseDataVariableType",
	PropertyType:                "PropertyType",
	DataItemType:                "DataItemType",
	AnalogItemType:              "AnalogItemType",
	BaseAnalogType:              "BaseAnalogType",
	TwoStateDiscreteType:        "TwoStateDiscreteType",
	MultiStateDiscreteType:      "MultiStateDiscreteType",
	MultiStateValueDiscreteType: "MultiStateValueDiscreteType",
}

// namedVar is a variable of an object with the tag name it gets.
type namedVar struct {
	name string
	node *Node
}

// variables lists the variables of object (or ObjectType) n as tags
// would name them: its own, then those of the objects inside it
// ("sub.name"), down to maxFlatten levels. Methods are reported.
func (m *mapper) variables(n *Node, prefix string, depth int, owner string) []namedVar {
	var out []namedVar
	for _, e := range m.children[n.ID] {
		c := m.node(e.node)
		if c == nil {
			m.missing(n.ID, e.node)
			continue
		}
		switch c.Class {
		case ClassVariable:
			out = append(out, namedVar{prefix + name(c.BrowseName, "tag"), c})
		case ClassObject:
			if m.used[c.ID] {
				continue
			}
			m.used[c.ID] = true
			if depth >= maxFlatten {
				m.report(c, Dropped, "an object nested more than %d levels inside %s", maxFlatten, owner)
				continue
			}
			sub := prefix + name(c.BrowseName, "object") + "."
			m.report(c, Changed, "an object inside %s: its variables are tags of %s named %q", owner, owner, sub+"*")
			out = append(out, m.variables(c, sub, depth+1, owner)...)
		case ClassMethod:
			m.used[c.ID] = true
			m.report(c, Dropped, "methods are not imported")
		}
	}
	return out
}

// maxFlatten bounds the objects inside a machine whose variables are
// flattened into it.
const maxFlatten = 8

// machine maps object n, below folders, to a machine.
func (m *mapper) machine(n *Node, folders []string) {
	mc := &machine{node: n, name: name(n.BrowseName, "machine"), folders: folders, ns: n.ID.NS}
	td := m.typeDef[n.ID]
	mc.tmpl = m.typeTemplate(td)
	mc.note = "object " + n.ID.String()
	switch {
	case mc.tmpl != nil:
		mc.tmpl.used = true
		mc.note += ", an instance of " + typeName(mc.tmpl.node)
	case !td.IsZero() && td != BaseObjectType:
		m.report(n, Changed, "type definition %s is not imported: served as BaseObjectType", m.typeLabel(td))
	}
	tagNames := names{}
	for _, v := range m.variables(n, "", 0, mc.name) {
		if m.used[v.node.ID] {
			continue
		}
		m.used[v.node.ID] = true
		tg := m.tag(v.node, tagNames.unique(v.name), mc.ns)
		if tg == nil {
			continue
		}
		mc.tags = append(mc.tags, tg)
	}
	if mc.tmpl != nil {
		m.overrides(mc)
	}
	if len(mc.tags) == 0 && (mc.tmpl == nil || len(mc.tmpl.tags) == 0) {
		m.report(n, Dropped, "none of its variables could be imported")
		return
	}
	m.machines = append(m.machines, mc)
}

// orphans maps the objects whose parents are not in the space (they hang
// below nodes of another model), at the top, and reports the objects and
// variables the walk did not reach.
func (m *mapper) orphans(root NodeID) {
	for _, id := range m.s.Order {
		n := m.s.Nodes[id]
		if m.used[id] || m.reported[id] || id.NS == UANamespace || (n.Class != ClassObject && n.Class != ClassVariable) {
			continue
		}
		if m.inType(id) {
			continue
		}
		parents := m.parents[id]
		present := false
		for _, p := range parents {
			if m.node(p.node) != nil || p.node == root {
				present = true
			}
		}
		switch {
		case !present && n.Class == ClassObject:
			var names []string
			for _, p := range parents {
				names = append(names, p.node.String())
			}
			if len(names) > 0 {
				m.report(n, Changed, "its parent %s is not in %s: imported at the top", strings.Join(names, ", "), m.s.Source)
			}
			m.object(n, nil, 1)
		case n.Class == ClassVariable && m.isPropertyOfVariable(id):
			// EngineeringUnits, EURange … of a variable that was reported.
		default:
			m.used[id] = true
			m.report(n, Dropped, "not reachable from the Objects folder through hierarchical references")
		}
	}
}

// isPropertyOfVariable reports whether id is a property of a variable.
func (m *mapper) isPropertyOfVariable(id NodeID) bool {
	for _, p := range m.parents[id] {
		if n := m.node(p.node); n != nil && n.Class == ClassVariable {
			return true
		}
	}
	return false
}

// inType reports whether id is part of a type (an InstanceDeclaration or
// a property of a type), by its ancestors.
func (m *mapper) inType(id NodeID) bool {
	seen := map[NodeID]bool{}
	queue := []NodeID{id}
	for len(queue) > 0 && len(seen) < 4*maxDepth {
		cur := queue[0]
		queue = queue[1:]
		if seen[cur] {
			continue
		}
		seen[cur] = true
		for _, p := range m.parents[cur] {
			n := m.node(p.node)
			if n == nil {
				continue
			}
			switch n.Class {
			case ClassObjectType, ClassVariableType, ClassDataType, ClassReferenceType:
				return true
			}
			queue = append(queue, p.node)
		}
	}
	return false
}

// scenarioName derives the scenario's name (see Options.Name).
func (m *mapper) scenarioName() string {
	if m.opt.Name != "" {
		return m.opt.Name
	}
	for _, ns := range m.s.Namespaces {
		// The twin serves its templates in TypesNamespace(name).
		if rest, ok := strings.CutPrefix(ns, "urn:otwin:"); ok {
			n, _, _ := strings.Cut(rest, ":")
			if name(n, "") == n && scenarios.TypesNamespace(n) == ns {
				return n
			}
		}
	}
	if src := m.s.Source; src != "" && !strings.Contains(src, "://") {
		base := filepath.Base(src)
		return name(strings.TrimSuffix(base, filepath.Ext(base)), "imported")
	}
	return "imported"
}
