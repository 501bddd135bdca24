package uaimport

import (
	"slices"

	"github.com/otwin/otwin/scenarios"
)

// typeTemplate returns the template of ObjectType td, mapping it on first
// use: its InstanceDeclarations (and those of its supertypes in the space)
// become its tags. nil when td is no ObjectType of the space.
func (m *mapper) typeTemplate(td NodeID) *template {
	if t, ok := m.templates[td]; ok {
		return t
	}
	n := m.node(td)
	if n == nil || n.Class != ClassObjectType || td.NS == UANamespace {
		m.templates[td] = nil
		return nil
	}
	t := &template{node: n, byName: map[string]*tag{}}
	m.templates[td] = t // a HasSubtype cycle back to td ends here
	m.tmplOrder = append(m.tmplOrder, t)
	m.used[n.ID] = true
	t.name = m.tmplNames.unique(name(n.BrowseName, "Type"))
	t.desc = description(n.Description)
	t.note = "ObjectType " + n.ID.String()
	if t.name != n.BrowseName {
		m.report(n, Changed, "browse name %q is served as %q", n.BrowseName, t.name)
	}
	if served := (NodeID{NS: scenarios.TypesNamespace(m.name), ID: "s=" + t.name}); n.ID != served {
		m.report(n, Changed, "served as %s, in the scenario's types namespace", served)
	}
	chain := []*Node{n}
	for cur := td; len(chain) < maxTypeDepth; {
		sup, ok := m.super[cur]
		if !ok {
			break
		}
		sn := m.node(sup)
		if sn == nil || sn.Class != ClassObjectType || sup.NS == UANamespace {
			if sup != BaseObjectType {
				m.report(n, Changed, "supertype %s is not imported: served as a subtype of BaseObjectType", m.typeLabel(sup))
			}
			break
		}
		chain = append(chain, sn)
		cur = sup
	}
	if len(chain) > 1 {
		m.report(n, Changed, "a subtype of %s: served as a subtype of BaseObjectType that declares its supertypes' variables too", typeName(chain[1]))
	}
	for i := len(chain) - 1; i >= 0; i-- {
		for _, v := range m.variables(chain[i], "", 0, t.name) {
			if m.used[v.node.ID] {
				continue
			}
			m.used[v.node.ID] = true
			if !m.declared(v.node) {
				continue
			}
			tg := m.tag(v.node, v.name, "")
			if tg == nil {
				continue
			}
			if old := t.byName[v.name]; old != nil {
				t.tags[slices.Index(t.tags, old)] = tg
			} else {
				t.tags = append(t.tags, tg)
			}
			t.byName[v.name] = tg
		}
	}
	return t
}

// declared checks the modelling rule of declaration v: Mandatory and
// Optional declarations become template tags (Optional ones reported:
// the twin serves every declaration on every instance); it reports the
// others and returns false.
func (m *mapper) declared(v *Node) bool {
	switch r := m.rule[v.ID]; r {
	case ModellingRuleMandatory:
		return true
	case ModellingRuleOptional:
		m.report(v, Changed, "an Optional declaration: the twin serves it on every instance, as Mandatory")
		return true
	case NodeID{}:
		m.report(v, Dropped, "a declaration without modelling rule is no part of instances")
	case ModellingRuleOptionalPlaceholder, ModellingRuleMandatoryPlaceholder:
		m.report(v, Dropped, "placeholder declarations are not imported")
	default:
		m.report(v, Dropped, "modelling rule %s is not imported", r)
	}
	return false
}

// overrides turns the tags of machine mc that its template declares into
// overrides of the template's tags: the node id, and each field that
// differs. It reports what the template's tags impose that the instance
// does not have.
func (m *mapper) overrides(mc *machine) {
	have := map[string]bool{}
	for _, tg := range mc.tags {
		d := mc.tmpl.byName[tg.t.Name]
		if d == nil {
			continue
		}
		have[tg.t.Name] = true
		tg.t = m.override(tg, d.t, mc.tmpl.name)
	}
	for _, d := range mc.tmpl.tags {
		if !have[d.t.Name] {
			m.report(mc.node, Changed, "lacks %s, which %s declares: the twin serves it", d.t.Name, mc.tmpl.name)
		}
	}
}

// override returns instance tag tg as an override of the template's tag
// d: its name and node id, and the fields where it differs.
func (m *mapper) override(tg *tag, d scenarios.Tag, tmpl string) scenarios.Tag {
	in := tg.t
	out := scenarios.Tag{Name: in.Name, NodeID: in.NodeID, Model: in.Model}
	if in.Type != d.Type {
		out.Type = in.Type
	}
	switch {
	case in.Unit == d.Unit:
	case in.Unit == "":
		m.report(tg.node, Changed, "%s gives unit %s, the instance none: served with %s", tmpl, d.Unit, d.Unit)
	default:
		out.Unit = in.Unit
	}
	switch {
	case sameRange(in.Range, d.Range):
	case in.Range == nil:
		m.report(tg.node, Changed, "%s gives a range, the instance none: served with [%v, %v]", tmpl, d.Range.Low, d.Range.High)
	default:
		out.Range = in.Range
	}
	if in.Description != d.Description && in.Description != "" {
		out.Description = in.Description
	}
	switch {
	case in.Writable && !d.Writable:
		out.Writable = true
	case !in.Writable && d.Writable:
		m.report(tg.node, Changed, "read-only, but writable in %s: served writable", tmpl)
	}
	if in.Historized() != d.Historized() {
		out.Historizing = in.Historizing
		if out.Historizing == nil {
			out.Historizing = new(bool)
			*out.Historizing = true
		}
	}
	return out
}

func sameRange(a, b *scenarios.Range) bool {
	return a == nil && b == nil || a != nil && b != nil && *a == *b
}

// unusedTypes maps the ObjectTypes no imported machine is an instance of:
// concrete ones become templates (reported: the twin serves a template's
// ObjectType once a machine uses it); abstract ones are reported unless
// a template inherits from them.
func (m *mapper) unusedTypes() {
	for _, id := range m.s.Order {
		n := m.s.Nodes[id]
		if n.Class != ClassObjectType || id.NS == UANamespace || m.used[id] {
			continue
		}
		if n.Abstract {
			if !m.hasSubtypes(id) {
				m.report(n, Dropped, "an abstract ObjectType without subtypes is not a template")
			}
			continue
		}
		if t := m.typeTemplate(id); t != nil && !t.used {
			m.report(n, Changed, "no imported object is of this type: a template the twin serves once a machine uses it")
		}
	}
}

// hasSubtypes reports whether some type of the space is a subtype of id.
func (m *mapper) hasSubtypes(id NodeID) bool {
	for _, sup := range m.super {
		if sup == id {
			return true
		}
	}
	return false
}
