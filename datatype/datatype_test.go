package datatype

import (
	"math"
	"slices"
	"testing"
)

func TestFacts(t *testing.T) {
	tests := []struct {
		t                        Type
		numeric, integer, signed bool
		bits, registers, nOrders int
	}{
		{Bool, false, false, false, 1, 1, 2},
		{Int16, true, true, true, 16, 1, 2},
		{Uint16, true, true, false, 16, 1, 2},
		{Int32, true, true, true, 32, 2, 4},
		{Uint32, true, true, false, 32, 2, 4},
		{Float32, true, false, false, 32, 2, 4},
		{Int64, true, true, true, 64, 4, 4},
		{Uint64, true, true, false, 64, 4, 4},
		{Float64, true, false, false, 64, 4, 4},
		{String, false, false, false, 0, 0, 0},
	}
	for _, tt := range tests {
		if !tt.t.Known() {
			t.Errorf("%s not Known", tt.t)
		}
		if got := tt.t.Numeric(); got != tt.numeric {
			t.Errorf("%s.Numeric() = %v", tt.t, got)
		}
		if got := tt.t.Integer(); got != tt.integer {
			t.Errorf("%s.Integer() = %v", tt.t, got)
		}
		if got := tt.t.Signed(); got != tt.signed {
			t.Errorf("%s.Signed() = %v", tt.t, got)
		}
		if got := tt.t.Bits(); got != tt.bits {
			t.Errorf("%s.Bits() = %d", tt.t, got)
		}
		if got := tt.t.Registers(); got != tt.registers {
			t.Errorf("%s.Registers() = %d", tt.t, got)
		}
		if got := len(Orders(tt.t.Registers())); got != tt.nOrders {
			t.Errorf("Orders(%s) has %d orders", tt.t, got)
		}
		for _, o := range Orders(tt.t.Registers()) {
			if len(o) != 2*tt.t.Registers() {
				t.Errorf("order %s does not fit %d registers", o, tt.t.Registers())
			}
		}
	}
	if Type("int8").Known() || Type("").Known() {
		t.Error("unknown types reported Known")
	}
	if len(All) != len(tests) {
		t.Errorf("All has %d types, the table %d", len(All), len(tests))
	}
}

func TestRanges(t *testing.T) {
	tests := []struct {
		t   Type
		lo  int64
		hi  uint64
		ok  bool
		flo float64
		fhi float64
		fok bool
	}{
		{Int16, -32768, 32767, true, -32768, 32767, true},
		{Uint16, 0, 65535, true, 0, 65535, true},
		{Int32, math.MinInt32, math.MaxInt32, true, math.MinInt32, math.MaxInt32, true},
		{Uint32, 0, math.MaxUint32, true, 0, math.MaxUint32, true},
		{Int64, math.MinInt64, math.MaxInt64, true, math.MinInt64, math.MaxInt64, true},
		{Uint64, 0, math.MaxUint64, true, 0, math.MaxUint64, true},
		{Bool, 0, 1, true, 0, 0, false},
		{Float32, 0, 0, false, -math.MaxFloat32, math.MaxFloat32, true},
		{Float64, 0, 0, false, math.Inf(-1), math.Inf(1), true},
		{String, 0, 0, false, 0, 0, false},
	}
	for _, tt := range tests {
		lo, hi, ok := tt.t.IntRange()
		if lo != tt.lo || hi != tt.hi || ok != tt.ok {
			t.Errorf("%s.IntRange() = %d, %d, %v", tt.t, lo, hi, ok)
		}
		flo, fhi, fok := tt.t.Limits()
		if flo != tt.flo || fhi != tt.fhi || fok != tt.fok {
			t.Errorf("%s.Limits() = %g, %g, %v", tt.t, flo, fhi, fok)
		}
	}
	if !slices.Equal(Orders(2), []string{"ABCD", "DCBA", "BADC", "CDAB"}) {
		t.Errorf("Orders(2) = %v", Orders(2))
	}
}
