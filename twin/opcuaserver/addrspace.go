package opcuaserver

import (
	"fmt"
	"github.com/otwin/otwin/units"
	"strings"
	"time"

	"github.com/awcullen/opcua/server"
	"github.com/awcullen/opcua/ua"

	"github.com/otwin/otwin/scenarios"
	"github.com/otwin/otwin/twin"
)

// Suffixes of the property node ids of a tag ("<tag node id>#EURange").
// '#' cannot occur in a tag's asset path, so they never collide with tags.
const (
	euSuffix    = "#EngineeringUnits"
	rangeSuffix = "#EURange"
)

// dataTypeID maps a tag type to its OPC UA data type.
func dataTypeID(t scenarios.DataType) (ua.NodeID, bool) {
	switch t {
	case scenarios.Bool:
		return ua.DataTypeIDBoolean, true
	case scenarios.Int16:
		return ua.DataTypeIDInt16, true
	case scenarios.Int32:
		return ua.DataTypeIDInt32, true
	case scenarios.Int64:
		return ua.DataTypeIDInt64, true
	case scenarios.Uint16:
		return ua.DataTypeIDUInt16, true
	case scenarios.Uint32:
		return ua.DataTypeIDUInt32, true
	case scenarios.Uint64:
		return ua.DataTypeIDUInt64, true
	case scenarios.Float32:
		return ua.DataTypeIDFloat, true
	case scenarios.Float64, "":
		return ua.DataTypeIDDouble, true
	case scenarios.String:
		return ua.DataTypeIDString, true
	}
	return nil, false
}

// objSpec is an object (folder or machine) before it becomes a node: its
// forward references to children are collected first, because the
// library adds inverse references in time linear in the number of
// children only when parents carry the forward ones and are added after
// their children.
type objSpec struct {
	id     ua.NodeID
	name   string
	desc   string
	folder bool
	depth  int
	refs   []ua.Reference
}

// addressSpace is the nodes of one endpoint, ordered children first.
type addressSpace struct {
	ns      uint16
	objects map[string]*objSpec
	order   []*objSpec
	ids     map[string]string // node id string -> what it is, for duplicates
	props   []server.Node
	leaves  []server.Node // variables
	vars    map[int]*server.VariableNode
}

func newAddressSpace(ns uint16) *addressSpace {
	return &addressSpace{
		ns:      ns,
		objects: make(map[string]*objSpec),
		ids:     make(map[string]string),
		vars:    make(map[int]*server.VariableNode),
	}
}

func (a *addressSpace) claim(id, what string) error {
	if prev, ok := a.ids[id]; ok {
		return fmt.Errorf("node id ns=%d;s=%s of %s already used by %s", a.ns, id, what, prev)
	}
	a.ids[id] = what
	return nil
}

// object returns the object for key (a "/"-joined path), creating it under
// parent (nil: the Objects folder).
func (a *addressSpace) object(key, name, desc string, folder bool, depth int, parent *objSpec) (*objSpec, error) {
	if o, ok := a.objects[key]; ok {
		if o.folder != folder {
			return nil, fmt.Errorf("node id ns=%d;s=%s is both a location and a machine", a.ns, key)
		}
		return o, nil
	}
	what := "location " + key
	if !folder {
		what = "machine " + key
	}
	if err := a.claim(key, what); err != nil {
		return nil, err
	}
	o := &objSpec{id: ua.NewNodeIDString(a.ns, key), name: name, desc: desc, folder: folder, depth: depth}
	typ := ua.ObjectTypeIDBaseObjectType
	if folder {
		typ = ua.ObjectTypeIDFolderType
	}
	o.refs = append(o.refs, ua.NewReference(ua.ReferenceTypeIDHasTypeDefinition, false, ua.NewExpandedNodeID(typ)))
	if parent == nil {
		o.refs = append(o.refs, ua.NewReference(ua.ReferenceTypeIDOrganizes, true, ua.NewExpandedNodeID(ua.ObjectIDObjectsFolder)))
	} else {
		parent.refs = append(parent.refs, ua.NewReference(ua.ReferenceTypeIDOrganizes, false, ua.NewExpandedNodeID(o.id)))
	}
	a.objects[key] = o
	a.order = append(a.order, o)
	return o, nil
}

// addMachine adds the location folders of m and its machine object, and
// returns the machine object.
func (a *addressSpace) addMachine(m twin.MachineInfo) (*objSpec, error) {
	var parent *objSpec
	segs := m.Location.Segments()
	for k := range segs {
		o, err := a.object(strings.Join(segs[:k+1], "/"), segs[k], "", true, k, parent)
		if err != nil {
			return nil, fmt.Errorf("machine %s: %w", m.Name, err)
		}
		parent = o
	}
	asset := m.Asset
	if asset == "" {
		asset = strings.Join(append(segs, m.Name), "/")
	}
	o, err := a.object(asset, m.Name, "", false, len(segs), parent)
	if err != nil {
		return nil, fmt.Errorf("machine %s: %w", m.Name, err)
	}
	return o, nil
}

