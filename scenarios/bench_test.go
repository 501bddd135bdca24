package scenarios

import (
	"fmt"
	"strings"
	"testing"
)

// bigScenario generates a scenario of machines × tagsPer tags: ten
// templates of tagsPer tags each (Modbus-mapped, a state machine, a
// counter driven by it, expressions, an integrator and a lag), and
// machines built from them with two overrides each, spread over OPC UA
// and Modbus ports.
func bigScenario(machines, tagsPer int) []byte {
	var b strings.Builder
	b.WriteString("name: big\ntick: 100ms\nlocation: {enterprise: acme, site: s1, area: a1}\ntemplates:\n")
	for k := range 10 {
		fmt.Fprintf(&b, "  T%d:\n    tags:\n", k)
		b.WriteString("      - name: state\n        type: int16\n        model:\n          state_machine:\n            states:\n" +
			"              - {name: Running, dwell: {min: 10s, max: 20s}, next: {Stopped: 1}}\n" +
			"              - {name: Stopped, dwell: {min: 1s, max: 5s}, next: {Running: 1}}\n" +
			"        modbus: {table: input, address: 0}\n")
		b.WriteString("      - name: count\n        type: uint32\n        model: {counter: {rate: 1, when: \"state == 0\"}}\n        modbus: {table: input, address: 1, type: uint32}\n")
		b.WriteString("      - name: speed\n        unit: rpm\n        writable: true\n        model: {constant: {value: 1000}}\n        modbus: {table: holding, address: 0, type: float32}\n")
		b.WriteString("      - name: power\n        unit: kW\n        model: {expr: {expr: \"speed * 0.01 + t0 / 100\"}}\n        modbus: {table: input, address: 3, type: int16, scale: 0.1}\n")
		b.WriteString("      - name: level\n        unit: \"%\"\n        model: {integrate: {rate: \"(speed - power) / 1000\", min: 0, max: 100}}\n        modbus: {table: input, address: 4, type: uint16, scale: 0.01}\n")
		b.WriteString("      - name: temp\n        unit: degC\n        model: {lag: {input: \"20 + power\", tau: 30s}}\n        modbus: {table: input, address: 5, type: int16, scale: 0.1}\n")
		for i := 6; i < tagsPer; i++ {
			fmt.Fprintf(&b, "      - name: t%d\n        unit: bar\n        range: {low: 0, high: 10}\n        model: {sine: {offset: 5, amplitude: 1, period: %ds}}\n        modbus: {table: input, address: %d, type: int16, scale: 0.01}\n", i-6, 10+i%50, i)
		}
	}
	b.WriteString("machines:\n")
	for m := range machines {
		fmt.Fprintf(&b, "  - name: m%d\n    template: T%d\n", m, m%10)
		port := m / 200
		switch m % 3 {
		case 0:
			fmt.Fprintf(&b, "    opcua: {port: %d}\n", 4840+port)
		case 1:
			fmt.Fprintf(&b, "    modbus: {port: %d, unit_id: %d}\n", 5020+port, 1+m%200)
		default:
			fmt.Fprintf(&b, "    opcua: {port: %d}\n    modbus: {port: %d, unit_id: %d}\n", 4840+port, 5020+port, 1+m%200)
		}
		b.WriteString("    tags:\n      - {name: speed, model: {constant: {value: 1200}}}\n")
		if m > 0 {
			fmt.Fprintf(&b, "      - {name: t0, model: {expr: {expr: \"m%d.t1 * 2\"}}}\n", m-1)
		}
	}
	return []byte(b.String())
}

func TestBigScenario(t *testing.T) {
	data := bigScenario(20, 50)
	s, err := Parse("big.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, m := range s.Machines {
		n += len(m.Tags)
	}
	if len(s.Machines) != 20 || n != 1000 {
		t.Fatalf("%d machines, %d tags", len(s.Machines), n)
	}
}

// BenchmarkParseBig loads and validates 1,000 machines / 100,000 tags.
func BenchmarkParseBig(b *testing.B) {
	data := bigScenario(1000, 100)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	cpu0 := processCPU()
	for b.Loop() {
		s, err := Parse("big.yaml", data)
		if err != nil {
			b.Fatal(err)
		}
		if len(s.Machines) != 1000 {
			b.Fatal(len(s.Machines))
		}
	}
	// CPU time (all threads, GC included) per load: on a shared machine
	// wall time also counts the waits for a core.
	b.ReportMetric((processCPU()-cpu0).Seconds()/float64(b.N), "cpu-s/op")
}
