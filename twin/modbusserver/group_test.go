package modbusserver

import (
	"reflect"
	"testing"

	"github.com/otwin/otwin/scenarios"
	"github.com/otwin/otwin/twin"
)

func TestPortGroups(t *testing.T) {
	mb := func(port int) *scenarios.MachineModbus { return &scenarios.MachineModbus{Port: port, UnitID: 1} }
	ms := []twin.MachineInfo{
		{Name: "a", Modbus: mb(5020)},
		{Name: "b", Modbus: mb(0)},
		{Name: "c"},
		{Name: "d", Modbus: mb(5020)},
		{Name: "e", Modbus: mb(0)},
		{Name: "f", Modbus: mb(5021)},
	}
	want := []Config{
		{Port: 5020, Machines: []string{"a", "d"}},
		{Port: 0, Machines: []string{"b"}},
		{Port: 0, Machines: []string{"e"}},
		{Port: 5021, Machines: []string{"f"}},
	}
	if got := PortGroups(ms); !reflect.DeepEqual(got, want) {
		t.Fatalf("PortGroups = %+v, want %+v", got, want)
	}
	if got := PortGroups(nil); got != nil {
		t.Fatalf("PortGroups(nil) = %+v", got)
	}
}
