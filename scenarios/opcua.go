package scenarios

import (
	"fmt"
	"strings"
)

// The OPC UA address space of a twin endpoint, as far as node ids go: the
// one rule that validate and the twin's OPC UA server both apply, so that a
// scenario validate accepts is one the server can serve.
//
//   - Every machine's nodes are in the machine's own namespace
//     (MachineOPCUA.Namespace); machines that share a port share one
//     address space whose NamespaceArray holds each of their namespaces.
//   - A location level in use is a folder, node id its path
//     ("acme/plant1/line1"). Machines that share a location share its
//     folder; it is in the namespace of the first machine (in scenario
//     order) placed under it.
//   - A machine is an object, node id its asset path.
//   - A tag is a variable, node id its node_id, else its asset path
//     ("acme/plant1/line1/filler1/speed"). Its EngineeringUnits and
//     EURange properties are "<tag node id>#EngineeringUnits" and
//     "<tag node id>#EURange".
//   - A method of a machine is a Method node, node id "<machine object
//     id>/<method>"; its InputArguments and OutputArguments properties are
//     "<method node id>#InputArguments" and "#OutputArguments".
//   - Two nodes may share a node id only in different namespaces.
//   - Each template is an ObjectType in the scenario's types namespace
//     (TypesNamespace), which no machine may use.

// DefaultNamespace is the namespace URI of the machines of scenario that
// give none: "urn:otwin:<scenario>".
func DefaultNamespace(scenario string) string { return "urn:otwin:" + scenario }

// TypesNamespace is the namespace URI of the ObjectTypes the twin serves
// for the templates of scenario: "urn:otwin:<scenario>:types".
func TypesNamespace(scenario string) string { return "urn:otwin:" + scenario + ":types" }

// Suffixes of the property node ids of a tag.
const (
	EngineeringUnitsSuffix = "#EngineeringUnits"
	EURangeSuffix          = "#EURange"
)

// Suffixes of the property node ids of a method.
const (
	InputArgumentsSuffix  = "#InputArguments"
	OutputArgumentsSuffix = "#OutputArguments"
)

// OPCUAMachine is a machine as the node-id rule sees it.
type OPCUAMachine struct {
	// Name of the machine.
	Name string
	// Namespace is the machine's namespace URI.
	Namespace string
	// Location is the machine's resolved location.
	Location Location
	// Tags are the machine's tags, in order.
	Tags []OPCUATag
	// Methods are the machine's methods, in order.
	Methods []OPCUAMethod
}

// OPCUAMethod is a method as the node-id rule sees it.
type OPCUAMethod struct {
	// Name of the method.
	Name string
	// Inputs and Outputs say whether the method has the InputArguments
	// and OutputArguments properties.
	Inputs, Outputs bool
}

// OPCUAMethodIDs are the node ids of a method and its properties ("" for
// a property the method does not have).
type OPCUAMethodIDs struct {
	ID, Inputs, Outputs string
}

// OPCUATag is a tag as the node-id rule sees it.
type OPCUATag struct {
	// Name of the tag.
	Name string
	// NodeID is the tag's node_id; "" for the default.
	NodeID string
	// Unit and Range say whether the tag has the EngineeringUnits and
	// EURange properties.
	Unit, Range bool
}

// OPCUAFolder is one location folder above a machine.
type OPCUAFolder struct {
	// ID is the folder's node id (its location path); Name its last level.
	ID, Name string
	// Namespace is the folder's namespace URI.
	Namespace string
	// New is set for the machine that creates the folder, the first one
	// placed under it.
	New bool
}

// OPCUATagIDs are the node ids of a tag and its properties ("" for a
// property the tag does not have).
type OPCUATagIDs struct {
	ID, Unit, Range string
}

// OPCUAMachineIDs are the node ids of a machine's nodes.
type OPCUAMachineIDs struct {
	// Folders are its location folders, top level first.
	Folders []OPCUAFolder
	// Object is the node id of the machine object.
	Object string
	// Tags are the node ids of its tags, in OPCUAMachine.Tags order.
	Tags []OPCUATagIDs
	// Methods are the node ids of its methods, in OPCUAMachine.Methods
	// order.
	Methods []OPCUAMethodIDs
}

// NodeIDClash is a node id of a machine that another node already has.
type NodeIDClash struct {
	// Tag is the index of the tag concerned, -1 for the machine itself
	// (its object or a location folder it creates) and for its methods.
	Tag int
	// Method is the index of the method concerned, -1 for any other node.
	Method int
	// Err says which node id and which node has it.
	Err error
}

// OPCUAAddressSpace judges node ids on one OPC UA endpoint. It is not safe
// for concurrent use.
type OPCUAAddressSpace struct {
	used    map[nsID]nodeUse  // node -> what it is
	folders map[string]string // location path -> namespace of its folder
}

type nsID struct{ ns, id string }

