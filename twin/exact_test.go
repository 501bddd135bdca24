package twin

import (
	"encoding/json"
	"errors"
	"math"
	"math/big"
	"regexp"
	"testing"

	"github.com/otwin/otwin/scenarios"
)

// The two values the exactness tests use: float64 holds neither.
const (
	bigU64 uint64 = 12345678901234567891
	lowI64 int64  = -9223372036854775807
)

// TestExactConstantsAndWrites: 64-bit integer constants are served, and
// writes of every form (Go integers, json.Number, as the three protocols
// deliver them) are kept, digit for digit.
func TestExactConstantsAndWrites(t *testing.T) {
	sc, err := scenarios.Parse("exact.yaml", []byte(`name: exact
machines:
  - name: m1
    tags:
      - {name: u, type: uint64, writable: true, model: {constant: {value: 12345678901234567891}}}
      - {name: i, type: int64, writable: true, model: {constant: {value: -9223372036854775807}}}
      - {name: s, type: uint64, writable: true, model: {steps: {steps: [{at: 0s, value: 18446744073709551615}, {at: 1s, value: 9007199254740993}]}}}
      - {name: st, type: int64, model: {state_machine: {states: [{name: A, code: 9223372036854775807, dwell: {min: 1h, max: 1h}}]}}}
      - {name: e, type: int64, model: {expr: {expr: "i + 2"}}}
      - {name: r, type: int64, writable: true, range: {low: 0, high: 9007199254740992}}
`))
	if err != nil {
		t.Fatal(err)
	}
	e := newEngine(t, sc)
	val := func(id string) any { i, _ := e.Lookup("m1/" + id); return e.Value(i).V }
	idx := func(id string) int { i, _ := e.Lookup("m1/" + id); return i }
	for id, want := range map[string]any{"u": bigU64, "i": lowI64, "s": uint64(math.MaxUint64), "st": int64(math.MaxInt64), "e": lowI64 + 2} {
		if got := val(id); got != want {
			t.Errorf("%s = %v (%T), want %v", id, got, got, want)
		}
	}
	e.Step(10)
	if got := val("s"); got != uint64(9007199254740993) {
		t.Errorf("second step %v", got)
	}

	writes := []struct {
		id   string
		v    any
		want any
	}{
		{"u", uint64(18446744073709551615), uint64(18446744073709551615)},
		{"u", json.Number("12345678901234567891"), bigU64},
		{"u", json.Number("1.2345678901234567891e19"), bigU64},
		{"i", int64(math.MinInt64), int64(math.MinInt64)},
		{"i", json.Number("-9223372036854775807"), lowI64},
		{"i", int32(-5), int64(-5)},
		{"i", float64(1 << 62), int64(1 << 62)},
		{"r", int64(9007199254740992), int64(9007199254740992)},
	}
	for _, w := range writes {
		if err := e.Write(idx(w.id), w.v); err != nil {
			t.Fatalf("write %v (%T) to %s: %v", w.v, w.v, w.id, err)
		}
		if got := val(w.id); got != w.want {
			t.Fatalf("after writing %v to %s: %v (%T), want %v", w.v, w.id, got, got, w.want)
		}
		e.Step(1)
		if got := val(w.id); got != w.want {
			t.Fatalf("a tick after writing %v to %s: %v", w.v, w.id, got)
		}
	}
	refused := []struct {
		id   string
		v    any
		want error
	}{
		{"u", json.Number("18446744073709551616"), ErrOutOfRange},
		{"u", json.Number("-1"), ErrOutOfRange},
		{"u", int64(-1), ErrOutOfRange},
		{"u", json.Number("1.5"), ErrType},
		{"u", 1.2345678901234567e19 + 0.5, nil}, // a float64 that is an integer: taken as it is
		{"i", json.Number("9223372036854775808"), ErrOutOfRange},
		{"i", json.Number("-9223372036854775809"), ErrOutOfRange},
		{"i", float64(math.MaxInt64), ErrOutOfRange}, // 2^63
		{"i", math.NaN(), ErrOutOfRange},
		{"i", true, ErrType},
		{"i", "5", ErrType},
		{"r", int64(9007199254740993), ErrOutOfRange}, // just above the range, which float64 would round onto
		{"r", int64(-1), ErrOutOfRange},
	}
	for _, r := range refused {
		err := e.Write(idx(r.id), r.v)
		if r.want == nil {
			if err != nil {
				t.Errorf("write %v to %s: %v", r.v, r.id, err)
			}
			continue
		}
		if !errors.Is(err, r.want) {
			t.Errorf("write %v (%T) to %s: %v, want %v", r.v, r.v, r.id, err, r.want)
		}
	}
}

