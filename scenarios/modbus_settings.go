package scenarios

import "time"

// ModbusSettings are the settings of every Modbus TCP port of the twin.
type ModbusSettings struct {
	// MaxConnections is the number of client connections each port holds
	// at once. When every one is taken, a new connection closes the one
	// idle the longest (see IdleAfter) and is refused only when every
	// connection is live. Default 64; at most 10000.
	MaxConnections int `yaml:"max_connections,omitempty" json:"max_connections,omitempty" jsonschema:"minimum=1,maximum=10000"`
	// IdleAfter is how long a connection may stay silent after a request
	// and still count as live; a connection that has sent no whole request
	// yet is idle from the start. Default 10s.
	IdleAfter Duration `yaml:"idle_after,omitempty" json:"idle_after,omitempty"`
}

// MaxModbusConnections bounds ModbusSettings.MaxConnections.
const MaxModbusConnections = 10000

// modbusSettings checks the scenario's modbus section.
func (v *validator) modbusSettings() {
	s := v.s.Modbus
	if v.has("modbus.max_connections") && !v.bad("modbus.max_connections") &&
		(s.MaxConnections < 1 || s.MaxConnections > MaxModbusConnections) {
		v.add(v.at("modbus.max_connections", ""), "e.g. max_connections: 64", "max_connections %d is outside 1-%d", s.MaxConnections, MaxModbusConnections)
	}
	if v.has("modbus.idle_after") && !v.bad("modbus.idle_after") && s.IdleAfter < Duration(time.Millisecond) {
		v.add(v.at("modbus.idle_after", ""), "e.g. idle_after: 10s", "idle_after %s is shorter than 1ms", s.IdleAfter)
	}
}
