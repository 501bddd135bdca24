package browse

import (
	"context"
	"errors"
	"fmt"

	"github.com/gopcua/opcua/ua"

	"github.com/otwin/otwin/scenarios/uaimport"
)

// OPC UA's reference types the browse asks for (numeric ids in
// namespace 0).
const (
	refHierarchical    = 33
	refHasModelling    = 37
	refHasTypeDef      = 40
	refAggregates      = 44
	refHasSubtype      = 45
	refHasProperty     = 46
	nodeBaseDataType   = 24
	nodeBaseObjectType = 58
)

// browseRefs browses each of ids along references of type ref (and its
// subtypes) in direction dir, following continuation points, and returns
// the references by node. A node the server refuses is reported and
// left without references.
func (b *browser) browseRefs(ctx context.Context, ids []uaimport.NodeID, ref uint32, dir ua.BrowseDirection) (map[uaimport.NodeID][]*ua.ReferenceDescription, error) {
	out := make(map[uaimport.NodeID][]*ua.ReferenceDescription, len(ids))
	for start := 0; start < len(ids); start += browseBatch {
		batch := ids[start:min(start+browseBatch, len(ids))]
		req := &ua.BrowseRequest{RequestedMaxReferencesPerNode: 1000}
		for _, id := range batch {
			req.NodesToBrowse = append(req.NodesToBrowse, &ua.BrowseDescription{
				NodeID:          b.ids[id],
				BrowseDirection: dir,
				ReferenceTypeID: ua.NewNumericNodeID(0, ref),
				IncludeSubtypes: true,
				ResultMask:      uint32(ua.BrowseResultMaskAll),
			})
		}
		rctx, cancel := context.WithTimeout(ctx, b.cfg.Timeout)
		resp, err := b.cl.Browse(rctx, req)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("browse: %w", err)
		}
		if len(resp.Results) != len(batch) {
			return nil, fmt.Errorf("browse: %d results for %d nodes", len(resp.Results), len(batch))
		}
		for i, r := range resp.Results {
			id := batch[i]
			if r == nil || r.StatusCode != ua.StatusOK {
				b.finding(id, "", "the server refused to browse it: %v", statusOf(r))
				continue
			}
			out[id] = append(out[id], r.References...)
			refs, err := b.browseNext(ctx, r.ContinuationPoint)
			if err != nil {
				return nil, err
			}
			out[id] = append(out[id], refs...)
		}
	}
	return out, nil
}

func statusOf(r *ua.BrowseResult) error {
	if r == nil {
		return errors.New("no result")
	}
	return r.StatusCode
}

// browseNext follows a continuation point to the end.
func (b *browser) browseNext(ctx context.Context, cp []byte) ([]*ua.ReferenceDescription, error) {
	var out []*ua.ReferenceDescription
	for guard := 0; len(cp) > 0; guard++ {
		if guard > b.cfg.MaxNodes {
			return nil, errors.New("browse next: the server keeps sending continuation points")
		}
		rctx, cancel := context.WithTimeout(ctx, b.cfg.Timeout)
		resp, err := b.cl.BrowseNext(rctx, &ua.BrowseNextRequest{ContinuationPoints: [][]byte{cp}})
		cancel()
		if err != nil {
			return nil, fmt.Errorf("browse next: %w", err)
		}
		if len(resp.Results) != 1 || resp.Results[0] == nil {
			return nil, errors.New("browse next: no result")
		}
		r := resp.Results[0]
		if r.StatusCode != ua.StatusOK {
			return nil, fmt.Errorf("browse next: %w", r.StatusCode)
		}
		out = append(out, r.References...)
		cp = r.ContinuationPoint
	}
	return out, nil
}

// classes converts node classes.
var classes = map[ua.NodeClass]uaimport.NodeClass{
	ua.NodeClassObject:        uaimport.ClassObject,
	ua.NodeClassVariable:      uaimport.ClassVariable,
	ua.NodeClassMethod:        uaimport.ClassMethod,
	ua.NodeClassObjectType:    uaimport.ClassObjectType,
	ua.NodeClassVariableType:  uaimport.ClassVariableType,
	ua.NodeClassReferenceType: uaimport.ClassReferenceType,
	ua.NodeClassDataType:      uaimport.ClassDataType,
	ua.NodeClassView:          uaimport.ClassView,
}

