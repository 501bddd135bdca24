package uaimport

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/otwin/otwin/scenarios"
)

// uaType is one of OPC UA's own data types as a tag sees it: the tag type
// that serves it, or why none does.
type uaType struct {
	name string
	// typ is the tag type; "" when no tag type holds the values.
	typ scenarios.DataType
	// why says why typ is "" (dropped) or why the twin serves another
	// data type than the original (changed); "" when the twin serves
	// exactly this type.
	why string
	// enum marks Enumeration, whose subtypes are enumerations.
	enum bool
}

// uaTypes are OPC UA's data types by numeric id (Part 3 §8, Part 5 §12,
// Part 6 §5.1.2): the builtin types, the abstract ones and the common
// simple subtypes.
var uaTypes = map[uint32]uaType{
	1:  {name: "Boolean", typ: scenarios.Bool},
	2:  {name: "SByte", typ: scenarios.Int16, why: "SByte is served as Int16"},
	3:  {name: "Byte", typ: scenarios.Uint16, why: "Byte is served as UInt16"},
	4:  {name: "Int16", typ: scenarios.Int16},
	5:  {name: "UInt16", typ: scenarios.Uint16},
	6:  {name: "Int32", typ: scenarios.Int32},
	7:  {name: "UInt32", typ: scenarios.Uint32},
	8:  {name: "Int64", typ: scenarios.Int64},
	9:  {name: "UInt64", typ: scenarios.Uint64},
	10: {name: "Float", typ: scenarios.Float32},
	11: {name: "Double", typ: scenarios.Float64},
	12: {name: "String", typ: scenarios.String},
	13: {name: "DateTime", why: "tags have no date type"},
	14: {name: "Guid", why: "tags have no GUID type"},
	15: {name: "ByteString", why: "tags have no byte string type"},
	16: {name: "XmlElement", why: "tags have no XML type"},
	17: {name: "NodeId", why: "tags have no node id type"},
	18: {name: "ExpandedNodeId", why: "tags have no node id type"},
	19: {name: "StatusCode", why: "tags have no status code type"},
	20: {name: "QualifiedName", why: "tags have no qualified name type"},
	21: {name: "LocalizedText", typ: scenarios.String, why: "LocalizedText is served as String (the text, without locale)"},
	22: {name: "Structure", why: "structures are not imported"},
	23: {name: "DataValue", why: "tags have no data value type"},
	24: {name: "BaseDataType", why: "a variable of any type (BaseDataType) has no fixed tag type"},
	25: {name: "DiagnosticInfo", why: "tags have no diagnostic info type"},
	26: {name: "Number", typ: scenarios.Float64, why: "the abstract Number is served as Double"},
	27: {name: "Integer", typ: scenarios.Int64, why: "the abstract Integer is served as Int64"},
	28: {name: "UInteger", typ: scenarios.Uint64, why: "the abstract UInteger is served as UInt64"},
	29: {name: "Enumeration", typ: scenarios.Int32, enum: true},
	50: {name: "Decimal", why: "tags have no decimal type"},
	// Common subtypes of the builtin types.
	288:   {name: "IntegerId", typ: scenarios.Uint32, why: "IntegerId is served as UInt32"},
	289:   {name: "Counter", typ: scenarios.Uint32, why: "Counter is served as UInt32"},
	290:   {name: "Duration", typ: scenarios.Float64, why: "Duration is served as Double"},
	291:   {name: "NumericRange", typ: scenarios.String, why: "NumericRange is served as String"},
	292:   {name: "Time", typ: scenarios.String, why: "Time is served as String"},
	293:   {name: "Date", why: "tags have no date type"},
	294:   {name: "UtcTime", why: "tags have no date type"},
	295:   {name: "LocaleId", typ: scenarios.String, why: "LocaleId is served as String"},
	11737: {name: "BitFieldMaskDataType", typ: scenarios.Uint64, why: "BitFieldMaskDataType is served as UInt64"},
	12877: {name: "NormalizedString", typ: scenarios.String, why: "NormalizedString is served as String"},
	12878: {name: "DecimalString", typ: scenarios.String, why: "DecimalString is served as String"},
	12879: {name: "DurationString", typ: scenarios.String, why: "DurationString is served as String"},
	12880: {name: "TimeString", typ: scenarios.String, why: "TimeString is served as String"},
	12881: {name: "DateString", typ: scenarios.String, why: "DateString is served as String"},
}

