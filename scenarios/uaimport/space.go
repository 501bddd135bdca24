// Package uaimport turns an OPC UA address space into an otwin scenario:
// objects become machines placed in an ISA-95 location guessed from the
// folders above them, variables become tags with their data type, unit,
// range and original node id, ObjectTypes become templates, and
// enumerations become state machines. What cannot be carried over is
// listed in a report, each entry naming the node, the XML line when the
// space was read from a file, and why.
//
// The address space (Space) comes from a NodeSet2 XML file (package
// uaimport/nodeset) or from a live server, browsed and sampled (package
// uaimport/browse); Map reads either the same way, and Write renders the
// result as a commented scenario file that passes `otwin validate`.
//
// The mapping follows what the twin's OPC UA server serves (see
// scenarios/README.md, "OPC UA exposure"), so that importing a twin gives
// back a scenario whose twin serves the same address space: the same
// node ids in the same namespaces, data types, units, ranges and type
// definitions.
//
// This package belongs to the simulator half: it imports scenarios and
// the leaf packages, never connectors/ or normalize/.
package uaimport

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// UANamespace is the URI of OPC UA's own namespace (index 0).
const UANamespace = "http://opcfoundation.org/UA/"

// NodeID is a node id independent of namespace indexes: the namespace
// URI and the identifier with its type prefix ("i=85", "s=line1/temp",
// "g=…", "b=…"). It is comparable and used as a map key.
type NodeID struct {
	// NS is the namespace URI.
	NS string
	// ID is the identifier with its type prefix, e.g. "s=filler1/speed".
	ID string
}

// UA returns the node id i=n in OPC UA's namespace.
func UA(n uint32) NodeID { return NodeID{NS: UANamespace, ID: fmt.Sprintf("i=%d", n)} }

// IsZero reports whether id is the zero NodeID (no node).
func (id NodeID) IsZero() bool { return id == NodeID{} }

// String formats id as "nsu=<uri>;<id>", the form the sources file
// persists; OPC UA's own nodes are written "i=85".
func (id NodeID) String() string {
	if id.NS == UANamespace {
		return id.ID
	}
	return "nsu=" + id.NS + ";" + id.ID
}

// StringID returns the string identifier of id (the part after "s=") and
// true, or false when id is numeric, a GUID or opaque.
func (id NodeID) StringID() (string, bool) {
	return strings.CutPrefix(id.ID, "s=")
}

// NodeClass is the class of a node.
type NodeClass uint8

// The node classes the importer reads. Views, reference types and methods
// are read only to be reported.
const (
	ClassUnknown NodeClass = iota
	ClassObject
	ClassVariable
	ClassMethod
	ClassObjectType
	ClassVariableType
	ClassReferenceType
	ClassDataType
	ClassView
)

var classNames = [...]string{"Unknown", "Object", "Variable", "Method", "ObjectType", "VariableType", "ReferenceType", "DataType", "View"}

// String returns the class's OPC UA name ("Object").
func (c NodeClass) String() string {
	if int(c) < len(classNames) {
		return classNames[c]
	}
	return "Unknown"
}

// Node is one node of an address space: the attributes the mapping reads
// and the node's references. Zero attributes mean "not given"; Map
// applies OPC UA's defaults (ValueRank -1, AccessLevel CurrentRead).
type Node struct {
	// ID is the node's id.
	ID NodeID
	// Class is the node class.
	Class NodeClass
	// BrowseName is the name part of the browse name.
	BrowseName string
	// DisplayName is the display name's text.
	DisplayName string
	// Description is the description's text.
	Description string
	// DataType is the data type of a variable or variable type.
	DataType NodeID
	// ValueRank of a variable: -1 scalar, -2 any, -3 scalar or one
	// dimension, 0 one or more dimensions, n >= 1 n dimensions.
	ValueRank int
	// AccessLevel is the variable's access level bits (1 CurrentRead, 2
	// CurrentWrite).
	AccessLevel uint8
	// Value is the variable's value: bool, int64, uint64, float64,
	// string, EUInformation, Range, []string (a list of localized texts)
	// or []EnumValue; nil when none was given or it could not be read.
	Value any
	// Abstract marks an abstract type.
	Abstract bool
	// Fields are the values of an enumeration data type's definition.
	Fields []EnumValue
	// Refs are the node's references as its source lists them.
	Refs []Ref
	// Samples are the values a live server gave while it was sampled,
	// oldest first.
	Samples []Sample
	// Element and Line say where a node read from a file was written:
	// the XML element ("UAVariable") and its 1-based line; Line is 0 for
	// a node browsed on a server.
	Element string
	Line    int
}

// Ref is a reference of a node to Target.
type Ref struct {
	// Type is the reference type, e.g. UA(47) HasComponent.
	Type NodeID
	// Target is the node referred to.
	Target NodeID
	// Forward is false for an inverse reference (Target → this node).
	Forward bool
}

