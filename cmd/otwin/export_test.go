package main

import (
	"testing"

	"github.com/otwin/otwin/scenarios"
)

func TestFrozenWatch(t *testing.T) {
	noisy := &scenarios.Model{Noise: &scenarios.Noise{StdDev: 0.5}}
	quiet := &scenarios.Model{Noise: &scenarios.Noise{StdDev: 0.05}}
	walk := &scenarios.Model{RandomWalk: &scenarios.RandomWalk{Step: 0.2}}
	ramp := &scenarios.Model{Ramp: &scenarios.Ramp{Min: 0, Max: 100}}
	reg := func(typ scenarios.DataType, scale float64) *scenarios.Register {
		return &scenarios.Register{Table: "input", Type: typ, Scale: scale}
	}
	cases := []struct {
		name      string
		tag       scenarios.Tag
		viaModbus bool
		want      bool
	}{
		{"noise over OPC UA", scenarios.Tag{Type: scenarios.Float64, Model: noisy}, false, true},
		{"random walk over OPC UA", scenarios.Tag{Type: scenarios.Float64, Model: walk}, false, true},
		{"no noise", scenarios.Tag{Type: scenarios.Float64, Model: ramp}, false, false},
		{"no model", scenarios.Tag{Type: scenarios.Float64}, false, false},
		{"noise above the register step", scenarios.Tag{Type: scenarios.Float64, Model: noisy, Modbus: reg(scenarios.Int16, 0.1)}, true, true},
		{"noise below the register step", scenarios.Tag{Type: scenarios.Float64, Model: quiet, Modbus: reg(scenarios.Int16, 0.1)}, true, false},
		{"float register keeps the noise", scenarios.Tag{Type: scenarios.Float64, Model: quiet, Modbus: reg(scenarios.Float32, 1)}, true, true},
		{"integer tag", scenarios.Tag{Type: scenarios.Int32, Model: noisy}, false, false},
	}
	for _, c := range cases {
		if got := frozenWatch(&c.tag, c.viaModbus); got != c.want {
			t.Errorf("%s: frozenWatch = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestExportUnit(t *testing.T) {
	for in, want := range map[string]string{"degC": "CEL", "l/h": "E32", "bottles/min": "bottles/min", "": "", "furlongs": "furlongs"} {
		if got := exportUnit(in); got != want {
			t.Errorf("exportUnit(%q) = %q, want %q", in, got, want)
		}
	}
}
