package modbusserver

import (
	"strings"
	"testing"
	"time"

	"github.com/otwin/otwin/scenarios"
)

// TestNewReportsEveryProblem builds servers over mappings the validator
// would refuse and checks that New names each problem.
func TestNewReportsEveryProblem(t *testing.T) {
	loc := scenarios.Location{Site: "s"}
	bad := func(tags ...scenarios.Tag) scenarios.Machine {
		return scenarios.Machine{Name: "bad", Location: loc, Tags: tags, Modbus: &scenarios.MachineModbus{UnitID: 3}}
	}
	sc := &scenarios.Scenario{
		Name: "bad-mappings", Seed: 1, Tick: scenarios.Duration(100 * time.Millisecond), TimeScale: 1,
		Location: loc, OPCUA: scenarios.OPCUASettings{Security: []string{"none"}, Anonymous: ptr(true)},
		Machines: []scenarios.Machine{
			bad(
				mbTag("a", scenarios.Int32, "holding", 10, scenarios.Int32, "ABCD", constant(int64(1))),
				mbTag("b", scenarios.Int16, "holding", 11, scenarios.Int16, "AB", constant(int64(1))),
				mbTag("c", scenarios.Int16, "registers", 0, scenarios.Int16, "AB", constant(int64(1))),
				mbTag("d", scenarios.Float64, "holding", 20, scenarios.Float64, "ABCDEFGX", constant(float64(1))),
				mbTag("e", scenarios.Int32, "input", 65535, scenarios.Int32, "ABCD", constant(int64(1))),
				mbTag("f", scenarios.Float32, "coil", 0, scenarios.Float32, "", constant(float64(1))),
				mbTag("g", scenarios.Float32, "holding", 30, scenarios.Float32, "ABCDEFGH", constant(float64(1))),
			),
			{Name: "twin3", Location: loc, Modbus: &scenarios.MachineModbus{UnitID: 3}, Tags: []scenarios.Tag{
				mbTag("x", scenarios.Uint16, "holding", 0, scenarios.Uint16, "AB", constant(int64(1))),
			}},
			{Name: "plain", Location: loc, Tags: []scenarios.Tag{{Name: "y", Type: scenarios.Float64}}},
		},
	}
	e := newEngine(t, sc)
	_, err := New(e, Config{Machines: []string{"bad", "twin3", "plain", "ghost"}, Logger: quietLogger()})
	if err == nil {
		t.Fatal("New accepted every bad mapping")
	}
	for _, want := range []string{
		`holding 11 of tag "bad/b" overlaps tag "bad/a" (10-11)`,
		`tag "c" (registers 0): unknown table "registers"`,
		`tag "d" (holding 20): byte order "ABCDEFGX"`,
		`tag "e" (input 65535): address 65535 with 2 registers is outside 0-65535`,
		`tag "f" (coil 0): table coil holds bits`,
		`tag "g" (holding 30): byte order "ABCDEFGH" does not fit a 4-byte value`,
		`machine "twin3": unit id 3 already used by machine "bad"`,
		`machine "plain": has no modbus exposure`,
		`machine "ghost": not in the scenario`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not contain %q:\n%v", want, err)
		}
	}
	if _, err := New(e, Config{Port: 70000, Machines: []string{"twin3"}}); err == nil {
		t.Error("port 70000 accepted")
	}
}
