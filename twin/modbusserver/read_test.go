package modbusserver

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/otwin/otwin/scenarios"
	"github.com/otwin/otwin/twin"
)

// readTag reads the registers or bit of one tag with a goburrow client.
func readTag(c *client, r *scenarios.Register) ([]byte, error) {
	a := uint16(r.Address)
	switch r.Table {
	case "holding":
		return c.ReadHoldingRegisters(a, uint16(regWidthTest(r.Type)))
	case "input":
		return c.ReadInputRegisters(a, uint16(regWidthTest(r.Type)))
	case "coil":
		return c.ReadCoils(a, 1)
	case "discrete":
		return c.ReadDiscreteInputs(a, 1)
	}
	return nil, fmt.Errorf("table %q", r.Table)
}

// checkTag compares what was read for tag ti with the engine's value.
func checkTag(t *testing.T, ti twin.TagInfo, v any, got []byte) {
	t.Helper()
	r := ti.Modbus
	if r.Table == "coil" || r.Table == "discrete" {
		want := wantRaw(v, r) == uint64(1)
		if len(got) != 1 || (got[0]&1 != 0) != want || got[0]&^1 != 0 {
			t.Errorf("%s: bit % x, want %v (engine %v)", ti.Name, got, want, v)
		}
		return
	}
	if len(got) != 2*regWidthTest(r.Type) {
		t.Errorf("%s: %d bytes, want %d", ti.Name, len(got), 2*regWidthTest(r.Type))
		return
	}
	raw := rawOf(valueBytes(got, r.Order), r.Type)
	want := wantRaw(v, r)
	if wf, ok := want.(float64); ok {
		gf := raw.(float64)
		if math.Float64bits(gf) != math.Float64bits(wf) {
			t.Errorf("%s: raw %v, want %v (engine %v)", ti.Name, gf, wf, v)
		}
		return
	}
	if raw != want {
		t.Errorf("%s: raw %v (%T), want %v (%T) (engine %v %T); bytes % x", ti.Name, raw, raw, want, want, v, v, got)
	}
}

func TestReadEveryMappedValue(t *testing.T) {
	e := newEngine(t, gridScenario())
	e.Step(3)
	s := startServer(t, e, Config{})
	units := map[string]byte{}
	for _, m := range e.Machines() {
		units[m.Name] = byte(m.Modbus.UnitID)
	}
	clients := map[byte]*client{}
	for _, id := range units {
		clients[id] = dial(t, s.Addr(), id, 2*time.Second)
	}
	for round := 0; round < 2; round++ {
		n := 0
		for _, ti := range e.Tags() {
			if ti.Modbus == nil {
				continue
			}
			got, err := readTag(clients[units[ti.Machine]], ti.Modbus)
			if err != nil {
				t.Fatalf("%s/%s: %v", ti.Machine, ti.Name, err)
			}
			checkTag(t, ti, e.Value(ti.Index).V, got)
			n++
		}
		if n < 100 {
			t.Fatalf("only %d mapped tags checked", n)
		}
		e.Step(17) // values move; read all again
	}
}

// TestReadBlocks reads whole tables in 125-register and 2000-bit blocks and
// checks every tag inside them, including values cut by the block edge.
func TestReadBlocks(t *testing.T) {
	e := newEngine(t, gridScenario())
	e.Step(1)
	s := startServer(t, e, Config{})
	c := dial(t, s.Addr(), 1, 2*time.Second)

	// Both register tables are mapped without a gap from 0 to ext.
	ext := 0
	for _, ti := range e.Tags() {
		if r := ti.Modbus; r != nil && ti.Machine == "grid" && r.Table == "holding" && r.Address < 1000 {
			ext = max(ext, r.Address+regWidthTest(r.Type))
		}
	}
	if ext < 80 || ext > 125 {
		t.Fatalf("holding extent %d: the scenario changed", ext)
	}
	hold, err := c.ReadHoldingRegisters(0, uint16(ext))
	if err != nil {
		t.Fatal(err)
	}
	in, err := c.ReadInputRegisters(0, uint16(ext))
	if err != nil {
		t.Fatal(err)
	}
	// A block starting in the middle of a 4-register value.
	mid, err := c.ReadHoldingRegisters(1, 3)
	if err != nil {
		t.Fatal(err)
	}
	coils, err := c.ReadCoils(0, 21)
	if err != nil {
		t.Fatal(err)
	}
	if len(coils) != 3 {
		t.Fatalf("21 coils: %d bytes, want 3", len(coils))
	}
	if coils[2]&^0x1F != 0 {
		t.Errorf("padding bits of the last coil byte are set: %08b", coils[2])
	}
	for _, ti := range e.Tags() {
		r := ti.Modbus
		if r == nil || ti.Machine != "grid" {
			continue
		}
		v := e.Value(ti.Index).V
		switch r.Table {
		case "holding", "input":
			buf := hold
			if r.Table == "input" {
				buf = in
			}
			w := regWidthTest(r.Type)
			if r.Address+w > ext {
				continue
			}
			checkTag(t, ti, v, buf[2*r.Address:2*(r.Address+w)])
			if r.Table == "holding" && r.Address == 0 {
				if string(mid) != string(hold[2:8]) {
					t.Errorf("holding 1-3 = % x, want % x", mid, hold[2:8])
				}
			}
		case "coil":
			if r.Address < 21 {
				bit := coils[r.Address/8] >> (r.Address % 8) & 1
				checkTag(t, ti, v, []byte{bit})
			}
		}
	}
}

