package browse

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/gopcua/opcua/ua"

	"github.com/otwin/otwin/scenarios/uaimport"
)

// attributes reads what the mapping needs of every node, then the data
// types of the variables.
func (b *browser) attributes(ctx context.Context) error {
	var ids []uaimport.NodeID
	for _, id := range b.space.Order {
		if c := b.space.Nodes[id].Class; c == uaimport.ClassObject || c == uaimport.ClassVariable {
			ids = append(ids, id)
		}
	}
	if err := b.read(ctx, ids); err != nil {
		return err
	}
	return b.dataTypes(ctx)
}

// attrsOf lists the attributes read of a node class.
func attrsOf(c uaimport.NodeClass) []ua.AttributeID {
	switch c {
	case uaimport.ClassVariable:
		return []ua.AttributeID{ua.AttributeIDDescription, ua.AttributeIDDataType, ua.AttributeIDValueRank, ua.AttributeIDAccessLevel, ua.AttributeIDValue}
	case uaimport.ClassObjectType, uaimport.ClassDataType:
		return []ua.AttributeID{ua.AttributeIDDescription, ua.AttributeIDBrowseName, ua.AttributeIDIsAbstract}
	case uaimport.ClassReferenceType:
		return []ua.AttributeID{ua.AttributeIDBrowseName}
	}
	return []ua.AttributeID{ua.AttributeIDDescription}
}

// read reads the attributes of ids and stores them on the nodes.
func (b *browser) read(ctx context.Context, ids []uaimport.NodeID) error {
	type item struct {
		id   uaimport.NodeID
		attr ua.AttributeID
	}
	var items []item
	for _, id := range ids {
		n := b.space.Nodes[id]
		if n == nil || b.ids[id] == nil {
			continue
		}
		for _, a := range attrsOf(n.Class) {
			items = append(items, item{id, a})
		}
	}
	for start := 0; start < len(items); start += readBatch {
		batch := items[start:min(start+readBatch, len(items))]
		req := &ua.ReadRequest{TimestampsToReturn: ua.TimestampsToReturnNeither}
		for _, it := range batch {
			req.NodesToRead = append(req.NodesToRead, &ua.ReadValueID{NodeID: b.ids[it.id], AttributeID: it.attr})
		}
		dvs, err := b.readValues(ctx, req)
		if err != nil {
			return err
		}
		for i, it := range batch {
			b.store(b.space.Nodes[it.id], it.attr, dvs[i])
		}
	}
	return nil
}

// readValues sends one Read and checks the answer's length.
func (b *browser) readValues(ctx context.Context, req *ua.ReadRequest) ([]*ua.DataValue, error) {
	rctx, cancel := context.WithTimeout(ctx, b.cfg.Timeout)
	resp, err := b.cl.Read(rctx, req)
	cancel()
	if err != nil {
		return nil, fmt.Errorf("read: %w", err)
	}
	if len(resp.Results) != len(req.NodesToRead) {
		return nil, fmt.Errorf("read: %d results for %d attributes", len(resp.Results), len(req.NodesToRead))
	}
	return resp.Results, nil
}

// store sets attribute a of n from dv.
func (b *browser) store(n *uaimport.Node, a ua.AttributeID, dv *ua.DataValue) {
	if dv == nil || dv.Status != ua.StatusOK || dv.Value == nil {
		if a == ua.AttributeIDValue && dv != nil && dv.Status != ua.StatusOK {
			b.finding(n.ID, n.BrowseName, "the server refused to read its value: %v", dv.Status)
		}
		return
	}
	v := dv.Value.Value()
	switch a {
	case ua.AttributeIDDescription:
		if lt, ok := v.(*ua.LocalizedText); ok && lt != nil {
			n.Description = lt.Text
		}
	case ua.AttributeIDBrowseName:
		if qn, ok := v.(*ua.QualifiedName); ok && qn != nil && n.BrowseName == "" {
			n.BrowseName = qn.Name
		}
	case ua.AttributeIDIsAbstract:
		n.Abstract, _ = v.(bool)
	case ua.AttributeIDDataType:
		if id, ok := v.(*ua.NodeID); ok {
			if dt, ok := b.nodeID(id); ok {
				n.DataType = dt
			}
		}
	case ua.AttributeIDValueRank:
		if r, ok := v.(int32); ok {
			n.ValueRank = int(r)
		}
	case ua.AttributeIDAccessLevel:
		if l, ok := v.(uint8); ok {
			n.AccessLevel = l
		}
	case ua.AttributeIDValue:
		n.Value = value(v)
	}
}

