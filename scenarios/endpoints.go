package scenarios

import "strconv"

// Endpoint is one server of a scenario: the machines one protocol serves
// on one port.
type Endpoint struct {
	// Protocol is ProtocolOPCUA or ProtocolModbus.
	Protocol string
	// Port is the scenario's port; 0 picks a free port when the twin
	// starts.
	Port int
	// Machines are the names of the machines served, in scenario order.
	Machines []string
}

// Endpoints groups the machines of s into servers, the one rule the twin,
// its servers and validate follow: machines that give one protocol the
// same non-zero port share one server (an OPC UA address space, a Modbus
// gateway of unit ids); every exposure on port 0 is a server of its own.
// Endpoints come in the order of their first machine, OPC UA before Modbus
// for one machine. It is a pure function of s.
func (s *Scenario) Endpoints() []Endpoint {
	var out []Endpoint
	at := map[string]int{} // protocol:port -> index in out
	add := func(proto string, port int, machine string) {
		key := proto + ":" + strconv.Itoa(port)
		if i, ok := at[key]; ok && port != 0 {
			out[i].Machines = append(out[i].Machines, machine)
			return
		}
		at[key] = len(out)
		out = append(out, Endpoint{Protocol: proto, Port: port, Machines: []string{machine}})
	}
	for i := range s.Machines {
		m := &s.Machines[i]
		if m.OPCUA != nil {
			add(ProtocolOPCUA, m.OPCUA.Port, m.Name)
		}
		if m.Modbus != nil {
			add(ProtocolModbus, m.Modbus.Port, m.Name)
		}
	}
	return out
}