func TestReadExceptions(t *testing.T) {
	e := newEngine(t, gridScenario())
	s := startServer(t, e, Config{})
	c := dial(t, s.Addr(), 1, 2*time.Second)
	tests := []struct {
		name string
		call func() ([]byte, error)
		want byte
	}{
		{"hole in block", func() ([]byte, error) { return c.ReadHoldingRegisters(1000, 3) }, 2},
		{"unmapped start", func() ([]byte, error) { return c.ReadHoldingRegisters(1001, 1) }, 2},
		{"beyond last", func() ([]byte, error) { return c.ReadHoldingRegisters(60000, 10) }, 2},
		{"unmapped input", func() ([]byte, error) { return c.ReadInputRegisters(5000, 1) }, 2},
		{"unmapped coil", func() ([]byte, error) { return c.ReadCoils(0, 2000) }, 2},
		{"unmapped discrete", func() ([]byte, error) { return c.ReadDiscreteInputs(21, 1) }, 2},
		{"past 65535", func() ([]byte, error) { return c.ReadHoldingRegisters(65535, 2) }, 2},
		{"fc 8 diagnostics", func() ([]byte, error) { return c.ReadFIFOQueue(0) }, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.call()
			if got := exceptionOf(err); got != tc.want {
				t.Fatalf("exception %d (err %v), want %d", got, err, tc.want)
			}
		})
	}
	// The connection is still good after every exception.
	if _, err := c.ReadHoldingRegisters(1000, 1); err != nil {
		t.Fatalf("read after exceptions: %v", err)
	}
}

func TestGatewayUnits(t *testing.T) {
	e := newEngine(t, gridScenario())
	s := startServer(t, e, Config{Machines: []string{"grid", "second"}})
	c1 := dial(t, s.Addr(), 1, 2*time.Second)
	c7 := dial(t, s.Addr(), 7, 2*time.Second)
	c9 := dial(t, s.Addr(), 9, 2*time.Second)
	a, err := c1.ReadHoldingRegisters(0, 1)
	if err != nil {
		t.Fatal(err)
	}
	b, err := c7.ReadHoldingRegisters(0, 1)
	if err != nil {
		t.Fatal(err)
	}
	if got := uint16(b[0])<<8 | uint16(b[1]); got != 4242 {
		t.Errorf("unit 7 holding 0 = %d, want 4242", got)
	}
	if string(a) == string(b) {
		t.Errorf("units 1 and 7 answer the same holding 0: % x", a)
	}
	if _, err := c7.ReadHoldingRegisters(1, 1); exceptionOf(err) != 2 {
		t.Errorf("unit 7 holding 1: %v, want exception 2", err)
	}
	if _, err := c9.ReadHoldingRegisters(0, 1); exceptionOf(err) != 0x0B {
		t.Errorf("unknown unit 9: %v, want exception 0x0B", err)
	}
	// Only "second" on its own port: unit 1 is unknown there.
	s2 := startServer(t, e, Config{Machines: []string{"second"}})
	if _, err := dial(t, s2.Addr(), 1, 2*time.Second).ReadHoldingRegisters(0, 1); exceptionOf(err) != 0x0B {
		t.Errorf("unit 1 on second's port: %v, want exception 0x0B", err)
	}
}

// TestShippedScenarios serves every shipped example scenario as the
// integrator does (one server per Modbus port, machines on one port as
// gateway units) and checks every mapped value against the engine.
func TestShippedScenarios(t *testing.T) {
	names := scenarios.Examples()
	if len(names) == 0 {
		t.Fatal("no shipped scenarios")
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			sc, err := scenarios.Example(name)
			if err != nil {
				t.Fatal(err)
			}
			e := newEngine(t, sc)
			e.Step(25)
			byPort := map[int][]string{}
			unitOf := map[string]byte{}
			for i, m := range e.Machines() {
				if m.Modbus == nil {
					continue
				}
				port := m.Modbus.Port
				if port == 0 {
					port = -1 - i // a port of its own
				}
				byPort[port] = append(byPort[port], m.Name)
				unitOf[m.Name] = byte(m.Modbus.UnitID)
			}
			if len(byPort) == 0 {
				t.Skip("no machine exposed over Modbus")
			}
			clients := map[string]*client{}
			for _, machines := range byPort {
				s := startServer(t, e, Config{Machines: machines})
				for _, m := range machines {
					clients[m] = dial(t, s.Addr(), unitOf[m], 2*time.Second)
				}
			}
			n := 0
			for _, ti := range e.Tags() {
				c := clients[ti.Machine]
				if ti.Modbus == nil || c == nil {
					continue
				}
				got, err := readTag(c, ti.Modbus)
				if err != nil {
					t.Fatalf("%s/%s (%s %d): %v", ti.Machine, ti.Name, ti.Modbus.Table, ti.Modbus.Address, err)
				}
				checkTag(t, ti, e.Value(ti.Index).V, got)
				n++
			}
			if n == 0 {
				t.Fatal("machines exposed over Modbus but no mapped tag read")
			}
			t.Logf("%d mapped tags on %d ports", n, len(byPort))
		})
	}
}