// addTag adds the variable of t (and its properties) under machine.
func (a *addressSpace) addTag(srv *server.Server, machine *objSpec, t twin.TagInfo, v twin.Value, now time.Time) (*server.VariableNode, error) {
	dt, ok := dataTypeID(t.Type)
	if !ok {
		return nil, fmt.Errorf("tag %s: data type %q has no OPC UA equivalent", t.ID, t.Type)
	}
	sid := t.NodeID
	if sid == "" {
		sid = t.ID
	}
	if err := a.claim(sid, "tag "+t.ID); err != nil {
		return nil, fmt.Errorf("tag %s: %w", t.ID, err)
	}
	id := ua.NewNodeIDString(a.ns, sid)
	typ := ua.VariableTypeIDBaseDataVariableType
	if t.Unit.Code != "" || t.Range != nil {
		typ = ua.VariableTypeIDBaseAnalogType
	}
	refs := []ua.Reference{ua.NewReference(ua.ReferenceTypeIDHasTypeDefinition, false, ua.NewExpandedNodeID(typ))}
	if t.Unit.Code != "" {
		p, err := a.property(srv, sid+euSuffix, "EngineeringUnits", ua.DataTypeIDEUInformation, ua.EUInformation{
			NamespaceURI: units.Namespace,
			UnitID:       t.Unit.UnitID,
			DisplayName:  ua.NewLocalizedText(t.Unit.Symbol, ""),
			Description:  ua.NewLocalizedText(t.Unit.Name, ""),
		}, now)
		if err != nil {
			return nil, fmt.Errorf("tag %s: %w", t.ID, err)
		}
		refs = append(refs, ua.NewReference(ua.ReferenceTypeIDHasProperty, false, ua.NewExpandedNodeID(p)))
	}
	if t.Range != nil {
		p, err := a.property(srv, sid+rangeSuffix, "EURange", ua.DataTypeIDRange, ua.Range{Low: t.Range.Low, High: t.Range.High}, now)
		if err != nil {
			return nil, fmt.Errorf("tag %s: %w", t.ID, err)
		}
		refs = append(refs, ua.NewReference(ua.ReferenceTypeIDHasProperty, false, ua.NewExpandedNodeID(p)))
	}
	access := ua.AccessLevelsCurrentRead
	if t.Writable {
		access |= ua.AccessLevelsCurrentWrite
	}
	n := server.NewVariableNode(srv, id,
		ua.NewQualifiedName(a.ns, t.Name),
		ua.NewLocalizedText(t.Name, ""),
		ua.NewLocalizedText(t.Description, ""),
		nil, refs,
		ua.NewDataValue(v.V, ua.StatusCode(v.Status), v.Source, 0, now, 0),
		dt, ua.ValueRankScalar, []uint32{}, access, 0, false, nil)
	machine.refs = append(machine.refs, ua.NewReference(ua.ReferenceTypeIDHasComponent, false, ua.NewExpandedNodeID(id)))
	a.leaves = append(a.leaves, n)
	a.vars[t.Index] = n
	return n, nil
}

func (a *addressSpace) property(srv *server.Server, sid, name string, dt ua.NodeID, v any, now time.Time) (ua.NodeID, error) {
	if err := a.claim(sid, "property "+name); err != nil {
		return nil, err
	}
	id := ua.NewNodeIDString(a.ns, sid)
	n := server.NewVariableNode(srv, id,
		ua.NewQualifiedName(0, name),
		ua.NewLocalizedText(name, ""),
		ua.NewLocalizedText("", ""),
		nil,
		[]ua.Reference{ua.NewReference(ua.ReferenceTypeIDHasTypeDefinition, false, ua.NewExpandedNodeID(ua.VariableTypeIDPropertyType))},
		ua.NewDataValue(v, ua.Good, time.Time{}, 0, now, 0),
		dt, ua.ValueRankScalar, []uint32{}, ua.AccessLevelsCurrentRead, 0, false, nil)
	a.props = append(a.props, n)
	return id, nil
}

// nodes returns every node, each after the nodes its forward references
// point to: properties, variables, machines, then folders deepest first.
func (a *addressSpace) nodes(srv *server.Server) []server.Node {
	out := make([]server.Node, 0, len(a.props)+len(a.leaves)+len(a.order))
	out = append(out, a.props...)
	out = append(out, a.leaves...)
	maxDepth := 0
	for _, o := range a.order {
		maxDepth = max(maxDepth, o.depth)
	}
	for _, o := range a.order {
		if !o.folder {
			out = append(out, a.objectNode(srv, o))
		}
	}
	for d := maxDepth; d >= 0; d-- {
		for _, o := range a.order {
			if o.folder && o.depth == d {
				out = append(out, a.objectNode(srv, o))
			}
		}
	}
	return out
}

func (a *addressSpace) objectNode(srv *server.Server, o *objSpec) server.Node {
	return server.NewObjectNode(srv, o.id,
		ua.NewQualifiedName(a.ns, o.name),
		ua.NewLocalizedText(o.name, ""),
		ua.NewLocalizedText(o.desc, ""),
		nil, o.refs, 0)
}
