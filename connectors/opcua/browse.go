package opcua

import (
	"context"
	"fmt"
	"strings"

	"github.com/gopcua/opcua/id"
	"github.com/gopcua/opcua/ua"
)

// browse walks the hierarchy below the browse root and adds every
// variable not configured already whose values can be readings (see
// leaveOutUnmappable). Variables are not descended into.
func (s *session) browse(ctx context.Context) error {
	rootID, err := s.c.root.resolve(s.ns)
	if err != nil {
		// A configuration that does not fit this server: reconnecting
		// would not help. Read the configured nodes and say so.
		err = fmt.Errorf("opcua %s (%s): browse root %s: %w", s.c.cfg.Name, s.c.cfg.URL, s.c.cfg.BrowseRoot, err)
		s.c.log.Warn("browse root not on the server; reading the configured nodes only", "err", err)
		s.c.countError(err)
		return nil
	}
	known := make(map[string]*item, len(s.items))
	for _, it := range s.items {
		known[it.id.String()] = it
	}
	type pending struct {
		id    *ua.NodeID
		path  string
		depth int
	}
	visited := map[string]bool{rootID.String(): true}
	queue := []pending{{id: rootID}}
	for len(queue) > 0 {
		batch := queue
		queue = nil
		ids := make([]*ua.NodeID, len(batch))
		for i, p := range batch {
			ids[i] = p.id
		}
		results, err := s.browseNodes(ctx, ids, ua.BrowseDirectionForward, id.HierarchicalReferences, ua.NodeClassObject|ua.NodeClassVariable)
		if err != nil {
			return fmt.Errorf("browse below %s: %w", s.c.cfg.BrowseRoot, err)
		}
		for i, refs := range results {
			parent := batch[i]
			for _, ref := range refs {
				if ref == nil || ref.NodeID == nil || ref.NodeID.NodeID == nil || !ref.IsForward || ref.NodeID.ServerIndex != 0 {
					continue
				}
				if ref.ReferenceTypeID != nil && ref.ReferenceTypeID.Namespace() == 0 && ref.ReferenceTypeID.IntID() == id.HasProperty {
					continue
				}
				nid := ref.NodeID.NodeID
				key := nid.String()
				if visited[key] {
					continue
				}
				visited[key] = true
				name := key
				if ref.BrowseName != nil && ref.BrowseName.Name != "" {
					name = ref.BrowseName.Name
				}
				name = strings.ReplaceAll(name, "/", "_")
				path := name
				if parent.path != "" {
					path = parent.path + "/" + name
				}
				switch ref.NodeClass {
				case ua.NodeClassVariable:
					if it, ok := known[key]; ok {
						it.path = path
						continue
					}
					addr := canonicalAddress(nid, s.ns)
					it := &item{ref: addr, id: nid, path: path, browsed: true}
					known[key] = it
					s.items = append(s.items, it)
				case ua.NodeClassObject:
					if parent.depth < 32 {
						queue = append(queue, pending{id: nid, path: path, depth: parent.depth + 1})
					}
				}
			}
		}
	}
	return s.leaveOutUnmappable(ctx)
}

// leaveOutUnmappable drops the browsed variables whose values cannot be
// readings: arrays (ValueRank 0 or more) and variables whose DataType is,
// or derives from, a built-in type the connector does not convert
// (Structure, such as the Server object's ServerStatus, DataValue,
// DiagnosticInfo, XmlElement). Their values are not read to decide: a
// server that cannot encode one would fail the whole Read. A configured
// point keeps being read and says Bad_TypeMismatch; a browsed one is left
// out with one log line per connect, instead of becoming a point that is
// never good.
func (s *session) leaveOutUnmappable(ctx context.Context) error {
	var browsed []*item
	for _, it := range s.items {
		if it.browsed {
			browsed = append(browsed, it)
		}
	}
	attrs := []ua.AttributeID{ua.AttributeIDValueRank, ua.AttributeIDDataType}
	nodes := make([]*ua.ReadValueID, 0, len(browsed)*len(attrs))
	for _, it := range browsed {
		for _, a := range attrs {
			nodes = append(nodes, &ua.ReadValueID{NodeID: it.id, AttributeID: a})
		}
	}
	res, err := s.read(ctx, nodes, ua.TimestampsToReturnNeither)
	if err != nil {
		return fmt.Errorf("read browsed variables: %w", err)
	}
	types := make([]*ua.NodeID, len(browsed))
	for i := range browsed {
		if dv := res[i*len(attrs)+1]; dv != nil && dv.Status == ua.StatusOK && dv.Value != nil {
			switch v := dv.Value.Value().(type) {
			case *ua.NodeID:
				types[i] = v
			case *ua.ExpandedNodeID:
				if v != nil {
					types[i] = v.NodeID
				}
			}
		}
	}
	builtin, err := s.builtinTypes(ctx, types)
	if err != nil {
		return err
	}
	left := make(map[*item]bool)
	for i, it := range browsed {
		why := ""
		if dv := res[i*len(attrs)]; dv != nil && dv.Status == ua.StatusOK && dv.Value != nil {
			if r, ok := dv.Value.Value().(int32); ok && r >= 0 {
				why = fmt.Sprintf("array (ValueRank %d)", r)
			}
		}
		if why == "" && types[i] != nil {
			switch b := builtin[types[i].String()]; b {
			case id.Structure, id.DataValue, id.DiagnosticInfo, id.XMLElement:
				why = builtinTypeNames[b]
			}
		}
		if why == "" {
			continue
		}
		left[it] = true
		s.c.log.Info("browsed variable left out: its values cannot be readings", "node", it.ref, "path", it.path,
			"data_type", dataTypeName(types[i]), "reason", why)
	}
	kept := s.items[:0]
	for _, it := range s.items {
		if left[it] {
			continue
		}
		if it.state == nil {
			it.state = s.c.point(it.ref)
		}
		kept = append(kept, it)
	}
	clear(s.items[len(kept):])
	s.items = kept
	return nil
}

