package opcuaserver

import (
	"errors"
	"fmt"
	"time"

	"github.com/awcullen/opcua/server"
	"github.com/awcullen/opcua/ua"

	"github.com/otwin/otwin/scenarios"
	"github.com/otwin/otwin/twin"
	"github.com/otwin/otwin/units"
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

// variableType is the VariableType of a tag: AnalogItemType when it has an
// engineering range (EURange is mandatory there), else
// BaseDataVariableType.
func variableType(t twin.TagInfo) ua.NodeID {
	if t.Range != nil {
		return ua.VariableTypeIDAnalogItemType
	}
	return ua.VariableTypeIDBaseDataVariableType
}

// objSpec is an object (folder, machine or ObjectType) before it becomes
// a node: its forward references to children are collected first, because
// the library adds inverse references in time linear in the number of
// children only when parents carry the forward ones and are added after
// their children.
type objSpec struct {
	id     ua.NodeID
	name   ua.QualifiedName
	desc   string
	folder bool
	depth  int
	refs   []ua.Reference
	// notifier: the object keeps event history (a machine's).
	notifier bool
	notify   byte // EventNotifier (alarms.go)
}

// addressSpace is the nodes of one endpoint, ordered children first. Node
// ids follow scenarios.OPCUAAddressSpace, which also judges their
// uniqueness, as validate does.
type addressSpace struct {
	srv     *server.Server
	nm      *server.NamespaceManager
	ids     *scenarios.OPCUAAddressSpace
	now     time.Time
	folders map[string]*objSpec // by location path
	order   []*objSpec          // folders and machines
	types   map[*twin.TemplateInfo]*objSpec
	typeIDs []*objSpec // in order of first use
	props   []server.Node
	leaves  []server.Node // variables
	// euValues and rangeValues hold each distinct property value once,
	// boxed: the instances of a template's tag share theirs.
	euValues    map[scenarios.Unit]any
	rangeValues map[scenarios.Range]any
	methods     []server.Node
	// owner is the server the nodes are for: its historian and method
	// calls (nil in tests that build nodes alone).
	owner *Server
}

func newAddressSpace(srv *server.Server, now time.Time) *addressSpace {
	return &addressSpace{
		srv:     srv,
		nm:      srv.NamespaceManager(),
		ids:     scenarios.NewOPCUAAddressSpace(),
		now:     now,
		folders: map[string]*objSpec{},
		types:   map[*twin.TemplateInfo]*objSpec{},

		euValues:    map[scenarios.Unit]any{},
		rangeValues: map[scenarios.Range]any{},
	}
}

// addMachine adds the location folders, the object and the tags of m in
// namespace ns, with the tags' current values vals, and returns the
// variable of each tag (in tags order).
func (a *addressSpace) addMachine(m twin.MachineInfo, ns string, tags []twin.TagInfo, vals []twin.Value) ([]*server.VariableNode, error) {
	om := scenarios.OPCUAMachine{Name: m.Name, Namespace: ns, Location: m.Location, Tags: make([]scenarios.OPCUATag, len(tags))}
	if a.owner != nil && a.owner.calls != nil && len(m.Methods) > 0 {
		om.Methods = opcuaMethods(m.Methods)
	}
	for i, t := range tags {
		om.Tags[i] = scenarios.OPCUATag{Name: t.Name, NodeID: t.NodeID, Unit: !t.Unit.IsZero(), Range: t.Range != nil}
	}
	ids, clashes := a.ids.Add(om)
	if len(clashes) > 0 {
		errs := make([]error, len(clashes))
		for i, c := range clashes {
			errs[i] = c.Err
		}
		return nil, errors.Join(errs...)
	}
	nsIdx := a.nm.Add(ns)
	var parent *objSpec
	for depth, f := range ids.Folders {
		o := a.folders[f.ID]
		if f.New {
			idx := a.nm.Add(f.Namespace)
			o = &objSpec{id: ua.NewNodeIDString(idx, f.ID), name: ua.NewQualifiedName(idx, f.Name), folder: true, depth: depth}
			o.refs = append(o.refs, hasTypeDefinition(ua.ObjectTypeIDFolderType))
			a.organize(parent, o)
			a.folders[f.ID] = o
			a.order = append(a.order, o)
		}
		parent = o
	}
	obj := &objSpec{id: ua.NewNodeIDString(nsIdx, ids.Object), name: ua.NewQualifiedName(nsIdx, m.Name), depth: len(ids.Folders)}
	typ := a.objectType(m.Template)
	if typ != nil {
		obj.refs = append(obj.refs, hasTypeDefinition(typ.id))
		// The type lists its instances (inverse HasTypeDefinition, which the
		// library does not add by itself), so a client browses from the type
		// to every machine of it.
		typ.refs = append(typ.refs, ua.NewReference(ua.ReferenceTypeIDHasTypeDefinition, true, ua.NewExpandedNodeID(obj.id)))
	} else {
		obj.refs = append(obj.refs, hasTypeDefinition(ua.ObjectTypeIDBaseObjectType))
	}
	a.organize(parent, obj)
	a.order = append(a.order, obj)

	vars := make([]*server.VariableNode, len(tags))
	for i, t := range tags {
		// Tags declared by the template carry the browse name of their
		// InstanceDeclaration (in the types namespace), as instances of a
		// type do; the machine's own tags are in its namespace.
		browseNS := nsIdx
		if typ != nil && i < len(m.Template.Tags) && m.Template.Tags[i].Name == t.Name {
			browseNS = typ.name.NamespaceIndex
		}
		tid := ids.Tags[i]
		dv := ua.NewDataValue(vals[i].V, ua.StatusCode(vals[i].Status), vals[i].Source, 0, a.now, 0)
		v, err := a.variable(t, ua.NewNodeIDString(nsIdx, tid.ID), ua.NewQualifiedName(browseNS, t.Name), tid.Unit, tid.Range, nsIdx, false, dv)
		if err != nil {
			return nil, fmt.Errorf("tag %s: %w", t.ID, err)
		}
		obj.refs = append(obj.refs, ua.NewReference(ua.ReferenceTypeIDHasComponent, false, ua.NewExpandedNodeID(v.NodeID())))
		vars[i] = v
	}
	a.addMethods(obj, m, nsIdx, typ, ids.Methods)
	if a.owner != nil {
		a.owner.objects[obj.id] = m
		obj.notifier = a.owner.hist.events != nil
		a.owner.hist.notif[obj.id] = obj.notifier
	}
	return vars, nil
}

// organize makes parent (nil: the Objects folder) organize o.
func (a *addressSpace) organize(parent, o *objSpec) {
	if parent == nil {
		o.refs = append(o.refs, ua.NewReference(ua.ReferenceTypeIDOrganizes, true, ua.NewExpandedNodeID(ua.ObjectIDObjectsFolder)))
		return
	}
	parent.refs = append(parent.refs, ua.NewReference(ua.ReferenceTypeIDOrganizes, false, ua.NewExpandedNodeID(o.id)))
}

func hasTypeDefinition(id ua.NodeID) ua.Reference {
	return ua.NewReference(ua.ReferenceTypeIDHasTypeDefinition, false, ua.NewExpandedNodeID(id))
}

var hasModellingRuleMandatory = ua.NewReference(ua.ReferenceTypeIDHasModellingRule, false, ua.NewExpandedNodeID(ua.ObjectIDModellingRuleMandatory))

// objectType returns the ObjectType of template t, creating it with its
// tags as InstanceDeclarations (ModellingRule Mandatory) on first use; nil
// when t is nil.
func (a *addressSpace) objectType(t *twin.TemplateInfo) *objSpec {
	if t == nil {
		return nil
	}
	if o, ok := a.types[t]; ok {
		return o
	}
	idx := a.nm.Add(t.Namespace)
	o := &objSpec{id: ua.NewNodeIDString(idx, t.Name), name: ua.NewQualifiedName(idx, t.Name), desc: t.Description}
	o.refs = append(o.refs, ua.NewReference(ua.ReferenceTypeIDHasSubtype, true, ua.NewExpandedNodeID(ua.ObjectTypeIDBaseObjectType)))
	for _, tag := range t.Tags {
		id := t.Name + "/" + tag.Name
		var unit, rng string
		if !tag.Unit.IsZero() {
			unit = id + scenarios.EngineeringUnitsSuffix
		}
		if tag.Range != nil {
			rng = id + scenarios.EURangeSuffix
		}
		// Declarations are described, not served: read-only, no value.
		tag.Writable = false
		v, err := a.variable(tag, ua.NewNodeIDString(idx, id), ua.NewQualifiedName(idx, tag.Name), unit, rng, idx, true,
			ua.NewDataValue(nil, ua.Good, time.Time{}, 0, a.now, 0))
		if err != nil {
			// dataTypeID refused the type: the tag's instances fail the
			// same way, with the machine named.
			continue
		}
		o.refs = append(o.refs, ua.NewReference(ua.ReferenceTypeIDHasComponent, false, ua.NewExpandedNodeID(v.NodeID())))
	}
	a.addTypeMethods(o, t, idx)
	a.types[t] = o
	a.typeIDs = append(a.typeIDs, o)
	return o
}

// variable adds the variable of t with node id id, value dv, and its
// EngineeringUnits and EURange properties under the given ids ("" for
// none) in namespace ns. A declaration and its properties carry
// ModellingRule Mandatory.
func (a *addressSpace) variable(t twin.TagInfo, id ua.NodeID, browse ua.QualifiedName, unitID, rangeID string, ns uint16, declaration bool, dv ua.DataValue) (*server.VariableNode, error) {
	dt, ok := dataTypeID(t.Type)
	if !ok {
		return nil, fmt.Errorf("data type %q has no OPC UA equivalent", t.Type)
	}
	refs := []ua.Reference{hasTypeDefinition(variableType(t))}
	if declaration {
		refs = append(refs, hasModellingRuleMandatory)
	}
	if unitID != "" {
		eu, ok := a.euValues[t.Unit]
		if !ok {
			eu = euInformation(t.Unit)
			a.euValues[t.Unit] = eu
		}
		p := a.property(ua.NewNodeIDString(ns, unitID), "EngineeringUnits", ua.DataTypeIDEUInformation, eu, declaration)
		refs = append(refs, ua.NewReference(ua.ReferenceTypeIDHasProperty, false, ua.NewExpandedNodeID(p)))
	}
	if rangeID != "" {
		r, ok := a.rangeValues[*t.Range]
		if !ok {
			r = ua.Range{Low: t.Range.Low, High: t.Range.High}
			a.rangeValues[*t.Range] = r
		}
		p := a.property(ua.NewNodeIDString(ns, rangeID), "EURange", ua.DataTypeIDRange, r, declaration)
		refs = append(refs, ua.NewReference(ua.ReferenceTypeIDHasProperty, false, ua.NewExpandedNodeID(p)))
	}
	access := ua.AccessLevelsCurrentRead
	if t.Writable {
		access |= ua.AccessLevelsCurrentWrite
	}
	historizing, historian := a.historizing(t)
	if historizing {
		access |= ua.AccessLevelsHistoryRead
	}
	n := server.NewVariableNode(a.srv, id, browse,
		ua.NewLocalizedText(t.Name, ""),
		ua.NewLocalizedText(t.Description, ""),
		nil, refs, dv,
		dt, ua.ValueRankScalar, []uint32{}, access, 0, historizing, historian)
	if a.owner != nil && !declaration {
		a.owner.hist.tags[id] = t.Index
	}
	a.leaves = append(a.leaves, n)
	return n, nil
}

// euInformation is the EngineeringUnits value of a unit: its UNECE code
// packed as UnitId, or -1 with the display name for a unit without one.
func euInformation(u scenarios.Unit) ua.EUInformation {
	return ua.EUInformation{
		NamespaceURI: units.Namespace,
		UnitID:       u.UnitID,
		DisplayName:  ua.NewLocalizedText(u.Symbol, ""),
		Description:  ua.NewLocalizedText(u.Name, ""),
	}
}

func (a *addressSpace) property(id ua.NodeID, name string, dt ua.NodeID, v any, declaration bool) ua.NodeID {
	refs := []ua.Reference{hasTypeDefinition(ua.VariableTypeIDPropertyType)}
	if declaration {
		refs = append(refs, hasModellingRuleMandatory)
	}
	n := server.NewVariableNode(a.srv, id,
		ua.NewQualifiedName(0, name),
		ua.NewLocalizedText(name, ""),
		ua.NewLocalizedText("", ""),
		nil, refs,
		ua.NewDataValue(v, ua.Good, time.Time{}, 0, a.now, 0),
		dt, ua.ValueRankScalar, []uint32{}, ua.AccessLevelsCurrentRead, 0, false, nil)
	a.props = append(a.props, n)
	return id
}

// nodes returns every node, each after the nodes its forward references
// point to: properties, variables, machines, ObjectTypes, then folders
// deepest first.
func (a *addressSpace) nodes() []server.Node {
	out := make([]server.Node, 0, len(a.props)+len(a.leaves)+len(a.methods)+len(a.order)+len(a.typeIDs))
	out = append(out, a.props...)
	out = append(out, a.leaves...)
	out = append(out, a.methods...)
	maxDepth := 0
	for _, o := range a.order {
		maxDepth = max(maxDepth, o.depth)
	}
	for _, o := range a.order {
		if !o.folder {
			out = append(out, a.objectNode(o))
		}
	}
	for _, o := range a.typeIDs {
		out = append(out, server.NewObjectTypeNode(a.srv, o.id, o.name,
			ua.NewLocalizedText(o.name.Name, ""), ua.NewLocalizedText(o.desc, ""), nil, o.refs, false))
	}
	for d := maxDepth; d >= 0; d-- {
		for _, o := range a.order {
			if o.folder && o.depth == d {
				out = append(out, a.objectNode(o))
			}
		}
	}
	return out
}

func (a *addressSpace) objectNode(o *objSpec) server.Node {
	var notifier byte
	if o.notifier {
		notifier = ua.EventNotifierHistoryRead
	}
	return server.NewObjectNode(a.srv, o.id, o.name,
		ua.NewLocalizedText(o.name.Name, ""),
		ua.NewLocalizedText(o.desc, ""),
		nil, o.refs, notifier|o.notify)
}