// nodeUse is what a node is, formatted only for a clash (an address space
// of 100k tags claims 100k ids).
type nodeUse struct {
	kind          byte // 'l' location, 'm' machine, 't' tag, 'u' units, 'r' range, 'f' method, 'a' arguments
	machine, name string
}

func (u nodeUse) String() string {
	switch u.kind {
	case 'l':
		return "location " + u.name
	case 'm':
		return "machine " + u.machine
	case 't':
		return "tag " + u.machine + "/" + u.name
	case 'u':
		return "the engineering units of tag " + u.machine + "/" + u.name
	case 'f':
		return "method " + u.machine + "/" + u.name
	case 'a':
		return "the arguments of method " + u.machine + "/" + u.name
	}
	return "the range of tag " + u.machine + "/" + u.name
}

// NewOPCUAAddressSpace returns an empty address space.
func NewOPCUAAddressSpace() *OPCUAAddressSpace {
	return &OPCUAAddressSpace{used: map[nsID]nodeUse{}, folders: map[string]string{}}
}

func (a *OPCUAAddressSpace) claim(ns, id string, u nodeUse) error {
	k := nsID{ns, id}
	if prev, ok := a.used[k]; ok {
		return fmt.Errorf("node id %q of %s is already used by %s in namespace %s", id, u, prev, ns)
	}
	a.used[k] = u
	return nil
}

// Add places machine m in the address space and returns the node ids of
// its nodes, with one clash per node id that another node of the same
// namespace already has.
func (a *OPCUAAddressSpace) Add(m OPCUAMachine) (OPCUAMachineIDs, []NodeIDClash) {
	var out OPCUAMachineIDs
	var clashes []NodeIDClash
	segs := m.Location.Segments()
	for k := range segs {
		path := strings.Join(segs[:k+1], "/")
		f := OPCUAFolder{ID: path, Name: segs[k], Namespace: a.folders[path]}
		if f.Namespace == "" {
			f.Namespace, f.New = m.Namespace, true
			a.folders[path] = m.Namespace
			if err := a.claim(m.Namespace, path, nodeUse{kind: 'l', name: path}); err != nil {
				clashes = append(clashes, NodeIDClash{Tag: -1, Method: -1, Err: fmt.Errorf("machine %s: %w", m.Name, err)})
			}
		}
		out.Folders = append(out.Folders, f)
	}
	out.Object = strings.Join(append(segs, m.Name), "/")
	if err := a.claim(m.Namespace, out.Object, nodeUse{kind: 'm', machine: m.Name}); err != nil {
		clashes = append(clashes, NodeIDClash{Tag: -1, Method: -1, Err: err})
	}
	out.Tags = make([]OPCUATagIDs, len(m.Tags))
	for i, t := range m.Tags {
		ids := OPCUATagIDs{ID: t.NodeID}
		if ids.ID == "" {
			ids.ID = out.Object + "/" + t.Name
		}
		if err := a.claim(m.Namespace, ids.ID, nodeUse{kind: 't', machine: m.Name, name: t.Name}); err != nil {
			clashes = append(clashes, NodeIDClash{Tag: i, Method: -1, Err: err})
		}
		if t.Unit {
			ids.Unit = ids.ID + EngineeringUnitsSuffix
			if err := a.claim(m.Namespace, ids.Unit, nodeUse{kind: 'u', machine: m.Name, name: t.Name}); err != nil {
				clashes = append(clashes, NodeIDClash{Tag: i, Method: -1, Err: err})
			}
		}
		if t.Range {
			ids.Range = ids.ID + EURangeSuffix
			if err := a.claim(m.Namespace, ids.Range, nodeUse{kind: 'r', machine: m.Name, name: t.Name}); err != nil {
				clashes = append(clashes, NodeIDClash{Tag: i, Method: -1, Err: err})
			}
		}
		out.Tags[i] = ids
	}
	if len(m.Methods) > 0 {
		out.Methods = make([]OPCUAMethodIDs, len(m.Methods))
	}
	for i, f := range m.Methods {
		ids := OPCUAMethodIDs{ID: out.Object + "/" + f.Name}
		claims := []struct {
			id   *string
			want bool
			sfx  string
			kind byte
		}{{&ids.ID, true, "", 'f'}, {&ids.Inputs, f.Inputs, InputArgumentsSuffix, 'a'}, {&ids.Outputs, f.Outputs, OutputArgumentsSuffix, 'a'}}
		for _, c := range claims {
			if !c.want {
				continue
			}
			*c.id = ids.ID + c.sfx
			if err := a.claim(m.Namespace, *c.id, nodeUse{kind: c.kind, machine: m.Name, name: f.Name}); err != nil {
				clashes = append(clashes, NodeIDClash{Tag: -1, Method: i, Err: err})
			}
		}
		out.Methods[i] = ids
	}
	return out, clashes
}
