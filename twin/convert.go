package twin

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"

	"github.com/otwin/otwin/scenarios"
)

// Errors returned by Write, Inject, InjectNamed and Clear; test with
// errors.Is. The control API maps them to HTTP status codes.
var (
	// ErrUnknownTag: no tag has that index or id.
	ErrUnknownTag = errors.New("unknown tag")
	// ErrNotWritable: the tag is not writable.
	ErrNotWritable = errors.New("tag is not writable")
	// ErrType: the value cannot be converted to the tag's type.
	ErrType = errors.New("type mismatch")
	// ErrOutOfRange: the value lies outside the tag's type or range.
	ErrOutOfRange = errors.New("value out of range")
	// ErrUnknownFault: no fault of that name is defined or active.
	ErrUnknownFault = errors.New("unknown fault")
	// ErrNotActive: the fault is defined but not active.
	ErrNotActive = errors.New("fault is not active")
	// ErrInvalidFault: the fault does not validate.
	ErrInvalidFault = errors.New("invalid fault")
	// ErrUnknownState: the state machine has no such state.
	ErrUnknownState = errors.New("unknown state")
)

// tval is a tag's numeric value, held exactly as its type holds it: an
// integer type's value as its two's-complement bits (int64 sign-extended,
// a uint64 as itself), bool as 0 or 1, a float type's as the bits of a
// float64 (float32 values rounded to float32 first). String tags keep
// their value beside it, as a string, and tval 0. Equal values have equal
// bits, so a tval compares with ==.
type tval uint64

// signBit flips the order of signed values into unsigned order.
const signBit = 1 << 63

// fromFloat converts a computed value to type t: integers are rounded and
// clamped to the type (NaN is 0), float32 loses precision, bool is true
// when not zero.
func fromFloat(t scenarios.DataType, f float64) tval {
	switch {
	case t == scenarios.Bool:
		if f != 0 && !math.IsNaN(f) {
			return 1
		}
		return 0
	case t == scenarios.Float32:
		return tval(math.Float64bits(float64(float32(f))))
	case !t.Integer():
		return tval(math.Float64bits(f))
	}
	if math.IsNaN(f) {
		return 0
	}
	f = math.Round(f)
	lo, hi, _ := t.IntRange()
	switch {
	case f <= float64(lo):
		return tval(lo)
	case f >= float64(hi): // float64(hi) may round up past hi: clamp first
		return tval(hi)
	case f < 0:
		return tval(int64(f))
	}
	return tval(uint64(f))
}

// fromInt converts an integer to type t exactly, clamped to the type.
func fromInt(t scenarios.DataType, i int64) tval {
	if !t.Integer() {
		return fromFloat(t, float64(i))
	}
	lo, hi, _ := t.IntRange()
	switch {
	case i < lo:
		return tval(lo)
	case i >= 0 && uint64(i) > hi:
		return tval(hi)
	}
	return tval(i)
}

// fromUint converts an unsigned integer to type t exactly, clamped.
func fromUint(t scenarios.DataType, u uint64) tval {
	if !t.Integer() {
		return fromFloat(t, float64(u))
	}
	if _, hi, _ := t.IntRange(); u > hi {
		return tval(hi)
	}
	return tval(u)
}

// float returns v, of type t, as a float64 (the nearest one for integers
// beyond 2^53).
func (v tval) float(t scenarios.DataType) float64 {
	switch {
	case t == scenarios.Bool:
		return float64(v)
	case t.Integer() && t.Signed():
		return float64(int64(v))
	case t.Integer():
		return float64(uint64(v))
	}
	return math.Float64frombits(uint64(v))
}

// key maps an integer value of type t to an unsigned number in the same
// order (signed values shifted by 2^63), for arithmetic without overflow.
func (v tval) key(t scenarios.DataType) uint64 {
	if t.Signed() {
		return uint64(v) ^ signBit
	}
	return uint64(v)
}

// fromKey is the inverse of key.
func fromKey(t scenarios.DataType, k uint64) tval {
	if t.Signed() {
		return tval(k ^ signBit)
	}
	return tval(k)
}

// box returns the Go value of a tag of type t whose value is v (or s for
// string tags).
func box(t scenarios.DataType, v tval, s string) any {
	switch t {
	case scenarios.Bool:
		return v != 0
	case scenarios.Int16:
		return int16(v)
	case scenarios.Int32:
		return int32(v)
	case scenarios.Int64:
		return int64(v)
	case scenarios.Uint16:
		return uint16(v)
	case scenarios.Uint32:
		return uint32(v)
	case scenarios.Uint64:
		return uint64(v)
	case scenarios.Float32:
		return float32(math.Float64frombits(uint64(v)))
	case scenarios.String:
		return s
	}
	return math.Float64frombits(uint64(v))
}