// tree browses the objects and variables below root through
// hierarchical references (subtypes excepted), breadth first, adding each
// node once with an inverse reference to each parent, and returns the
// nodes added.
func (b *browser) tree(ctx context.Context, root uaimport.NodeID) ([]uaimport.NodeID, error) {
	var added []uaimport.NodeID
	frontier := []uaimport.NodeID{root}
	for depth := 0; len(frontier) > 0; depth++ {
		if depth > maxDepth {
			for _, id := range frontier {
				b.finding(id, b.nameOf(id), "nested deeper than %d levels below the root: its children are not browsed", maxDepth)
			}
			break
		}
		res, err := b.browseRefs(ctx, frontier, refHierarchical, ua.BrowseDirectionForward)
		if err != nil {
			return nil, err
		}
		var next []uaimport.NodeID
		for _, parent := range frontier {
			for _, rd := range res[parent] {
				child, descend, err := b.child(parent, rd)
				if err != nil {
					return nil, err
				}
				if descend {
					next = append(next, child)
					added = append(added, child)
				}
			}
		}
		frontier = next
	}
	return added, nil
}

// child records reference rd of parent: the target node (added on first
// sight) and an inverse reference on it. descend says the node is new and
// its children are to be browsed.
func (b *browser) child(parent uaimport.NodeID, rd *ua.ReferenceDescription) (uaimport.NodeID, bool, error) {
	if rd == nil || !rd.IsForward || rd.ReferenceTypeID == nil {
		return uaimport.NodeID{}, false, nil
	}
	if rd.ReferenceTypeID.Namespace() == 0 && rd.ReferenceTypeID.IntID() == refHasSubtype {
		return uaimport.NodeID{}, false, nil
	}
	tid, tnid, ok := b.expanded(rd.NodeID)
	if !ok {
		b.finding(parent, b.nameOf(parent), "refers to %v, on another server or in a namespace the server does not list", rd.NodeID)
		return uaimport.NodeID{}, false, nil
	}
	if tid.NS == uaimport.UANamespace {
		return uaimport.NodeID{}, false, nil // the Server object and OPC UA's own nodes
	}
	refType, ok := b.nodeID(rd.ReferenceTypeID)
	if !ok {
		return uaimport.NodeID{}, false, nil
	}
	n := b.space.Nodes[tid]
	isNew := n == nil
	if isNew {
		if len(b.space.Nodes) >= b.cfg.MaxNodes {
			return uaimport.NodeID{}, false, fmt.Errorf("more than %d nodes below the root: choose a root further down, or raise the limit", b.cfg.MaxNodes)
		}
		n = &uaimport.Node{ID: tid, Class: classes[rd.NodeClass], ValueRank: -1, AccessLevel: 1}
		if rd.BrowseName != nil {
			n.BrowseName = rd.BrowseName.Name
		}
		if rd.DisplayName != nil {
			n.DisplayName = rd.DisplayName.Text
		}
		if td, _, ok := b.expanded(rd.TypeDefinition); ok && !td.IsZero() {
			n.Refs = append(n.Refs, uaimport.Ref{Type: uaimport.HasTypeDefinition, Target: td, Forward: true})
		}
		b.space.Add(n)
		b.ids[tid] = tnid
	}
	n.Refs = append(n.Refs, uaimport.Ref{Type: refType, Target: parent, Forward: false})
	descend := isNew && (n.Class == uaimport.ClassObject || n.Class == uaimport.ClassVariable)
	return tid, descend, nil
}

// nameOf is the browse name of id when the space has it.
func (b *browser) nameOf(id uaimport.NodeID) string {
	if n := b.space.Nodes[id]; n != nil {
		return n.BrowseName
	}
	return ""
}

// types browses the ObjectTypes of the objects (and their supertypes)
// with their InstanceDeclarations and modelling rules, and the
// supertypes of the reference types the space uses.
func (b *browser) types(ctx context.Context) error {
	var pending []uaimport.NodeID
	seen := map[uaimport.NodeID]bool{}
	for _, id := range b.space.Order {
		n := b.space.Nodes[id]
		if n.Class != uaimport.ClassObject {
			continue
		}
		for _, r := range n.Refs {
			if r.Type == uaimport.HasTypeDefinition && r.Forward && r.Target.NS != uaimport.UANamespace && !seen[r.Target] {
				seen[r.Target] = true
				pending = append(pending, r.Target)
			}
		}
	}
	supers, err := b.supertypes(ctx, pending, uaimport.ClassObjectType)
	if err != nil {
		return err
	}
	var decls []uaimport.NodeID
	for _, t := range supers {
		if b.space.Nodes[t].Class != uaimport.ClassObjectType {
			continue
		}
		added, err := b.tree(ctx, t)
		if err != nil {
			return err
		}
		decls = append(decls, added...)
	}
	if err := b.modellingRules(ctx, decls); err != nil {
		return err
	}
	// Reference types of the server's own namespaces: their supertypes
	// say what they mean.
	var refTypes []uaimport.NodeID
	for _, id := range b.space.Order {
		for _, r := range b.space.Nodes[id].Refs {
			if r.Type.NS != uaimport.UANamespace && !seen[r.Type] {
				seen[r.Type] = true
				refTypes = append(refTypes, r.Type)
			}
		}
	}
	_, err = b.supertypes(ctx, refTypes, uaimport.ClassReferenceType)
	return err
}