// EUInformation is the value of an EngineeringUnits property.
type EUInformation struct {
	// NamespaceURI says which table UnitID is from.
	NamespaceURI string
	// UnitID is the packed UNECE code (or -1 for none).
	UnitID int32
	// DisplayName is the unit's symbol, e.g. "°C".
	DisplayName string
	// Description is the unit's full name.
	Description string
}

// Range is the value of an EURange property.
type Range struct {
	Low, High float64
}

// EnumValue is one value of an enumeration: a field of its definition or
// an entry of an EnumValues property.
type EnumValue struct {
	// Value is the integer value.
	Value int64
	// Name is the field's name or the entry's display name.
	Name string
}

// Sample is one value a live server gave for a variable.
type Sample struct {
	// At is the time since sampling started.
	At time.Duration
	// Value is the value (bool, int64, uint64, float64 or string), nil
	// when the status was not Good.
	Value any
	// Status is the OPC UA status code.
	Status uint32
}

// Space is an address space to import: its nodes, by id, in the order the
// source gave them.
type Space struct {
	// Source names where the space was read: a file path or a server URL.
	Source string
	// Namespaces are the namespace URIs the source declared, index 0 being
	// OPC UA's.
	Namespaces []string
	// Nodes are the nodes by id.
	Nodes map[NodeID]*Node
	// Order lists the node ids in source order.
	Order []NodeID
	// Root is the node whose descendants are imported; zero means the
	// Objects folder (i=85).
	Root NodeID
	// Findings are what the source could not read (elements of a file,
	// nodes a server refused), reported with the mapping's own.
	Findings []Finding
}

// NewSpace returns an empty space read from source.
func NewSpace(source string) *Space {
	return &Space{Source: source, Nodes: map[NodeID]*Node{}}
}

// Add adds n to the space; it reports false, leaving the space unchanged,
// when a node with n's id is already there.
func (s *Space) Add(n *Node) bool {
	if _, dup := s.Nodes[n.ID]; dup {
		return false
	}
	s.Nodes[n.ID] = n
	s.Order = append(s.Order, n.ID)
	return true
}

// Well-known nodes of OPC UA's namespace (OPC UA Part 3, 5 and 8).
var (
	ObjectsFolder = UA(85)

	HierarchicalReferences = UA(33)
	HasChild               = UA(34)
	Organizes              = UA(35)
	HasModellingRule       = UA(37)
	HasTypeDefinition      = UA(40)
	Aggregates             = UA(44)
	HasSubtype             = UA(45)
	HasProperty            = UA(46)
	HasComponent           = UA(47)
	HasOrderedComponent    = UA(49)

	BaseObjectType                    = UA(58)
	FolderType                        = UA(61)
	BaseDataVariableType              = UA(63)
	PropertyType                      = UA(68)
	DataItemType                      = UA(2365)
	AnalogItemType                    = UA(2368)
	TwoStateDiscreteType              = UA(2373)
	MultiStateDiscreteType            = UA(2376)
	MultiStateValueDiscreteType       = UA(11238)
	BaseAnalogType                    = UA(15318)
	ModellingRuleMandatory            = UA(78)
	ModellingRuleOptional             = UA(80)
	ModellingRuleOptionalPlaceholder  = UA(11508)
	ModellingRuleMandatoryPlaceholder = UA(11510)
)

// ParseNodeID reads a node id written "nsu=<namespace uri>;<id>",
// "ns=<index>;<id>" (an index into namespaces) or "<id>" (OPC UA's
// namespace), where <id> is i=, s=, g= or b= followed by the identifier.
func ParseNodeID(s string, namespaces []string) (NodeID, error) {
	ns, rest := UANamespace, s
	switch {
	case strings.HasPrefix(s, "nsu="):
		uri, r, ok := strings.Cut(s[4:], ";")
		if !ok || uri == "" {
			return NodeID{}, fmt.Errorf("node id %q: want nsu=<namespace uri>;<id>", s)
		}
		ns, rest = uri, r
	case strings.HasPrefix(s, "ns="):
		idx, r, ok := strings.Cut(s[3:], ";")
		i, err := strconv.Atoi(idx)
		if !ok || err != nil || i < 0 {
			return NodeID{}, fmt.Errorf("node id %q: want ns=<index>;<id>", s)
		}
		if i >= len(namespaces) {
			return NodeID{}, fmt.Errorf("node id %q: namespace index %d, but there are %d namespaces", s, i, len(namespaces))
		}
		ns, rest = namespaces[i], r
	}
	if len(rest) < 3 || rest[1] != '=' || !strings.ContainsRune("isgb", rune(rest[0])) {
		return NodeID{}, fmt.Errorf("node id %q: want i=, s=, g= or b= and the identifier", s)
	}
	if rest[0] == 'i' {
		if _, err := strconv.ParseUint(rest[2:], 10, 32); err != nil {
			return NodeID{}, fmt.Errorf("node id %q: %q is not a number", s, rest[2:])
		}
	}
	return NodeID{NS: ns, ID: rest}, nil
}