// unbox converts the Go value of type t (as scenarios.Exact returns it)
// to a tval; ok is false for any other value.
func unbox(t scenarios.DataType, x any) (tval, bool) {
	switch x := x.(type) {
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	case int16:
		return tval(int64(x)), true
	case int32:
		return tval(int64(x)), true
	case int64:
		return tval(x), true
	case uint16:
		return tval(x), true
	case uint32:
		return tval(x), true
	case uint64:
		return tval(x), true
	case float32:
		return tval(math.Float64bits(float64(x))), true
	case float64:
		return tval(math.Float64bits(x)), true
	}
	return 0, false
}

// envValue is a tag's value as expressions see it: int for integer types
// (a uint64 above int's maximum is int's maximum), float64, bool or
// string.
func envValue(t scenarios.DataType, v tval, s string) any {
	switch {
	case t == scenarios.Bool:
		return v != 0
	case t == scenarios.String:
		return s
	case t.Integer() && t.Signed():
		return int(int64(v))
	case t.Integer():
		if uint64(v) > math.MaxInt64 {
			return int(math.MaxInt64)
		}
		return int(v)
	}
	return math.Float64frombits(uint64(v))
}

// envZero is the zero value of a tag's type as expressions see it.
func envZero(t scenarios.DataType) any { return envValue(t, fromFloat(t, 0), "") }

// lenient converts a scenario value (a constant, a step, an expression's
// result) to a tag of type t: exactly when it is a value of t (integers
// are never taken through float64), else numbers rounded and clamped,
// strings formatted, numeric strings parsed.
// ok is false when v cannot become a t at all.
func lenient(t scenarios.DataType, v any) (num tval, str string, ok bool) {
	if t == scenarios.String {
		switch x := v.(type) {
		case string:
			return 0, x, true
		case nil:
			return 0, "", true
		case float64:
			return 0, strconv.FormatFloat(x, 'g', -1, 64), true
		}
		return 0, fmt.Sprint(v), true
	}
	switch x := v.(type) {
	case nil:
		return fromFloat(t, 0), "", true
	case float64:
		return fromFloat(t, x), "", true
	case int:
		return fromInt(t, int64(x)), "", true
	case int64:
		return fromInt(t, x), "", true
	case uint64:
		return fromUint(t, x), "", true
	case json.Number:
		return lenient(t, string(x))
	case string:
		if n, err := scenarios.Exact(t, json.Number(x)); err == nil {
			u, _ := unbox(t, n)
			return u, "", true
		}
		if f, err := strconv.ParseFloat(x, 64); err == nil {
			return fromFloat(t, f), "", true
		}
		if b, err := strconv.ParseBool(x); err == nil && t == scenarios.Bool {
			if b {
				return 1, "", true
			}
			return 0, "", true
		}
		return 0, "", false
	}
	f, ok := scenarios.Number(v)
	if !ok {
		return 0, "", false
	}
	return fromFloat(t, f), "", true
}

// coerce converts a client write to a tag of type t strictly (see
// scenarios.Exact: integers exactly, only integral values within the
// type; bools only for bool tags, strings only for string tags), and
// enforces the tag's range when it has one.
func coerce(t scenarios.DataType, rng *scenarios.Range, v any) (num tval, str string, err error) {
	x, err := scenarios.Exact(t, v)
	if err != nil {
		if errors.Is(err, scenarios.ErrValueRange) {
			return 0, "", fmt.Errorf("%w: %v", ErrOutOfRange, err)
		}
		return 0, "", fmt.Errorf("%w: %v (a %T)", ErrType, err, v)
	}
	if t == scenarios.String {
		return 0, x.(string), nil
	}
	num, _ = unbox(t, x)
	if rng != nil && t != scenarios.Bool && (num.cmpFloat(t, rng.Low) < 0 || num.cmpFloat(t, rng.High) > 0) {
		return 0, "", fmt.Errorf("%w: %v outside the range [%v, %v]", ErrOutOfRange, v, rng.Low, rng.High)
	}
	return num, "", nil
}

// cmpFloat compares v, of numeric type t, with f exactly: -1, 0 or +1 (a
// NaN bound compares equal, so it never refuses a value).
func (v tval) cmpFloat(t scenarios.DataType, f float64) int {
	if math.IsNaN(f) {
		return 0
	}
	if !t.Integer() {
		switch x := v.float(t); {
		case x < f:
			return -1
		case x > f:
			return 1
		}
		return 0
	}
	switch {
	case f >= two64:
		return -1
	case f < -two63:
		return 1
	}
	// Compare with the integer part of f exactly, then the fraction.
	tr := math.Trunc(f)
	var c int
	if t.Signed() {
		i := int64(v)
		if tr >= two63 {
			return -1
		}
		c = cmp.Compare(i, int64(tr))
	} else {
		u := uint64(v)
		if tr < 0 {
			return 1
		}
		c = cmp.Compare(u, uint64(tr))
	}
	if c != 0 {
		return c
	}
	switch {
	case f > tr:
		return -1
	case f < tr:
		return 1
	}
	return 0
}

// 2^63 and 2^64 as float64 (exact).
const (
	two63 = 9223372036854775808.0
	two64 = 18446744073709551616.0
)