// servedTypeName is the OPC UA name of the data type the twin serves for
// a tag type.
func servedTypeName(t scenarios.DataType) string {
	for _, u := range uaTypes {
		if u.typ == t && u.why == "" && !u.enum {
			return u.name
		}
	}
	return string(t)
}

// typeInfo is what a variable's data type becomes.
type typeInfo struct {
	// typ is the tag type, "" when the variable cannot be a tag (why
	// says why).
	typ scenarios.DataType
	// why: see uaType.why.
	why string
	// enum marks an enumeration; states are its values when known.
	enum   bool
	states []EnumValue
}

// maxTypeDepth bounds the supertype chains followed (a cycle of HasSubtype
// references in a hostile file ends there).
const maxTypeDepth = 32

// dataType resolves the data type id of a variable: OPC UA's own types
// directly, types of the space through their supertypes, with their
// enumeration values.
func (m *mapper) dataType(id NodeID) typeInfo {
	if id.IsZero() {
		id = UA(24) // the NodeSet default: BaseDataType
	}
	var chain []string
	var states []EnumValue
	cur := id
	for range maxTypeDepth {
		if u, ok := m.uaType(cur); ok {
			ti := typeInfo{typ: u.typ, why: u.why, enum: u.enum}
			if len(chain) > 0 {
				switch {
				case u.enum:
					ti.why = fmt.Sprintf("enumeration %s is served as Int32, its values as the states of a state machine", chain[0])
				case u.typ != "":
					ti.why = fmt.Sprintf("%s (a subtype of %s) is served as %s", chain[0], u.name, servedTypeName(u.typ))
				default:
					ti.why = fmt.Sprintf("%s is a subtype of %s: %s", chain[0], u.name, u.why)
				}
			}
			ti.states = states
			return ti
		}
		n := m.s.Nodes[cur]
		if n == nil || n.Class != ClassDataType {
			if len(chain) == 0 {
				return typeInfo{why: fmt.Sprintf("unknown data type %s (not defined in %s)", cur, m.s.Source)}
			}
			return typeInfo{why: fmt.Sprintf("data type %s is a subtype of %s, which is not defined in %s", chain[0], cur, m.s.Source)}
		}
		chain = append(chain, typeName(n))
		if states == nil {
			states = m.enumStates(n)
		}
		sup, ok := m.super[cur]
		if !ok {
			return typeInfo{why: fmt.Sprintf("data type %s has no supertype", chain[0])}
		}
		cur = sup
	}
	return typeInfo{why: fmt.Sprintf("data type %s: supertypes nested deeper than %d", id, maxTypeDepth)}
}

// uaType returns OPC UA's data type id, when id is one this table knows.
func (m *mapper) uaType(id NodeID) (uaType, bool) {
	if id.NS != UANamespace {
		return uaType{}, false
	}
	s, ok := strings.CutPrefix(id.ID, "i=")
	if !ok {
		return uaType{}, false
	}
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return uaType{}, false
	}
	u, ok := uaTypes[uint32(n)]
	return u, ok
}

// typeName names a type node for messages: its browse name, else its id.
func typeName(n *Node) string {
	if n.BrowseName != "" {
		return n.BrowseName
	}
	return n.ID.String()
}

// enumStates returns the values of enumeration data type n: its
// definition's fields, else its EnumValues or EnumStrings property; nil
// when it has none of them.
func (m *mapper) enumStates(n *Node) []EnumValue {
	if len(n.Fields) > 0 {
		return n.Fields
	}
	return m.enumProperty(n)
}

// enumProperty returns the values of n's EnumValues property, else of its
// EnumStrings property (values 0, 1, …); nil when it has neither.
func (m *mapper) enumProperty(n *Node) []EnumValue {
	if p := m.property(n, "EnumValues"); p != nil {
		if vs, ok := p.Value.([]EnumValue); ok && len(vs) > 0 {
			return vs
		}
	}
	if p := m.property(n, "EnumStrings"); p != nil {
		if ss, ok := p.Value.([]string); ok && len(ss) > 0 {
			vs := make([]EnumValue, len(ss))
			for i, s := range ss {
				vs[i] = EnumValue{Value: int64(i), Name: s}
			}
			return vs
		}
	}
	return nil
}