// builtinTypes maps each DataType of types (by node id string) to the
// built-in type (Part 6 §5.1.2, ids 1 to 29 of namespace 0) it is or
// derives from, following HasSubtype references up to 16 levels; a type
// whose chain the server does not show maps to 0.
func (s *session) builtinTypes(ctx context.Context, types []*ua.NodeID) (map[string]uint32, error) {
	out := make(map[string]uint32)
	// up[t] is the current supertype of t on its way up; the walk browses
	// every distinct supertype of a level in one request.
	up := make(map[string]*ua.NodeID)
	for _, t := range types {
		if t != nil {
			up[t.String()] = t
		}
	}
	for depth := 0; len(up) > 0; depth++ {
		pending := make(map[string]*ua.NodeID)
		for key, t := range up {
			if t.Namespace() == 0 && t.Type() != ua.NodeIDTypeString && t.IntID() >= 1 && t.IntID() <= 29 {
				out[key] = t.IntID()
				delete(up, key)
			} else if depth < 16 {
				pending[t.String()] = t
			} else {
				delete(up, key)
			}
		}
		if len(pending) == 0 {
			break
		}
		var ids []*ua.NodeID
		for _, t := range pending {
			ids = append(ids, t)
		}
		supers := make(map[string]*ua.NodeID, len(ids))
		results, err := s.browseNodes(ctx, ids, ua.BrowseDirectionInverse, id.HasSubtype, ua.NodeClassDataType)
		if err != nil {
			return nil, fmt.Errorf("browse data types: %w", err)
		}
		for i, refs := range results {
			for _, ref := range refs {
				if ref != nil && ref.NodeID != nil && ref.NodeID.NodeID != nil && ref.NodeID.ServerIndex == 0 {
					supers[ids[i].String()] = ref.NodeID.NodeID
					break
				}
			}
		}
		for key, t := range up {
			if sup, ok := supers[t.String()]; ok {
				up[key] = sup
			} else {
				delete(up, key)
			}
		}
	}
	return out, nil
}

// browseNodes browses the references of type refType (and its subtypes)
// of every node in dir, to nodes of the classes in mask, in requests of
// the server's limit; one reference list per node.
func (s *session) browseNodes(ctx context.Context, nodes []*ua.NodeID, dir ua.BrowseDirection, refType uint32, mask ua.NodeClass) ([][]*ua.ReferenceDescription, error) {
	out := make([][]*ua.ReferenceDescription, 0, len(nodes))
	for start := 0; start < len(nodes); start += s.maxBrowse {
		req := &ua.BrowseRequest{View: &ua.ViewDescription{ViewID: ua.NewTwoByteNodeID(0)}}
		for _, n := range nodes[start:min(start+s.maxBrowse, len(nodes))] {
			req.NodesToBrowse = append(req.NodesToBrowse, &ua.BrowseDescription{
				NodeID: n, BrowseDirection: dir, ReferenceTypeID: ua.NewNumericNodeID(0, refType), IncludeSubtypes: true,
				NodeClassMask: uint32(mask), ResultMask: uint32(ua.BrowseResultMaskAll),
			})
		}
		results, err := s.browseAll(ctx, req)
		if err != nil {
			return nil, err
		}
		out = append(out, results...)
	}
	return out, nil
}

// browseAll sends req and follows continuation points; one reference list
// per node browsed. A node the server cannot browse gives an empty list.
func (s *session) browseAll(ctx context.Context, req *ua.BrowseRequest) ([][]*ua.ReferenceDescription, error) {
	s.begin()
	res, err := s.cl.Browse(ctx, req)
	s.end()
	if err != nil {
		return nil, err
	}
	if len(res.Results) != len(req.NodesToBrowse) {
		return nil, fmt.Errorf("browse: %d results for %d nodes", len(res.Results), len(req.NodesToBrowse))
	}
	out := make([][]*ua.ReferenceDescription, len(res.Results))
	for i, r := range res.Results {
		if r == nil || r.StatusCode != ua.StatusOK {
			continue
		}
		out[i] = r.References
		cp := r.ContinuationPoint
		for len(cp) > 0 {
			s.begin()
			nr, err := s.cl.BrowseNext(ctx, &ua.BrowseNextRequest{ContinuationPoints: [][]byte{cp}})
			s.end()
			if err != nil || len(nr.Results) != 1 || nr.Results[0].StatusCode != ua.StatusOK {
				break
			}
			out[i] = append(out[i], nr.Results[0].References...)
			cp = nr.Results[0].ContinuationPoint
		}
	}
	return out, nil
}
