package nodeset

import (
	"encoding/xml"
	"math"
	"strconv"
	"strings"

	"github.com/otwin/otwin/scenarios/uaimport"
)

// elem is a parsed element of a Value: its local name, text and children.
type elem struct {
	name string
	text string
	kids []*elem
}

// child returns the first child named name, nil when none.
func (e *elem) child(name string) *elem {
	if e == nil {
		return nil
	}
	for _, k := range e.kids {
		if k.name == name {
			return k
		}
	}
	return nil
}

// str returns the trimmed text of e ("" for nil).
func (e *elem) str() string {
	if e == nil {
		return ""
	}
	return strings.TrimSpace(e.text)
}

// localized returns the text of a LocalizedText element (its Text child,
// or its own text).
func (e *elem) localized() string {
	if t := e.child("Text"); t != nil {
		return t.str()
	}
	return e.str()
}

// value reads the Value element of a variable. A value larger than
// MaxValue is not kept (reported); the file goes on.
func (p *parser) value(n *uaimport.Node) error {
	line := p.line
	budget := p.lim.MaxValue
	root, err := p.tree("Value", &budget)
	if err != nil {
		return err
	}
	if budget < 0 {
		p.finding(line, "Value", n.ID, n.BrowseName, "a value larger than %d bytes is not read", p.lim.MaxValue)
		return nil
	}
	if len(root.kids) > 0 {
		n.Value = decode(root.kids[0])
	}
	return nil
}

// tree reads the element just started (named name) into an elem; once
// the budget of bytes is spent it reads on without keeping anything and
// leaves the budget negative.
func (p *parser) tree(name string, budget *int) (*elem, error) {
	e := &elem{name: name}
	var text strings.Builder
	for {
		tok, err := p.next()
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.CharData:
			if *budget -= len(t); *budget >= 0 {
				text.Write(t)
			}
		case xml.StartElement:
			*budget -= len(t.Name.Local) + 16
			k, err := p.tree(t.Name.Local, budget)
			if err != nil {
				return nil, err
			}
			if *budget >= 0 {
				e.kids = append(e.kids, k)
			}
		case xml.EndElement:
			e.text = text.String()
			return e, nil
		}
	}
}

// decode returns the Go value of a value element (the child of Value):
// bool, int64, uint64, float64, string, EUInformation, Range, []string
// (ListOfLocalizedText, ListOfString) or []EnumValue (EnumValueType
// extension objects); nil for types it does not read.
func decode(e *elem) any {
	switch e.name {
	case "Boolean":
		switch e.str() {
		case "true", "1":
			return true
		case "false", "0":
			return false
		}
	case "SByte", "Int16", "Int32", "Int64":
		if v, err := strconv.ParseInt(e.str(), 10, 64); err == nil {
			return v
		}
	case "Byte", "UInt16", "UInt32", "UInt64":
		if v, err := strconv.ParseUint(e.str(), 10, 64); err == nil {
			if v <= math.MaxInt64 {
				return int64(v)
			}
			return v
		}
	case "Float", "Double":
		return xsdFloat(e.str())
	case "String":
		return e.text
	case "LocalizedText":
		return e.localized()
	case "ListOfLocalizedText", "ListOfString":
		var out []string
		for _, k := range e.kids {
			if k.name == "LocalizedText" {
				out = append(out, k.localized())
			} else {
				out = append(out, k.text)
			}
		}
		return out
	case "ExtensionObject":
		return extension(e)
	case "ListOfExtensionObject":
		var out []uaimport.EnumValue
		for _, k := range e.kids {
			if ev, ok := extension(k).(uaimport.EnumValue); ok {
				out = append(out, ev)
			}
		}
		if out != nil {
			return out
		}
	}
	return nil
}

// xsdFloat parses an XML Schema float (INF, -INF and NaN included); nil
// when s is none.
func xsdFloat(s string) any {
	switch s {
	case "INF":
		return math.Inf(1)
	case "-INF":
		return math.Inf(-1)
	case "NaN":
		return math.NaN()
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return nil
	}
	return f
}

// extension decodes the body of an ExtensionObject: EUInformation, Range
// and EnumValueType; nil for other bodies.
func extension(e *elem) any {
	body := e.child("Body")
	if body == nil || len(body.kids) == 0 {
		return nil
	}
	b := body.kids[0]
	switch b.name {
	case "EUInformation":
		eu := uaimport.EUInformation{
			NamespaceURI: b.child("NamespaceUri").str(),
			UnitID:       -1,
			DisplayName:  b.child("DisplayName").localized(),
			Description:  b.child("Description").localized(),
		}
		if id, err := strconv.ParseInt(b.child("UnitId").str(), 10, 32); err == nil {
			eu.UnitID = int32(id)
		}
		return eu
	case "Range":
		lo, okL := xsdFloat(b.child("Low").str()).(float64)
		hi, okH := xsdFloat(b.child("High").str()).(float64)
		if okL && okH {
			return uaimport.Range{Low: lo, High: hi}
		}
	case "EnumValueType":
		v, err := strconv.ParseInt(b.child("Value").str(), 10, 64)
		if err == nil {
			return uaimport.EnumValue{Value: v, Name: b.child("DisplayName").localized()}
		}
	}
	return nil
}
