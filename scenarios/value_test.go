package scenarios

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"regexp"
	"strings"
	"testing"
)

// TestExactIntegersResolve: a file's 64-bit integers reach the resolved
// scenario as the int64 and uint64 values written, however spelled.
func TestExactIntegersResolve(t *testing.T) {
	s, err := Load("testdata/valid/exact_integers.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tags := map[string]*Tag{}
	for i := range s.Machines[0].Tags {
		tags[s.Machines[0].Tags[i].Name] = &s.Machines[0].Tags[i]
	}
	for name, want := range map[string]any{
		"big": uint64(12345678901234567891), "low": int64(-9223372036854775807),
		"max": uint64(math.MaxUint64), "min": int64(math.MinInt64),
		"exp": uint64(10000000000000000000), "dot": int64(9007199254740993),
		"float": 18446744073709551616.0,
	} {
		if got := tags[name].Model.Constant.Value; got != want {
			t.Errorf("%s: constant %v (%T), want %v (%T)", name, got, got, want, want)
		}
	}
	st := tags["steps"].Model.Steps.Steps
	if st[0].Value != uint64(math.MaxUint64) || fmt.Sprint(st[1].Value) != "9007199254740993" {
		t.Errorf("steps %v %v (%T)", st[0].Value, st[1].Value, st[1].Value)
	}
	if c := tags["state"].Model.StateMachine.StateCode(0); c != math.MaxInt64 {
		t.Errorf("state code %d", c)
	}
	if v := s.Timeline[0].Set.Value; v != uint64(12345678901234567891) {
		t.Errorf("timeline value %v (%T)", v, v)
	}
}

// TestExactRefusedAtPosition: what no tag type can hold is refused at the
// line and column of the number.
func TestExactRefusedAtPosition(t *testing.T) {
	for _, tt := range []struct {
		src, want string
	}{
		{"      - {name: a, type: uint64, model: {constant: {value: 18446744073709551616}}}\n",
			"x.yaml:5:59: constant value 18446744073709551616 is out of the uint64 range"},
		{"      - {name: a, type: int64, model: {constant: {value: 1.5}}}\n",
			"x.yaml:5:58: constant value 1.5 is not an integer (the tag is int64)"},
		{"      - {name: a, type: int64, model: {constant: {value: 9007199254740993.5}}}\n",
			"x.yaml:5:58: constant value 9007199254740993.5 is not an integer (the tag is int64)"},
		{"      - {name: a, type: uint64, model: {counter: {rate: 1, rollover: 9007199254740993}}}\n",
			"x.yaml:5:70: counter rollover 9007199254740993 cannot be held exactly (it would be 9007199254740992)"},
	} {
		_, err := Parse("x.yaml", []byte("name: t\nmachines:\n  - name: m1\n    tags:\n"+tt.src))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("got %v\nwant %s", err, tt.want)
		}
	}
}

func TestExact(t *testing.T) {
	tests := []struct {
		t    DataType
		v    any
		want any
		err  error
	}{
		{Uint64, uint64(12345678901234567891), uint64(12345678901234567891), nil},
		{Uint64, json.Number("12345678901234567891"), uint64(12345678901234567891), nil},
		{Uint64, json.Number("1.2345678901234567891e19"), uint64(12345678901234567891), nil},
		{Uint64, json.Number("18446744073709551616"), nil, ErrValueRange},
		{Uint64, json.Number("-1"), nil, ErrValueRange},
		{Uint64, json.Number("-0"), uint64(0), nil},
		{Int64, json.Number("-9223372036854775807"), int64(-9223372036854775807), nil},
		{Int64, json.Number("-9223372036854775808"), int64(math.MinInt64), nil},
		{Int64, json.Number("-9223372036854775809"), nil, ErrValueRange},
		{Int64, json.Number("9223372036854775808"), nil, ErrValueRange},
		{Int64, json.Number("1.5"), nil, ErrValueType},
		{Int64, json.Number("1e-400"), nil, ErrValueType},
		{Int64, json.Number("1e400"), nil, ErrValueRange},
		{Int64, json.Number("12e-1"), nil, ErrValueType},
		{Int64, json.Number("120e-1"), int64(12), nil},
		{Int64, float64(1 << 60), int64(1 << 60), nil},
		{Int64, math.NaN(), nil, ErrValueRange},
		{Int64, true, nil, ErrValueType},
		{Int64, "12", nil, ErrValueType},
		{Int16, 40000, nil, ErrValueRange},
		{Int16, -32768, int16(-32768), nil},
		{Uint16, uint64(65535), uint16(65535), nil},
		{Float64, json.Number("0.1"), 0.1, nil},
		{Float64, uint64(12345678901234567891), 12345678901234567891.0, nil},
		{Float64, math.Inf(1), nil, ErrValueRange},
		{Float32, 1e39, nil, ErrValueRange},
		{Float32, 1.5, float32(1.5), nil},
		{Bool, true, true, nil},
		{Bool, 1, nil, ErrValueType},
		{String, "x", "x", nil},
		{String, 1, nil, ErrValueType},
	}
	for _, tt := range tests {
		got, err := Exact(tt.t, tt.v)
		if !errors.Is(err, tt.err) || (err == nil && got != tt.want) {
			t.Errorf("Exact(%s, %v) = %v (%T), %v; want %v, %v", tt.t, tt.v, got, got, err, tt.want, tt.err)
		}
	}
}

// decimal matches a decimal number literal (JSON's syntax, and YAML's).
var decimal = regexp.MustCompile(`^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$`)

// FuzzExactNumber checks Exact on decimal literals against math/big: an
// integer type takes the literal exactly when it denotes an integer within
// the type, and refuses it otherwise.
func FuzzExactNumber(f *testing.F) {
	for _, s := range []string{"12345678901234567891", "-9223372036854775807", "-9223372036854775809", "1e19",
		"18446744073709551616", "0.5", "-0", "1.0e3", "9007199254740993", "1e-5", "123456789e-9", "00012", "1E+2", "+7", ".5", "5."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > 64 {
			return
		}
		var r big.Rat
		_, okRat := r.SetString(s)
		for _, typ := range []DataType{Int16, Int32, Int64, Uint16, Uint32, Uint64} {
			got, err := Exact(typ, json.Number(s))
			if !okRat || !decimal.MatchString(s) {
				// Not a decimal literal: Exact may refuse it, never panic.
				continue
			}
			lo, hi, _ := typ.IntRange()
			in := r.IsInt() && r.Num().Cmp(big.NewInt(lo)) >= 0 && r.Num().Cmp(new(big.Int).SetUint64(hi)) <= 0
			if in != (err == nil) {
				t.Fatalf("Exact(%s, %q) = %v, %v; in range: %v", typ, s, got, err, in)
			}
			if err == nil && fmt.Sprint(got) != r.Num().String() {
				t.Fatalf("Exact(%s, %q) = %v, want %s", typ, s, got, r.Num())
			}
		}
	})
}
