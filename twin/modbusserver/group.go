package modbusserver

import (
	"github.com/otwin/otwin/twin"
)

// PortGroups returns one Config per Modbus port of machines, in machine
// order: machines giving the same non-zero port share one Config (gateway
// style, each under its own unit id); every machine with port 0 gets a
// Config of its own on a free port. Machines without a Modbus exposure are
// left out. Only Port and Machines are set; fill in the rest before New.
// It is a pure function, safe for concurrent use.
func PortGroups(machines []twin.MachineInfo) []Config {
	var out []Config
	at := map[int]int{} // port → index in out
	for _, m := range machines {
		if m.Modbus == nil {
			continue
		}
		p := m.Modbus.Port
		if i, ok := at[p]; ok && p != 0 {
			out[i].Machines = append(out[i].Machines, m.Name)
			continue
		}
		at[p] = len(out)
		out = append(out, Config{Port: p, Machines: []string{m.Name}})
	}
	return out
}
