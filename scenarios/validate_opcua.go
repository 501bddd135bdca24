package scenarios

import "fmt"

// opcua checks what the OPC UA exposure of the scenario needs beyond the
// ports: write access that can be granted, namespaces, and node ids judged
// per endpoint by the rule the twin's server applies (OPCUAAddressSpace).
func (v *validator) opcua() {
	s := v.s
	if s.OPCUA.AnonymousWrite && s.OPCUA.Anonymous != nil && !*s.OPCUA.Anonymous {
		v.add(v.at("opcua", "anonymous_write"), "set anonymous: true, or give a user write: true",
			"anonymous_write has no effect: anonymous: false refuses anonymous sessions")
	}
	types := TypesNamespace(s.Name)
	for i := range s.Machines {
		if o := s.Machines[i].OPCUA; o != nil && o.Namespace == types {
			v.add(v.at(fmt.Sprintf("machines[%d].opcua", i), "namespace"), "choose another namespace URI",
				"namespace %q is where the scenario's templates are served as ObjectTypes", o.Namespace)
		}
	}
	seen := make([]bool, len(s.Machines))
	for _, ep := range s.Endpoints() {
		if ep.Protocol != ProtocolOPCUA {
			continue
		}
		as := NewOPCUAAddressSpace()
		for _, name := range ep.Machines {
			i, ok := v.machines[name]
			if !ok || seen[i] {
				continue // unnamed or duplicate machines are reported already
			}
			seen[i] = true
			_, clashes := as.Add(v.opcuaMachine(i))
			for _, c := range clashes {
				v.add(v.nodeIDAt(i, c.Tag, c.Method), "give one of them another node_id, or another namespace", "%v", c.Err)
			}
		}
	}
}

// opcuaMachine is machine i as the node-id rule sees it, with the defaults
// resolve will apply.
func (v *validator) opcuaMachine(i int) OPCUAMachine {
	m := &v.s.Machines[i]
	om := OPCUAMachine{
		Name:      m.Name,
		Namespace: m.OPCUA.Namespace,
		Location:  v.machineLocation(i),
		Tags:      make([]OPCUATag, len(m.Tags)),
	}
	if om.Namespace == "" {
		om.Namespace = DefaultNamespace(v.s.Name)
	}
	for k := range m.Tags {
		t := &m.Tags[k]
		om.Tags[k] = OPCUATag{Name: t.Name, NodeID: t.NodeID, Unit: t.Unit != "", Range: t.Range != nil}
	}
	om.Methods = OPCUAMethods(m.Methods)
	return om
}

// nodeIDAt is where a node id clash of machine i is reported: the tag's
// node_id when it gives one, else the tag's name; the machine's name for
// the machine itself (tag -1); the method's name for a method.
func (v *validator) nodeIDAt(i, tag, method int) pos {
	if method >= 0 {
		return v.at(v.methodPaths[i][method], "name")
	}
	if tag < 0 {
		return v.at(fmt.Sprintf("machines[%d]", i), "name")
	}
	field := "name"
	if v.s.Machines[i].Tags[tag].NodeID != "" {
		field = "node_id"
	}
	return v.tagAt(v.origins[i][tag], field)
}
