package modbus

import (
	"encoding/hex"
	"math"
	"strings"
	"testing"
)

func TestParseRegister(t *testing.T) {
	tests := []struct {
		in   string
		want Register
		str  string // canonical form
	}{
		{"holding:0:int16", Register{Holding, 0, Int16, ""}, "holding:0:int16"},
		{"hr:100:float32", Register{Holding, 100, Float32, "ABCD"}, "holding:100:float32:ABCD"},
		{"HOLDING:100:Float32:cdab", Register{Holding, 100, Float32, "CDAB"}, "holding:100:float32:CDAB"},
		{"ir:9:uint32:DCBA", Register{Input, 9, Uint32, "DCBA"}, "input:9:uint32:DCBA"},
		{"input:0x10:int32:badc", Register{Input, 16, Int32, "BADC"}, "input:16:int32:BADC"},
		{"co:5:bool", Register{Coil, 5, Bool, ""}, "coil:5:bool"},
		{"di:65535:bool", Register{Discrete, 65535, Bool, ""}, "discrete:65535:bool"},
		{"holding:7:bool", Register{Holding, 7, Bool, ""}, "holding:7:bool"},
		{"holding:1:float64", Register{Holding, 1, Float64, "ABCDEFGH"}, "holding:1:float64:ABCDEFGH"},
		{"holding:1:uint64:hgfedcba", Register{Holding, 1, Uint64, "HGFEDCBA"}, "holding:1:uint64:HGFEDCBA"},
		{"holding:1:int64:BADCFEHG", Register{Holding, 1, Int64, "BADCFEHG"}, "holding:1:int64:BADCFEHG"},
		{" holding : 65532 : int64 : GHEFCDAB ", Register{Holding, 65532, Int64, "GHEFCDAB"}, "holding:65532:int64:GHEFCDAB"},
		{"holding:65535:uint16", Register{Holding, 65535, Uint16, ""}, "holding:65535:uint16"},
	}
	for _, tt := range tests {
		got, err := ParseRegister(tt.in)
		if err != nil {
			t.Errorf("ParseRegister(%q): %v", tt.in, err)
			continue
		}
		if got != tt.want {
			t.Errorf("ParseRegister(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
		if got.String() != tt.str {
			t.Errorf("ParseRegister(%q).String() = %q, want %q", tt.in, got.String(), tt.str)
		}
		again, err := ParseRegister(got.String())
		if err != nil || again != got {
			t.Errorf("canonical %q does not round-trip: %+v, %v", got.String(), again, err)
		}
	}
}

func TestParseRegisterErrors(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"", "want table:address:type"},
		{"holding:1", "want table:address:type"},
		{"holding:1:int16:AB:x", "want table:address:type"},
		{"register:1:int16", `unknown table "register"`},
		{"holding:-1:int16", `address "-1"`},
		{"holding:65536:int16", `address "65536"`},
		{"holding:40001x:int16", "Modicon 40001 is holding:0"},
		{"holding:1:float", `unknown type "float"`},
		{"coil:1:int16", "coil holds bits: type must be bool"},
		{"discrete:1:float32", "discrete holds bits"},
		{"holding:1:int16:AB", "int16 takes no byte order"},
		{"coil:1:bool:ABCD", "bool takes no byte order"},
		{"holding:1:float32:ABDC", `unknown order "ABDC" for float32 (want ABCD, DCBA, BADC, CDAB)`},
		{"holding:1:float64:ABCD", `unknown order "ABCD" for float64`},
		{"holding:1:int32:ABCDEFGH", `unknown order "ABCDEFGH" for int32`},
		{"holding:65535:float32", "runs past the end of the table"},
		{"holding:65533:int64", "runs past the end of the table"},
	}
	for _, tt := range tests {
		_, err := ParseRegister(tt.in)
		if err == nil {
			t.Errorf("ParseRegister(%q): no error", tt.in)
			continue
		}
		if !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "point ") {
			t.Errorf("ParseRegister(%q) = %q, want it to contain %q", tt.in, err, tt.want)
		}
	}
}

// f32 is float32 123.456 as the float64 Decode returns.
var f32 = float64(float32(123.456))

