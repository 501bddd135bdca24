package nodeset

import (
	"encoding/xml"
	"fmt"
	"strconv"
	"strings"

	"github.com/otwin/otwin/scenarios/uaimport"
)

// classes maps node elements to their class.
var classes = map[string]uaimport.NodeClass{
	"UAObject":        uaimport.ClassObject,
	"UAVariable":      uaimport.ClassVariable,
	"UAMethod":        uaimport.ClassMethod,
	"UAView":          uaimport.ClassView,
	"UAObjectType":    uaimport.ClassObjectType,
	"UAVariableType":  uaimport.ClassVariableType,
	"UADataType":      uaimport.ClassDataType,
	"UAReferenceType": uaimport.ClassReferenceType,
}

// node reads one node element. A node the reader cannot take is reported
// and skipped; the file goes on.
func (p *parser) node(t xml.StartElement) error {
	el, line := t.Name.Local, p.line
	if len(p.space.Nodes) >= p.lim.MaxNodes {
		return &Error{File: p.file, Line: line, Element: el, Msg: fmt.Sprintf("more than %d nodes", p.lim.MaxNodes)}
	}
	n := &uaimport.Node{Class: classes[el], Element: el, Line: line, ValueRank: -1, AccessLevel: 1}
	n.BrowseName = browseName(attr(t, "BrowseName"))
	if len(n.BrowseName) > maxText {
		n.BrowseName = n.BrowseName[:maxText]
	}
	id, err := p.nodeID(attr(t, "NodeId"))
	if err != nil {
		p.finding(line, el, uaimport.NodeID{}, n.BrowseName, "%v: node skipped", err)
		return p.skip()
	}
	n.ID = id
	if err := p.attributes(t, n); err != nil {
		p.finding(line, el, id, n.BrowseName, "%v: node skipped", err)
		return p.skip()
	}
	if err := p.children(func(c xml.StartElement, _ int) error { return p.nodeChild(c, n) }); err != nil {
		return err
	}
	if !p.space.Add(n) {
		p.finding(line, el, id, n.BrowseName, "a second node with this id, skipped")
	}
	return nil
}

// attributes reads the attributes of a node element.
func (p *parser) attributes(t xml.StartElement, n *uaimport.Node) error {
	for _, a := range t.Attr {
		v := strings.TrimSpace(a.Value)
		switch a.Name.Local {
		case "DataType":
			id, err := p.nodeID(v)
			if err != nil {
				return fmt.Errorf("DataType: %w", err)
			}
			n.DataType = id
		case "ValueRank":
			r, err := strconv.ParseInt(v, 10, 32)
			if err != nil {
				return fmt.Errorf("ValueRank %q is not an integer", clip(v))
			}
			n.ValueRank = int(r)
		case "AccessLevel":
			l, err := strconv.ParseUint(v, 10, 8)
			if err != nil {
				return fmt.Errorf("AccessLevel %q is not a byte", clip(v))
			}
			n.AccessLevel = uint8(l)
		case "IsAbstract":
			n.Abstract = v == "true" || v == "1"
		}
	}
	return nil
}

// nodeChild reads one child element of a node.
func (p *parser) nodeChild(c xml.StartElement, n *uaimport.Node) error {
	var err error
	switch c.Name.Local {
	case "DisplayName":
		var s string
		if s, err = p.localizedText(); n.DisplayName == "" {
			n.DisplayName = s
		}
	case "Description":
		var s string
		if s, err = p.localizedText(); n.Description == "" {
			n.Description = s
		}
	case "References":
		err = p.references(n)
	case "Value":
		err = p.value(n)
	case "Definition":
		err = p.definition(n)
	default:
		err = p.skip()
	}
	return err
}

// references reads <References><Reference ReferenceType="HasComponent"
// IsForward="false">ns=1;i=5001</Reference>…</References>.
func (p *parser) references(n *uaimport.Node) error {
	return p.children(func(t xml.StartElement, line int) error {
		s, err := p.text(maxIDLen + 64)
		if err != nil || t.Name.Local != "Reference" {
			return err
		}
		if err := p.count(line, "Reference"); err != nil {
			return err
		}
		typ, err := p.nodeID(attr(t, "ReferenceType"))
		if err != nil {
			p.finding(line, "Reference", n.ID, n.BrowseName, "reference type: %v: reference skipped", err)
			return nil
		}
		target, err := p.nodeID(s)
		if err != nil {
			p.finding(line, "Reference", n.ID, n.BrowseName, "target: %v: reference skipped", err)
			return nil
		}
		fwd := strings.TrimSpace(attr(t, "IsForward"))
		n.Refs = append(n.Refs, uaimport.Ref{Type: typ, Target: target, Forward: fwd != "false" && fwd != "0"})
		return nil
	})
}

// count counts one more reference or field against the limit.
func (p *parser) count(line int, element string) error {
	if p.refs++; p.refs > p.lim.MaxReferences {
		return &Error{File: p.file, Line: line, Element: element, Msg: fmt.Sprintf("more than %d references and fields", p.lim.MaxReferences)}
	}
	return nil
}

// definition reads the fields of a data type's Definition: <Field
// Name="Running" Value="1"/>. A field without Value takes its index.
func (p *parser) definition(n *uaimport.Node) error {
	return p.children(func(t xml.StartElement, line int) error {
		if err := p.skip(); err != nil || t.Name.Local != "Field" {
			return err
		}
		if err := p.count(line, "Field"); err != nil {
			return err
		}
		f := uaimport.EnumValue{Value: int64(len(n.Fields)), Name: attr(t, "Name")}
		if v := attr(t, "Value"); v != "" {
			x, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil {
				p.finding(line, "Field", n.ID, n.BrowseName, "field %s: Value %q is not an integer: field skipped", clip(f.Name), clip(v))
				return nil
			}
			f.Value = x
		}
		n.Fields = append(n.Fields, f)
		return nil
	})
}
