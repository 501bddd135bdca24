package twin

import (
	"strings"

	"github.com/otwin/otwin/scenarios"
)

// FaultProtocols lists the protocols on which a client sees fault f, in
// the order opcua, modbus; empty when no client can see it (a quality
// fault on a tag served over Modbus alone, or an unknown target):
//
//   - a value fault (stuck, drift, noise, spike, out_of_range) shows on
//     every protocol that serves the tag: OPC UA when its machine is
//     served over OPC UA, Modbus when it is and the tag has a register;
//   - a quality fault (bad_quality, uncertain_quality) and clock_skew
//     show over OPC UA only: Modbus carries neither status nor timestamps
//     (a bad value is served as is);
//   - a transport fault (comm_loss, latency, disconnect) hits the
//     protocol it names, else every protocol of its machine;
//   - modbus_exception hits Modbus.
//
// It does not validate f. Safe for concurrent use (the tag and machine
// tables are static).
func (e *Engine) FaultProtocols(f scenarios.Fault) []string {
	mi, ti := -1, -1
	if strings.Contains(f.Target, "/") {
		i, ok := e.lookup[f.Target]
		if !ok {
			return nil
		}
		ti, mi = i, e.machineIdx[e.tags[i].Machine]
	} else if i, ok := e.machineIdx[f.Target]; ok {
		mi = i
	} else {
		return nil
	}
	m := &e.machines[mi]
	// Whether the target is served over each protocol.
	ua := m.OPCUA != nil
	mb := m.Modbus != nil
	if ti >= 0 {
		mb = mb && e.tags[ti].Modbus != nil
	}
	switch f.Kind {
	case scenarios.BadQuality, scenarios.UncertainQuality, scenarios.ClockSkew:
		mb = false
	case scenarios.ModbusException:
		ua = false
	case scenarios.CommLoss, scenarios.Latency, scenarios.Disconnect:
		if f.Protocol == scenarios.ProtocolOPCUA {
			mb = false
		} else if f.Protocol == scenarios.ProtocolModbus {
			ua = false
		}
	}
	out := []string{}
	if ua {
		out = append(out, scenarios.ProtocolOPCUA)
	}
	if mb {
		out = append(out, scenarios.ProtocolModbus)
	}
	return out
}