// supertypes adds the type nodes ids (of class cls unless the server says
// otherwise) and their supertypes up to OPC UA's namespace, and returns
// the ids of the nodes added.
func (b *browser) supertypes(ctx context.Context, ids []uaimport.NodeID, cls uaimport.NodeClass) ([]uaimport.NodeID, error) {
	var added []uaimport.NodeID
	for depth := 0; len(ids) > 0 && depth < maxDepth; depth++ {
		var todo []uaimport.NodeID
		for _, id := range ids {
			if b.space.Nodes[id] != nil {
				continue
			}
			if _, ok := b.ids[id]; !ok {
				nid, err := b.parse(id)
				if err != nil {
					b.finding(id, "", "%v", err)
					continue
				}
				b.ids[id] = nid
			}
			b.space.Add(&uaimport.Node{ID: id, Class: cls, ValueRank: -1, AccessLevel: 1})
			added = append(added, id)
			todo = append(todo, id)
		}
		res, err := b.browseRefs(ctx, todo, refHasSubtype, ua.BrowseDirectionInverse)
		if err != nil {
			return nil, err
		}
		ids = nil
		for _, id := range todo {
			for _, rd := range res[id] {
				sup, snid, ok := b.expanded(rd.NodeID)
				if !ok || rd.IsForward {
					continue
				}
				b.space.Nodes[id].Refs = append(b.space.Nodes[id].Refs, uaimport.Ref{Type: uaimport.HasSubtype, Target: sup, Forward: false})
				if sup.NS == uaimport.UANamespace && (cls != uaimport.ClassDataType || builtinOrBase(snid)) {
					continue // OPC UA's own types are known to the mapping
				}
				if _, ok := b.ids[sup]; !ok {
					b.ids[sup] = snid
				}
				ids = append(ids, sup)
				break
			}
		}
	}
	if err := b.read(ctx, added); err != nil {
		return nil, err
	}
	return added, nil
}

// builtinOrBase reports whether a data type of namespace 0 is a builtin
// type (ids 1-30, Enumeration included): the end of a supertype chain.
func builtinOrBase(n *ua.NodeID) bool {
	return n.Namespace() == 0 && n.IntID() <= 30
}

// parse makes a request node id from a space node id.
func (b *browser) parse(id uaimport.NodeID) (*ua.NodeID, error) {
	idx := indexOf(b.ns, id.NS)
	if idx < 0 {
		return nil, fmt.Errorf("namespace %s is not in the server's NamespaceArray", id.NS)
	}
	return ua.ParseNodeID(fmt.Sprintf("ns=%d;%s", idx, id.ID))
}

// modellingRules reads the modelling rule of each declaration.
func (b *browser) modellingRules(ctx context.Context, decls []uaimport.NodeID) error {
	res, err := b.browseRefs(ctx, decls, refHasModelling, ua.BrowseDirectionForward)
	if err != nil {
		return err
	}
	for _, id := range decls {
		for _, rd := range res[id] {
			if rule, _, ok := b.expanded(rd.NodeID); ok && rd.IsForward {
				b.space.Nodes[id].Refs = append(b.space.Nodes[id].Refs, uaimport.Ref{Type: uaimport.HasModellingRule, Target: rule, Forward: true})
				break
			}
		}
	}
	return nil
}

// dataTypes adds the data types of the variables with their supertypes,
// and the EnumStrings or EnumValues properties of enumerations.
func (b *browser) dataTypes(ctx context.Context) error {
	var ids []uaimport.NodeID
	seen := map[uaimport.NodeID]bool{}
	for _, id := range b.space.Order {
		n := b.space.Nodes[id]
		if n.Class != uaimport.ClassVariable || n.DataType.IsZero() || seen[n.DataType] {
			continue
		}
		seen[n.DataType] = true
		if nid, err := b.parse(n.DataType); err == nil && !builtinOrBase(nid) {
			b.ids[n.DataType] = nid
			ids = append(ids, n.DataType)
		}
	}
	added, err := b.supertypes(ctx, ids, uaimport.ClassDataType)
	if err != nil {
		return err
	}
	res, err := b.browseRefs(ctx, added, refHasProperty, ua.BrowseDirectionForward)
	if err != nil {
		return err
	}
	var props []uaimport.NodeID
	for _, id := range added {
		for _, rd := range res[id] {
			if rd.BrowseName == nil || rd.BrowseName.Name != "EnumStrings" && rd.BrowseName.Name != "EnumValues" {
				continue
			}
			pid, changed, err := b.child(id, rd)
			if err != nil {
				return err
			}
			if changed {
				props = append(props, pid)
			}
		}
	}
	return b.read(ctx, props)
}
