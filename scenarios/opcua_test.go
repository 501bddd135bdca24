package scenarios

import (
	"reflect"
	"strings"
	"testing"
)

func TestEndpoints(t *testing.T) {
	op := func(port int) *MachineOPCUA { return &MachineOPCUA{Port: port} }
	mb := func(port int) *MachineModbus { return &MachineModbus{Port: port} }
	s := &Scenario{Machines: []Machine{
		{Name: "a", OPCUA: op(4840), Modbus: mb(502)},
		{Name: "b", OPCUA: op(0)},
		{Name: "c", OPCUA: op(4840), Modbus: mb(502)},
		{Name: "d"},
		{Name: "e", OPCUA: op(0), Modbus: mb(0)},
		{Name: "f", Modbus: mb(0)},
		{Name: "g", OPCUA: op(4841)},
	}}
	want := []Endpoint{
		{ProtocolOPCUA, 4840, []string{"a", "c"}},
		{ProtocolModbus, 502, []string{"a", "c"}},
		{ProtocolOPCUA, 0, []string{"b"}},
		{ProtocolOPCUA, 0, []string{"e"}},
		{ProtocolModbus, 0, []string{"e"}},
		{ProtocolModbus, 0, []string{"f"}},
		{ProtocolOPCUA, 4841, []string{"g"}},
	}
	if got := s.Endpoints(); !reflect.DeepEqual(got, want) {
		t.Fatalf("Endpoints() =\n%+v\nwant\n%+v", got, want)
	}
	if got := (&Scenario{}).Endpoints(); got != nil {
		t.Errorf("no machines: %+v", got)
	}
}

func TestOPCUAAddressSpace(t *testing.T) {
	loc := Location{Site: "plant", Line: "l1"}
	a := NewOPCUAAddressSpace()
	ids, clashes := a.Add(OPCUAMachine{Name: "kettle", Namespace: "urn:x:kettle", Location: loc, Tags: []OPCUATag{
		{Name: "temp", Unit: true, Range: true},
		{Name: "level", NodeID: "lvl"},
	}})
	if len(clashes) != 0 {
		t.Fatalf("clashes %v", clashes)
	}
	want := OPCUAMachineIDs{
		Folders: []OPCUAFolder{{ID: "plant", Name: "plant", Namespace: "urn:x:kettle", New: true}, {ID: "plant/l1", Name: "l1", Namespace: "urn:x:kettle", New: true}},
		Object:  "plant/l1/kettle",
		Tags: []OPCUATagIDs{
			{ID: "plant/l1/kettle/temp", Unit: "plant/l1/kettle/temp#EngineeringUnits", Range: "plant/l1/kettle/temp#EURange"},
			{ID: "lvl"},
		},
	}
	if !reflect.DeepEqual(ids, want) {
		t.Fatalf("ids =\n%+v\nwant\n%+v", ids, want)
	}
	// Another namespace on the same endpoint: the same node ids are other
	// nodes; the folders are shared and stay in the first namespace.
	ids, clashes = a.Add(OPCUAMachine{Name: "mash", Namespace: "urn:x:brewhouse", Location: loc, Tags: []OPCUATag{{Name: "t", NodeID: "lvl"}, {Name: "u", NodeID: "plant/l1"}}})
	if len(clashes) != 0 {
		t.Fatalf("clashes across namespaces: %v", clashes)
	}
	if f := ids.Folders[1]; f.New || f.Namespace != "urn:x:kettle" {
		t.Errorf("shared folder %+v", f)
	}
	// The same namespace: every reuse is a clash, named.
	_, clashes = a.Add(OPCUAMachine{Name: "kettle2", Namespace: "urn:x:kettle", Location: loc, Tags: []OPCUATag{
		{Name: "a", NodeID: "lvl"},
		{Name: "b", NodeID: "plant/l1/kettle"},
		{Name: "c", NodeID: "plant/l1/kettle/temp#EURange"},
		{Name: "d", NodeID: "plant/l1"},
	}})
	var got []string
	for _, c := range clashes {
		got = append(got, c.Err.Error())
		if c.Tag < 0 {
			t.Errorf("machine-level clash %v", c.Err)
		}
	}
	for i, w := range []string{"tag kettle/level", "machine kettle", "the range of tag kettle/temp", "location plant/l1"} {
		if i >= len(got) || !strings.Contains(got[i], "already used by "+w) {
			t.Errorf("clash %d = %v, want one naming %s", i, got, w)
		}
	}
}
