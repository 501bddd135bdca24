package testkit

import (
	"fmt"
	"strings"
	"time"
)

// Mix says which models drive a generated line's tags.
type Mix int

const (
	// Changing drives every tag with a model that changes at every tick
	// (a sine with noise, noise, a random walk), each with a unit and a
	// range it stays inside: a load where every tick is a change and no
	// data-quality alert is due.
	Changing Mix = iota
	// EveryKind cycles through every model kind in blocks of 20 tags:
	// sine, ramp, square, random walk, noise, counter, steps, a state
	// machine, expressions, an integrator and a lag, the last three
	// reading the block's first tag.
	EveryKind
)

// Line describes a generated scenario: Machines machines of one template
// of Tags tags, 20 machines to a line, so no folder of the address space
// holds more than a few hundred children.
type Line struct {
	Name     string        // scenario name; "big" when empty
	Machines int           // machines, named m0000, m0001, ...
	Tags     int           // tags per machine, named t000, t001, ...
	Tick     time.Duration // the engine's tick; 1s when zero
	Mix      Mix           // the models driving the tags
	// OPCUAPort serves every machine on one OPC UA endpoint without
	// security when not zero.
	OPCUAPort int
	// ModbusPort serves the machines on Modbus TCP ports from ModbusPort
	// on (200 unit ids a port) when not zero: each tag a float32 in the
	// input registers at twice its index, a bool the discrete input at
	// its index.
	ModbusPort int
}

// YAML writes the scenario.
func (l Line) YAML() string {
	name, tick := l.Name, l.Tick
	if name == "" {
		name = "big"
	}
	if tick == 0 {
		tick = time.Second
	}
	var b strings.Builder
	fmt.Fprintf(&b, "name: %s\nseed: 1\ntick: %s\n", name, tick)
	if l.OPCUAPort != 0 {
		b.WriteString("opcua: {security: [none]}\n")
	}
	fmt.Fprintf(&b, "location: {enterprise: acme, site: %s, area: a}\ntemplates:\n  Machine:\n    tags:\n", name)
	for j := range l.Tags {
		m := l.model(j)
		fmt.Fprintf(&b, "      - {name: t%03d, %s", j, m)
		switch {
		case l.ModbusPort == 0:
		case strings.HasPrefix(m, "type: bool"):
			fmt.Fprintf(&b, ", modbus: {table: discrete, address: %d}", j)
		default:
			fmt.Fprintf(&b, ", modbus: {table: input, address: %d, type: float32}", 2*j)
		}
		b.WriteString("}\n")
	}
	b.WriteString("machines:\n")
	for i := range l.Machines {
		fmt.Fprintf(&b, "  - {name: m%04d, template: Machine, location: {line: l%02d}", i, i/20)
		if l.OPCUAPort != 0 {
			fmt.Fprintf(&b, ", opcua: {port: %d}", l.OPCUAPort)
		}
		if l.ModbusPort != 0 {
			fmt.Fprintf(&b, ", modbus: {port: %d, unit_id: %d}", l.ModbusPort+i/200, 1+i%200)
		}
		b.WriteString("}\n")
	}
	return b.String()
}

// model is tag j's type, unit, range and model, as flow YAML fields.
func (l Line) model(j int) string {
	if l.Mix == Changing {
		base := 100 + j
		head := fmt.Sprintf("unit: degC, range: {low: 0, high: %d}, model: ", 2*base)
		switch j % 3 {
		case 0:
			return head + fmt.Sprintf("{sine: {offset: %d, amplitude: 10, period: %ds}, noise: {stddev: 0.5}}", base, 20+j%40)
		case 1:
			return head + fmt.Sprintf("{noise: {mean: %d, stddev: 1}}", base)
		default:
			return head + fmt.Sprintf("{random_walk: {start: %d, step: 1, min: %d, max: %d}}", base, base/2, base*3/2)
		}
	}
	first := fmt.Sprintf("t%03d", j-j%20)
	switch r := j % 20; {
	case r < 5:
		return fmt.Sprintf("type: float64, model: {sine: {offset: 50, amplitude: 10, period: %ds}}", 10+j%7)
	case r < 7:
		return "type: float64, model: {ramp: {min: 0, max: 100, period: 1m}}"
	case r < 8:
		return "type: bool, model: {square: {low: 0, high: 1, period: 5s}}"
	case r < 11:
		return "type: float64, model: {random_walk: {start: 50, step: 0.5, min: 0, max: 100}}"
	case r < 13:
		return "type: float64, model: {noise: {mean: 20, stddev: 0.3}}"
	case r < 15:
		return "type: uint32, model: {counter: {rate: 2}}"
	case r < 16:
		return "type: float64, model: {steps: {repeat: true, steps: [{at: 0s, value: 1}, {at: 3s, value: 2}]}}"
	case r < 17:
		return "type: int16, model: {state_machine: {states: [" +
			"{name: Running, dwell: {min: 2s, max: 20s}, next: {Idle: 1, Fault: 0.1}}, " +
			"{name: Idle, dwell: {min: 500ms, max: 5s}, next: {Running: 1}}, " +
			"{name: Fault, dwell: {min: 1s, max: 10s}, next: {Idle: 1}}]}}"
	case r < 19:
		return fmt.Sprintf("type: float64, model: {expr: {expr: \"%s * 2 + 1\"}}", first)
	case j%40 < 20:
		return fmt.Sprintf("type: float64, model: {integrate: {rate: \"%s - 50\", min: 0, max: 1000}}", first)
	default:
		return fmt.Sprintf("type: float64, model: {lag: {input: \"%s\", tau: 2s}}", first)
	}
}
