package modbusserver

import (
	"encoding/binary"
	"math"
	"slices"
	"testing"

	"github.com/otwin/otwin/scenarios"
)

// TestCodecEdges checks rounding, clamping and the integer paths of the
// register codec at the edges of each type, for encode and decode.
func TestCodecEdges(t *testing.T) {
	reg := func(rt scenarios.DataType, order string, scale, off float64) *scenarios.Register {
		return &scenarios.Register{Table: "holding", Type: rt, Order: order, Scale: scale, Offset: off}
	}
	tests := []struct {
		name    string
		tagType scenarios.DataType
		r       *scenarios.Register
		v       any
		want    []uint16
	}{
		{"int16 rounds half away from zero", scenarios.Float64, reg(scenarios.Int16, "AB", 1, 0), -2.5, []uint16{0xFFFD}},
		{"int16 clamps high", scenarios.Float64, reg(scenarios.Int16, "AB", 1, 0), 40000.0, []uint16{0x7FFF}},
		{"int16 clamps low", scenarios.Float64, reg(scenarios.Int16, "AB", 1, 0), -40000.0, []uint16{0x8000}},
		{"uint16 clamps negative to 0", scenarios.Int32, reg(scenarios.Uint16, "AB", 1, 0), int32(-7), []uint16{0}},
		{"uint16 from NaN is 0", scenarios.Float64, reg(scenarios.Uint16, "AB", 1, 0), math.NaN(), []uint16{0}},
		{"int32 from +Inf clamps", scenarios.Float64, reg(scenarios.Int32, "ABCD", 1, 0), math.Inf(1), []uint16{0x7FFF, 0xFFFF}},
		{"uint16 byte swap", scenarios.Uint16, reg(scenarios.Uint16, "BA", 1, 0), uint16(0x1234), []uint16{0x3412}},
		{"scale and offset", scenarios.Float64, reg(scenarios.Int16, "AB", 0.1, 20), 25.55, []uint16{56}},
		{"int64 exact without floats", scenarios.Int64, reg(scenarios.Int64, "ABCDEFGH", 1, 0), int64(math.MinInt64 + 1), []uint16{0x8000, 0, 0, 1}},
		{"uint64 max exact", scenarios.Uint64, reg(scenarios.Uint64, "HGFEDCBA", 1, 0), uint64(math.MaxUint64 - 1), []uint16{0xFEFF, 0xFFFF, 0xFFFF, 0xFFFF}},
		{"uint64 from huge float clamps", scenarios.Float64, reg(scenarios.Uint64, "ABCDEFGH", 0.5, 0), 1e300, []uint16{0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF}},
		{"int64 from huge float clamps", scenarios.Float64, reg(scenarios.Int64, "ABCDEFGH", 1, 0), 1e19, []uint16{0x7FFF, 0xFFFF, 0xFFFF, 0xFFFF}},
		{"int32 tag into int16 clamps", scenarios.Int32, reg(scenarios.Int16, "AB", 1, 0), int32(100000), []uint16{0x7FFF}},
		{"uint32 into int16 clamps", scenarios.Uint32, reg(scenarios.Int16, "AB", 1, 0), uint32(0xFFFFFFFF), []uint16{0x7FFF}},
		{"float32 CDAB", scenarios.Float32, reg(scenarios.Float32, "CDAB", 1, 0), float32(1.0), []uint16{0x0000, 0x3F80}},
		{"float64 4-letter DCBA", scenarios.Float64, reg(scenarios.Float64, "DCBA", 1, 0), 1.0, []uint16{0, 0, 0, 0xF03F}},
		{"bool in a register", scenarios.Bool, reg(scenarios.Bool, "", 1, 0), true, []uint16{1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := newCodec(tc.tagType, tc.r, false)
			if err != nil {
				t.Fatal(err)
			}
			if c.words != len(tc.want) {
				t.Fatalf("%d registers, want %d", c.words, len(tc.want))
			}
			b := make([]byte, 2*c.words)
			c.encode(tc.v, b)
			got := make([]uint16, c.words)
			for i := range got {
				got[i] = binary.BigEndian.Uint16(b[2*i:])
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("registers %04x, want %04x", got, tc.want)
			}
		})
	}
}

func TestCodecDecode(t *testing.T) {
	reg := func(rt scenarios.DataType, order string, scale, off float64) *scenarios.Register {
		return &scenarios.Register{Table: "holding", Type: rt, Order: order, Scale: scale, Offset: off}
	}
	tests := []struct {
		name    string
		tagType scenarios.DataType
		r       *scenarios.Register
		regs    []uint16
		want    any // nil: refused
	}{
		{"int64 min exact", scenarios.Int64, reg(scenarios.Int64, "ABCDEFGH", 1, 0), []uint16{0x8000, 0, 0, 0}, int64(math.MinInt64)},
		{"uint64 max exact", scenarios.Uint64, reg(scenarios.Uint64, "GHEFCDAB", 1, 0), []uint16{0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF}, uint64(math.MaxUint64)},
		{"negative into uint32 refused", scenarios.Uint32, reg(scenarios.Int32, "ABCD", 1, 0), []uint16{0xFFFF, 0xFFFF}, nil},
		{"int32 min into int16 refused", scenarios.Int16, reg(scenarios.Int32, "ABCD", 1, 0), []uint16{0x8000, 0}, nil},
		{"int16 min fits", scenarios.Int16, reg(scenarios.Int32, "ABCD", 1, 0), []uint16{0xFFFF, 0x8000}, int16(math.MinInt16)},
		{"scaled into int32 rounds", scenarios.Int32, reg(scenarios.Int16, "AB", 0.1, 0), []uint16{25}, int32(3)},
		{"float32 overflow refused", scenarios.Float32, reg(scenarios.Float64, "ABCDEFGH", 1, 0), []uint16{0x7FEF, 0xFFFF, 0xFFFF, 0xFFFF}, nil},
		{"float32 Inf kept", scenarios.Float32, reg(scenarios.Float32, "ABCD", 1, 0), []uint16{0x7F80, 0}, float32(math.Inf(1))},
		{"bool register 2 refused", scenarios.Bool, reg(scenarios.Bool, "", 1, 0), []uint16{2}, nil},
		{"float into int64 beyond range refused", scenarios.Int64, reg(scenarios.Float64, "ABCDEFGH", 1, 0), []uint16{0x43E0, 0, 0, 0}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := newCodec(tc.tagType, tc.r, false)
			if err != nil {
				t.Fatal(err)
			}
			got, err := c.decode(tc.regs)
			if tc.want == nil {
				if err == nil {
					t.Fatalf("decoded %v (%T), want refused", got, got)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("decoded %v (%T) %v, want %v (%T)", got, got, err, tc.want, tc.want)
			}
		})
	}
}