// TestIntegerCounterExact: a counter on a uint64 tag counts in integers
// up to the type's maximum and wraps to its start, exactly.
func TestIntegerCounterExact(t *testing.T) {
	e := newEngine(t, scenario(
		scenarios.Tag{Name: "c", Type: scenarios.Uint64, Writable: true, Model: &scenarios.Model{Counter: &scenarios.Counter{Rate: 10}}},
	))
	if err := e.Write(0, uint64(math.MaxUint64-1)); err != nil {
		t.Fatal(err)
	}
	got := series(t, e, "m1/c", 3)
	if want := []any{uint64(math.MaxUint64 - 1), uint64(math.MaxUint64), uint64(0), uint64(1)}; !equalAny(got, want) {
		t.Errorf("uint64 counter %v, want %v", got, want)
	}
	// 3 a tick from MaxInt64-4: past MaxInt64 it wraps to start -5 (+1).
	e2 := newEngine(t, scenario(scenarios.Tag{Name: "d", Type: scenarios.Int64, Writable: true, Model: &scenarios.Model{Counter: &scenarios.Counter{Rate: 30, Start: -5}}}))
	if err := e2.Write(0, int64(math.MaxInt64-4)); err != nil {
		t.Fatal(err)
	}
	got = series(t, e2, "m1/d", 2)
	if want := []any{int64(math.MaxInt64 - 4), int64(math.MaxInt64 - 1), int64(-4)}; !equalAny(got, want) {
		t.Errorf("int64 counter %v, want %v", got, want)
	}
}

func equalAny(a, b []any) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// decimal matches a decimal number literal.
var decimal = regexp.MustCompile(`^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$`)

// FuzzWrite64 writes arbitrary number texts (as the control API and its
// JSON deliver them) to int64 and uint64 tags: a write succeeds exactly
// when the text is an integer within the type (math/big decides), and
// then the tag holds that integer, digit for digit.
func FuzzWrite64(f *testing.F) {
	for _, s := range []string{"12345678901234567891", "-9223372036854775807", "18446744073709551616",
		"-9223372036854775809", "1e19", "1.5", "-0", "9007199254740993", "1e-400", "1e400", "abc", ""} {
		f.Add(s)
	}
	e, err := New(scenario(
		scenarios.Tag{Name: "i", Type: scenarios.Int64, Writable: true},
		scenarios.Tag{Name: "u", Type: scenarios.Uint64, Writable: true},
	), Options{Now: fixedNow, Logger: discard})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > 80 {
			return
		}
		var r big.Rat
		_, isNum := r.SetString(s)
		if !isNum && decimal.MatchString(s) {
			return // beyond math/big's exponents: no oracle
		}
		isNum = isNum && decimal.MatchString(s)
		for i, ti := range e.Tags() {
			err := e.Write(i, json.Number(s))
			lo, hi, _ := ti.Type.IntRange()
			in := isNum && r.IsInt() && r.Num().Cmp(big.NewInt(lo)) >= 0 && r.Num().Cmp(new(big.Int).SetUint64(hi)) <= 0
			if in != (err == nil) {
				t.Fatalf("write %q to %s: %v; an integer of the type: %v", s, ti.Type, err, in)
			}
			if err == nil {
				var got big.Int
				switch v := e.Value(i).V.(type) {
				case int64:
					got.SetInt64(v)
				case uint64:
					got.SetUint64(v)
				default:
					t.Fatalf("value %T", v)
				}
				if got.Cmp(r.Num()) != 0 {
					t.Fatalf("write %q to %s holds %s", s, ti.Type, got.String())
				}
			} else if !errors.Is(err, ErrType) && !errors.Is(err, ErrOutOfRange) {
				t.Fatalf("write %q: %v, want ErrType or ErrOutOfRange", s, err)
			}
		}
	})
}