// value converts a variant's value to the space's value types: bool,
// int64, uint64, float64, string, EUInformation, Range, []string or
// []EnumValue; nil for others.
func value(v any) any {
	switch x := v.(type) {
	case bool:
		return x
	case int8:
		return int64(x)
	case int16:
		return int64(x)
	case int32:
		return int64(x)
	case int64:
		return x
	case uint8:
		return int64(x)
	case uint16:
		return int64(x)
	case uint32:
		return int64(x)
	case uint64:
		if x <= math.MaxInt64 {
			return int64(x)
		}
		return x
	case float32:
		return float64(x)
	case float64:
		return x
	case string:
		return x
	case *ua.LocalizedText:
		if x == nil {
			return nil
		}
		return x.Text
	case *ua.ExtensionObject:
		return extension(x)
	case []*ua.LocalizedText:
		out := make([]string, len(x))
		for i, lt := range x {
			if lt != nil {
				out[i] = lt.Text
			}
		}
		return out
	case []string:
		return x
	case []*ua.ExtensionObject:
		var out []uaimport.EnumValue
		for _, eo := range x {
			if ev, ok := extension(eo).(uaimport.EnumValue); ok {
				out = append(out, ev)
			}
		}
		return out
	}
	return nil
}

// extension converts EUInformation, Range and EnumValueType; nil for
// other extension objects.
func extension(eo *ua.ExtensionObject) any {
	if eo == nil {
		return nil
	}
	text := func(lt *ua.LocalizedText) string {
		if lt == nil {
			return ""
		}
		return lt.Text
	}
	switch x := eo.Value.(type) {
	case *ua.EUInformation:
		return uaimport.EUInformation{NamespaceURI: x.NamespaceURI, UnitID: x.UnitID, DisplayName: text(x.DisplayName), Description: text(x.Description)}
	case *ua.Range:
		return uaimport.Range{Low: x.Low, High: x.High}
	case *ua.EnumValueType:
		return uaimport.EnumValue{Value: x.Value, Name: text(x.DisplayName)}
	}
	return nil
}

// sample reads the values of the variables that can become tags every
// SampleEvery for SampleFor, and stores them as the nodes' samples.
func (b *browser) sample(ctx context.Context) error {
	if b.cfg.SampleFor <= 0 {
		return nil
	}
	var vars []*uaimport.Node
	req := &ua.ReadRequest{TimestampsToReturn: ua.TimestampsToReturnNeither}
	for _, id := range b.space.Order {
		n := b.space.Nodes[id]
		if n.Class == uaimport.ClassVariable && n.ValueRank < 0 && b.underObject(n) {
			vars = append(vars, n)
			req.NodesToRead = append(req.NodesToRead, &ua.ReadValueID{NodeID: b.ids[id], AttributeID: ua.AttributeIDValue})
		}
	}
	if len(vars) == 0 {
		return nil
	}
	b.cfg.Log.Debug("sampling", "variables", len(vars), "for", b.cfg.SampleFor, "every", b.cfg.SampleEvery)
	start := time.Now()
	tick := time.NewTicker(b.cfg.SampleEvery)
	defer tick.Stop()
	for {
		at := time.Since(start)
		for lo := 0; lo < len(vars); lo += readBatch {
			sub := &ua.ReadRequest{TimestampsToReturn: req.TimestampsToReturn, NodesToRead: req.NodesToRead[lo:min(lo+readBatch, len(vars))]}
			dvs, err := b.readValues(ctx, sub)
			if err != nil {
				return fmt.Errorf("sample: %w", err)
			}
			for i, dv := range dvs {
				s := uaimport.Sample{At: at}
				if dv != nil {
					s.Status = uint32(dv.Status)
					if dv.Value != nil && dv.Status == ua.StatusOK {
						s.Value = value(dv.Value.Value())
					}
				}
				vars[lo+i].Samples = append(vars[lo+i].Samples, s)
			}
		}
		if time.Since(start) >= b.cfg.SampleFor {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// underObject reports whether variable n hangs directly below an object
// (its tags; not the properties of variables, nor declarations of types).
func (b *browser) underObject(n *uaimport.Node) bool {
	for _, r := range n.Refs {
		if r.Forward || r.Type == uaimport.HasTypeDefinition || r.Type == uaimport.HasModellingRule {
			continue
		}
		if p := b.space.Nodes[r.Target]; p != nil && p.Class == uaimport.ClassObject {
			return true
		}
	}
	return false
}