// decodeCases are known wire patterns of every type in every order; the
// integration test serves them from mbserver too.
var decodeCases = []struct {
	point string
	wire  string // hex, as the registers arrive
	want  any
}{
	{"holding:0:int16", "ffff", int64(-1)},
	{"holding:0:int16", "8000", int64(math.MinInt16)},
	{"holding:0:int16", "7fff", int64(math.MaxInt16)},
	{"holding:0:uint16", "ffff", uint64(65535)},
	{"holding:0:uint16", "1234", uint64(0x1234)},
	{"holding:0:bool", "0000", false},
	{"holding:0:bool", "0100", true},
	{"holding:0:bool", "0001", true},
	{"holding:0:float32:ABCD", "42f6e979", f32},
	{"holding:0:float32:DCBA", "79e9f642", f32},
	{"holding:0:float32:BADC", "f64279e9", f32},
	{"holding:0:float32:CDAB", "e97942f6", f32},
	{"holding:0:int32:ABCD", "fffffffe", int64(-2)},
	{"holding:0:int32:DCBA", "feffffff", int64(-2)},
	{"holding:0:int32:BADC", "fffffeff", int64(-2)},
	{"holding:0:int32:CDAB", "fffeffff", int64(-2)},
	{"holding:0:int32:ABCD", "80000000", int64(math.MinInt32)},
	{"holding:0:uint32:ABCD", "01020304", uint64(0x01020304)},
	{"holding:0:uint32:DCBA", "04030201", uint64(0x01020304)},
	{"holding:0:uint32:BADC", "02010403", uint64(0x01020304)},
	{"holding:0:uint32:CDAB", "03040102", uint64(0x01020304)},
	{"holding:0:uint32:CDAB", "ffffffff", uint64(math.MaxUint32)},
	{"holding:0:uint64:ABCDEFGH", "0102030405060708", uint64(0x0102030405060708)},
	{"holding:0:uint64:HGFEDCBA", "0807060504030201", uint64(0x0102030405060708)},
	{"holding:0:uint64:BADCFEHG", "0201040306050807", uint64(0x0102030405060708)},
	{"holding:0:uint64:GHEFCDAB", "0708050603040102", uint64(0x0102030405060708)},
	{"holding:0:uint64:ABCDEFGH", "ffffffffffffffff", uint64(math.MaxUint64)},
	{"holding:0:uint64:GHEFCDAB", "ffffffffffffffff", uint64(math.MaxUint64)},
	{"holding:0:int64:ABCDEFGH", "fffffffffffffffe", int64(-2)},
	{"holding:0:int64:HGFEDCBA", "feffffffffffffff", int64(-2)},
	{"holding:0:int64:BADCFEHG", "fffffffffffffeff", int64(-2)},
	{"holding:0:int64:GHEFCDAB", "fffeffffffffffff", int64(-2)},
	{"holding:0:int64:ABCDEFGH", "8000000000000000", int64(math.MinInt64)},
	{"holding:0:float64:ABCDEFGH", "405edd2f1a9fbe77", 123.456},
	{"holding:0:float64:HGFEDCBA", "77be9f1a2fdd5e40", 123.456},
	{"holding:0:float64:BADCFEHG", "5e402fdd9f1a77be", 123.456},
	{"holding:0:float64:GHEFCDAB", "be771a9fdd2f405e", 123.456},
	{"holding:0:float64:ABCDEFGH", "bff8000000000000", -1.5},
	{"input:0:float64:GHEFCDAB", "0000000000000000", 0.0},
	{"coil:0:bool", "01", true},
	{"discrete:0:bool", "fe", false},
	// Extra bytes after the value are ignored (it is one of a block).
	{"holding:0:int16", "fffe0000", int64(-2)},
}

func TestDecode(t *testing.T) {
	for _, tt := range decodeCases {
		r, err := ParseRegister(tt.point)
		if err != nil {
			t.Fatal(err)
		}
		wire, err := hex.DecodeString(tt.wire)
		if err != nil {
			t.Fatal(err)
		}
		got, err := r.Decode(wire)
		if err != nil {
			t.Errorf("%s % x: %v", tt.point, wire, err)
			continue
		}
		if got != tt.want {
			t.Errorf("%s % x = %#v, want %#v", tt.point, wire, got, tt.want)
		}
		if _, err := r.Decode(wire[:len(wire)-1]); err == nil && len(wire) == 2*r.Count() {
			t.Errorf("%s: one byte short decoded without error", tt.point)
		}
	}
}

func TestDecodeNaN(t *testing.T) {
	r, _ := ParseRegister("holding:0:float32")
	v, err := r.Decode([]byte{0x7f, 0xc0, 0, 0})
	if err != nil {
		t.Fatal(err)
	}
	if f, ok := v.(float64); !ok || !math.IsNaN(f) {
		t.Errorf("got %#v, want NaN", v)
	}
}
