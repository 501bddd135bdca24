package uaimport

import (
	"fmt"
)

// refKind is what a reference type means to the mapping.
type refKind uint8

const (
	kOther     refKind = iota // not followed (events, encodings, state machines …)
	kOrganizes                // Organizes: folders and their content
	kComponent                // HasComponent and its subtypes
	kProperty                 // HasProperty
	kChild                    // other hierarchical references (HasChild, Aggregates …)
	kTypeDef                  // HasTypeDefinition
	kSubtype                  // HasSubtype
	kRule                     // HasModellingRule
)

// uaRefKinds are OPC UA's own reference types by numeric id.
var uaRefKinds = map[string]refKind{
	Organizes.ID:              kOrganizes,
	HasComponent.ID:           kComponent,
	HasOrderedComponent.ID:    kComponent,
	HasProperty.ID:            kProperty,
	HierarchicalReferences.ID: kChild,
	HasChild.ID:               kChild,
	Aggregates.ID:             kChild,
	HasTypeDefinition.ID:      kTypeDef,
	HasSubtype.ID:             kSubtype,
	HasModellingRule.ID:       kRule,
}

// edge is a hierarchical reference as the mapping follows it.
type edge struct {
	kind refKind
	node NodeID
}

// mapper holds the space's references indexed both ways, and what the
// mapping found so far.
type mapper struct {
	s    *Space
	opt  Options
	rep  Report
	name string // the scenario's

	children map[NodeID][]edge  // forward hierarchical references, in source order
	parents  map[NodeID][]edge  // the same, inverted
	typeDef  map[NodeID]NodeID  // HasTypeDefinition
	super    map[NodeID]NodeID  // HasSubtype: subtype → supertype
	rule     map[NodeID]NodeID  // HasModellingRule
	kinds    map[NodeID]refKind // reference types resolved
	reported map[NodeID]bool    // nodes with a finding of their own
	used     map[NodeID]bool    // nodes the scenario holds (or reported)

	templates map[NodeID]*template // by ObjectType, nil for a type that is none
	tmplOrder []*template          // in order of first use
	tmplNames names
	machines  []*machine
	folders   map[string]*Node // folder nodes by path of names ("plant/line1")
}

func newMapper(s *Space, opt Options) *mapper {
	m := &mapper{
		s:        s,
		opt:      opt,
		children: map[NodeID][]edge{},
		parents:  map[NodeID][]edge{},
		typeDef:  map[NodeID]NodeID{},
		super:    map[NodeID]NodeID{},
		rule:     map[NodeID]NodeID{},
		kinds:    map[NodeID]refKind{},
		reported: map[NodeID]bool{},
		used:     map[NodeID]bool{},
		folders:  map[string]*Node{},
	}
	seen := map[[2]NodeID]bool{}
	for _, id := range s.Order {
		n := s.Nodes[id]
		for _, r := range n.Refs {
			src, dst := n.ID, r.Target
			if !r.Forward {
				src, dst = r.Target, n.ID
			}
			m.addEdge(src, m.refKind(r.Type, n), dst, seen)
		}
	}
	return m
}

// addEdge records one reference src → dst of kind k; a reference both
// ends declare is recorded once, the first declaration of a type
// definition, supertype or modelling rule wins.
func (m *mapper) addEdge(src NodeID, k refKind, dst NodeID, seen map[[2]NodeID]bool) {
	switch k {
	case kTypeDef:
		if _, ok := m.typeDef[src]; !ok {
			m.typeDef[src] = dst
		}
	case kSubtype:
		if _, ok := m.super[dst]; !ok {
			m.super[dst] = src
		}
	case kRule:
		if _, ok := m.rule[src]; !ok {
			m.rule[src] = dst
		}
	case kOrganizes, kComponent, kProperty, kChild:
		key := [2]NodeID{src, dst}
		if seen[key] || src == dst {
			return
		}
		seen[key] = true
		m.children[src] = append(m.children[src], edge{k, dst})
		m.parents[dst] = append(m.parents[dst], edge{k, src})
	}
}

// refKind resolves reference type t (written on node at): OPC UA's own
// types directly, the space's through their supertypes. A type it cannot
// resolve is reported once and its references are not followed.
func (m *mapper) refKind(t NodeID, at *Node) refKind {
	if k, ok := m.kinds[t]; ok {
		return k
	}
	k, why := m.resolveRef(t)
	m.kinds[t] = k
	if why != "" {
		f := nodeFinding(m.s, at, Dropped, "%s: its references are not followed", why)
		f.Node, f.Name = t, ""
		if n := m.s.Nodes[t]; n != nil {
			f.Line, f.Element, f.Name = n.Line, n.Element, n.BrowseName
		}
		m.rep = append(m.rep, f)
	}
	return k
}

func (m *mapper) resolveRef(t NodeID) (refKind, string) {
	cur := t
	for range maxTypeDepth {
		if cur.NS == UANamespace {
			return uaRefKinds[cur.ID], ""
		}
		n := m.s.Nodes[cur]
		if n == nil || n.Class != ClassReferenceType {
			return kOther, fmt.Sprintf("unknown reference type %s (not defined in %s)", cur, m.s.Source)
		}
		var sup NodeID
		for _, r := range n.Refs {
			if r.Type == HasSubtype && !r.Forward {
				sup = r.Target
				break
			}
		}
		if sup.IsZero() {
			return kOther, fmt.Sprintf("reference type %s has no supertype", typeName(n))
		}
		cur = sup
	}
	return kOther, fmt.Sprintf("reference type %s: supertypes nested deeper than %d", t, maxTypeDepth)
}

// node returns the node of id in the space, nil when absent.
func (m *mapper) node(id NodeID) *Node { return m.s.Nodes[id] }

// property returns n's property (HasProperty) with browse name name, nil
// when it has none.
func (m *mapper) property(n *Node, name string) *Node {
	for _, e := range m.children[n.ID] {
		if e.kind != kProperty {
			continue
		}
		if p := m.node(e.node); p != nil && p.Class == ClassVariable && p.BrowseName == name {
			return p
		}
	}
	return nil
}

// isSubtype reports whether type t is sub (or a subtype of it), following
// the space's HasSubtype references.
func (m *mapper) isSubtype(t, sub NodeID) bool {
	for range maxTypeDepth {
		if t == sub {
			return true
		}
		next, ok := m.super[t]
		if !ok {
			return false
		}
		t = next
	}
	return false
}

// report adds a finding about n.
func (m *mapper) report(n *Node, sev Severity, format string, args ...any) {
	m.rep = append(m.rep, nodeFinding(m.s, n, sev, format, args...))
	if sev == Dropped {
		m.reported[n.ID] = true
	}
}
