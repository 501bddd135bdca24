package twin

import (
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

// limits returns the representable range of an integer type (see
// datatype.Type.Limits); isInt is false for other types.
func limits(t scenarios.DataType) (lo, hi float64, isInt bool) {
	if !t.Integer() {
		return 0, 0, false
	}
	lo, hi, _ = t.Limits()
	return lo, hi, true
}

// quantize converts v to the nearest value the tag's type can hold:
// integers are rounded and clamped, float32 loses precision, bool is 0/1.
func quantize(t scenarios.DataType, v float64) float64 {
	switch t {
	case scenarios.Bool:
		if v != 0 && !math.IsNaN(v) {
			return 1
		}
		return 0
	case scenarios.Float32:
		return float64(float32(v))
	case scenarios.Float64, scenarios.String, "":
		return v
	}
	lo, hi, _ := limits(t)
	if math.IsNaN(v) {
		return 0
	}
	v = math.Round(v)
	if v < lo {
		return lo
	}
	if v > hi {
		return hi
	}
	return v
}

// box returns the Go value of a tag of type t whose quantized value is v
// (or s for string tags).
func box(t scenarios.DataType, v float64, s string) any {
	switch t {
	case scenarios.Bool:
		return v != 0
	case scenarios.Int16:
		return int16(v)
	case scenarios.Int32:
		return int32(v)
	case scenarios.Int64:
		if v >= math.MaxInt64 {
			return int64(math.MaxInt64)
		}
		return int64(v)
	case scenarios.Uint16:
		return uint16(v)
	case scenarios.Uint32:
		return uint32(v)
	case scenarios.Uint64:
		if v >= math.MaxUint64 {
			return uint64(math.MaxUint64)
		}
		return uint64(v)
	case scenarios.Float32:
		return float32(v)
	case scenarios.String:
		return s
	}
	return v
}

// envValue is a tag's value as expressions see it: int for integer types,
// float64, bool or string.
func envValue(t scenarios.DataType, v float64, s string) any {
	switch t {
	case scenarios.Bool:
		return v != 0
	case scenarios.String:
		return s
	case scenarios.Float32, scenarios.Float64, "":
		return v
	}
	if v >= math.MaxInt64 {
		return int(math.MaxInt64)
	}
	return int(v)
}

// envZero is the zero value of a tag's type as expressions see it.
func envZero(t scenarios.DataType) any { return envValue(t, 0, "") }

// toNumber converts a Go or YAML/JSON value to float64 (bools are 0/1).
func toNumber(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case float32:
		return float64(x), true
	case int:
		return float64(x), true
	case int8:
		return float64(x), true
	case int16:
		return float64(x), true
	case int32:
		return float64(x), true
	case int64:
		return float64(x), true
	case uint:
		return float64(x), true
	case uint8:
		return float64(x), true
	case uint16:
		return float64(x), true
	case uint32:
		return float64(x), true
	case uint64:
		return float64(x), true
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	}
	return 0, false
}

// lenient converts a scenario value (constant, step, expression result)
// to a tag of type t: numbers are quantized, strings formatted, numeric
// strings parsed. ok is false when v cannot become a t at all.
func lenient(t scenarios.DataType, v any) (num float64, str string, ok bool) {
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
	if v == nil {
		return 0, "", true
	}
	if s, isStr := v.(string); isStr {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			if b, berr := strconv.ParseBool(s); berr == nil && t == scenarios.Bool {
				if b {
					return 1, "", true
				}
				return 0, "", true
			}
			return 0, "", false
		}
		return quantize(t, f), "", true
	}
	f, ok := toNumber(v)
	if !ok {
		return 0, "", false
	}
	return quantize(t, f), "", true
}

// coerce converts a client write to a tag of type t strictly: integer
// tags take only integral values within the type, string tags only
// strings, and a range, when given, is enforced.
func coerce(t scenarios.DataType, rng *scenarios.Range, v any) (num float64, str string, err error) {
	if t == scenarios.String {
		s, ok := v.(string)
		if !ok {
			return 0, "", fmt.Errorf("%w: want a string, got %T", ErrType, v)
		}
		return 0, s, nil
	}
	if _, isStr := v.(string); isStr || v == nil {
		return 0, "", fmt.Errorf("%w: want a %s, got %T", ErrType, t, v)
	}
	f, ok := toNumber(v)
	if !ok {
		return 0, "", fmt.Errorf("%w: want a %s, got %T", ErrType, t, v)
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, "", fmt.Errorf("%w: %v", ErrOutOfRange, f)
	}
	if lo, hi, isInt := limits(t); isInt {
		if f != math.Trunc(f) {
			return 0, "", fmt.Errorf("%w: %v is not an integer (%s)", ErrType, v, t)
		}
		if f < lo || f > hi {
			return 0, "", fmt.Errorf("%w: %v does not fit %s", ErrOutOfRange, v, t)
		}
	}
	if t == scenarios.Float32 && math.Abs(f) > math.MaxFloat32 {
		return 0, "", fmt.Errorf("%w: %v does not fit float32", ErrOutOfRange, v)
	}
	if rng != nil && t != scenarios.Bool && (f < rng.Low || f > rng.High) {
		return 0, "", fmt.Errorf("%w: %v outside the range [%v, %v]", ErrOutOfRange, v, rng.Low, rng.High)
	}
	return quantize(t, f), "", nil
}
