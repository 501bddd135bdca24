package scenarios

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Values of a tag's type. Exact is the one rule of what a value of a data
// type is: the validator applies it to constants, step values and
// timeline writes, the twin to every write a client makes (OPC UA,
// Modbus, the control API), so that what validate accepts is what the
// twin serves, digit for digit.
//
// Integers are exact over the whole range of their type, int64 and
// uint64 included: a number is taken as written (a YAML or JSON literal by
// its decimal text, never through float64), and a value that is not an
// integer, or lies outside the type, is refused rather than rounded or
// clamped.

// Errors of Exact, to test with errors.Is.
var (
	// ErrValueType: the value is not of the type at all (a string for a
	// number, a fraction for an integer).
	ErrValueType = errors.New("value of the wrong type")
	// ErrValueRange: the value is of the type's kind but outside its range.
	ErrValueRange = errors.New("value out of range")
)

// ValueError says why a value is not a value of a data type. Its message
// is the validator's ("40000 is out of the int16 range").
type ValueError struct {
	// Kind is ErrValueType or ErrValueRange.
	Kind error
	msg  string
}

// Error returns the reason, e.g. "1.5 is not an integer (the tag is int16)".
func (e *ValueError) Error() string { return e.msg }

// Unwrap returns Kind.
func (e *ValueError) Unwrap() error { return e.Kind }

func typeErr(format string, args ...any) error {
	return &ValueError{Kind: ErrValueType, msg: fmt.Sprintf(format, args...)}
}

func rangeErr(format string, args ...any) error {
	return &ValueError{Kind: ErrValueRange, msg: fmt.Sprintf(format, args...)}
}

// Exact returns v as the Go value of type t (bool, int16, int32, int64,
// uint16, uint32, uint64, float32, float64 or string) when v is exactly a
// value of t, else a *ValueError. v may be any Go bool, integer, float or
// string, or a json.Number (read by its text). bool tags take only bools
// and string tags only strings; numeric tags take numbers: integer types
// only integral values within the type, float types any finite number
// (float32 within its range). It is pure and safe for concurrent use.
func Exact(t DataType, v any) (any, error) {
	switch t {
	case Bool:
		if b, ok := v.(bool); ok {
			return b, nil
		}
		return nil, notA(v, t)
	case String:
		if s, ok := v.(string); ok {
			return s, nil
		}
		return nil, notA(v, t)
	}
	if !t.Numeric() {
		return nil, typeErr("unknown data type %q", t)
	}
	n, ok := numberOf(v)
	if !ok {
		return nil, notA(v, t)
	}
	if t.Float() {
		f := n.float()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, rangeErr("%v is not a finite number", v)
		}
		if t == Float32 {
			if math.Abs(f) > math.MaxFloat32 {
				return nil, rangeErr("%v is out of the float32 range", v)
			}
			return float32(f), nil
		}
		return f, nil
	}
	if !n.isInt {
		if math.IsNaN(n.f) || math.IsInf(n.f, 0) && !n.overflow {
			return nil, rangeErr("%v is not a finite number", v)
		}
		if n.overflow {
			return nil, rangeErr("%v is out of the %s range", v, t)
		}
		return nil, typeErr("%v is not an integer (the tag is %s)", v, t)
	}
	if !n.fits(t) {
		return nil, rangeErr("%v is out of the %s range", v, t)
	}
	return n.as(t), nil
}

// notA is the error for a value of the wrong kind.
func notA(v any, t DataType) error {
	if s, ok := v.(string); ok {
		return typeErr("%q is not %s %s", s, article(string(t)), t)
	}
	return typeErr("%v is not %s %s", v, article(string(t)), t)
}

// Float returns v, any Go integer or float or a json.Number, as the
// nearest float64; ok is false for any other value.
func Float(v any) (f float64, ok bool) {
	n, ok := numberOf(v)
	if !ok {
		return 0, false
	}
	return n.float(), true
}

// Number is Float that also reads a bool, as 0 or 1: the value of a tag
// as a number, for expressions, aggregates and checks.
func Number(v any) (f float64, ok bool) {
	if b, isBool := v.(bool); isBool {
		if b {
			return 1, true
		}
		return 0, true
	}
	return Float(v)
}

// number is a numeric value as read: an exact integer (neg, mag) when
// isInt, else a float f; overflow marks an integer beyond 64 bits.
type number struct {
	isInt    bool
	neg      bool
	mag      uint64 // |value| when isInt
	f        float64
	overflow bool
}

// numberOf reads any Go number or json.Number; ok is false for other
// values.
func numberOf(v any) (number, bool) {
	switch x := v.(type) {
	case int:
		return intNumber(int64(x)), true
	case int8:
		return intNumber(int64(x)), true
	case int16:
		return intNumber(int64(x)), true
	case int32:
		return intNumber(int64(x)), true
	case int64:
		return intNumber(x), true
	case uint:
		return number{isInt: true, mag: uint64(x)}, true
	case uint8:
		return number{isInt: true, mag: uint64(x)}, true
	case uint16:
		return number{isInt: true, mag: uint64(x)}, true
	case uint32:
		return number{isInt: true, mag: uint64(x)}, true
	case uint64:
		return number{isInt: true, mag: x}, true
	case float32:
		return floatNumber(float64(x)), true
	case float64:
		return floatNumber(x), true
	case json.Number:
		return parseNumber(string(x))
	}
	return number{}, false
}

func intNumber(i int64) number {
	if i < 0 {
		return number{isInt: true, neg: true, mag: uint64(-(i + 1)) + 1}
	}
	return number{isInt: true, mag: uint64(i)}
}

// two64 is 2^64 as a float64 (exact).
const two64 = 18446744073709551616.0

// floatNumber is f, as an exact integer when it is one within 64 bits.
func floatNumber(f float64) number {
	n := number{f: f}
	if math.IsNaN(f) || math.IsInf(f, 0) || f != math.Trunc(f) {
		return n
	}
	if math.Abs(f) >= two64 {
		n.isInt, n.overflow = false, true
		return n
	}
	n.isInt = true
	if f < 0 {
		n.neg, n.mag = true, uint64(-f)
	} else {
		n.mag = uint64(f)
	}
	if n.mag == 0 {
		n.neg = false
	}
	return n
}

// float returns the number as a float64 (the nearest one).
func (n number) float() float64 {
	if !n.isInt {
		return n.f
	}
	f := float64(n.mag)
	if n.neg {
		return -f
	}
	return f
}

// inGo reports whether the integer n is an int64 or a uint64.
func (n number) inGo() bool { return n.isInt && (!n.neg || n.mag <= 1<<63) }

// goValue returns the integer n (inGo) as an int64, or a uint64 above
// int64's maximum.
func (n number) goValue() any {
	switch {
	case n.neg:
		return -int64(n.mag-1) - 1
	case n.mag > math.MaxInt64:
		return n.mag
	}
	return int64(n.mag)
}

// fits reports whether the integer n lies within the integer type t.
func (n number) fits(t DataType) bool {
	lo, hi, ok := t.IntRange()
	if !ok || !n.isInt {
		return false
	}
	if n.neg {
		return lo < 0 && n.mag <= uint64(-(lo+1))+1
	}
	return n.mag <= hi
}

// as returns the integer n, which fits t, as the Go value of t.
func (n number) as(t DataType) any {
	i := int64(n.mag)
	if n.neg {
		i = -int64(n.mag-1) - 1
	}
	switch t {
	case Int16:
		return int16(i)
	case Int32:
		return int32(i)
	case Int64:
		return i
	case Uint16:
		return uint16(n.mag)
	case Uint32:
		return uint32(n.mag)
	case Uint64:
		return n.mag
	}
	return nil
}

// parseNumber reads a decimal number literal (an optional sign, digits
// with an optional fraction, an optional exponent: the syntax of JSON
// numbers and YAML's decimal floats) by its text: an integer value is
// kept exactly when it fits 64 bits, whatever its spelling (1e3, 20.0);
// any other value is the nearest float64. ok is false when s is not such
// a literal.
func parseNumber(s string) (n number, ok bool) {
	body := s
	neg := false
	switch {
	case strings.HasPrefix(body, "-"):
		neg, body = true, body[1:]
	case strings.HasPrefix(body, "+"):
		body = body[1:]
	}
	mant, exp := body, 0
	if i := strings.IndexAny(body, "eE"); i >= 0 {
		mant = body[:i]
		e, err := strconv.Atoi(body[i+1:])
		if err != nil {
			if !allDigits(strings.TrimLeft(body[i+1:], "+-")) || len(body[i+1:]) < 2 {
				return number{}, false
			}
			// An exponent beyond int: clamp, the value is 0 or huge.
			e = math.MaxInt32
			if strings.HasPrefix(body[i+1:], "-") {
				e = math.MinInt32
			}
		}
		exp = max(min(e, math.MaxInt32), math.MinInt32)
	}
	intPart, frac, _ := strings.Cut(mant, ".")
	if intPart == "" && frac == "" || !allDigits(intPart) || !allDigits(frac) {
		return number{}, false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return number{}, false
	}
	n = number{f: f}
	digits := strings.TrimLeft(intPart+frac, "0")
	point := len(intPart) + exp - (len(intPart+frac) - len(digits)) // digits before the point
	if digits == "" {
		return number{isInt: true}, true // zero
	}
	if point < len(digits) && strings.Trim(digits[max(point, 0):], "0") != "" {
		return n, true // a fraction
	}
	if point > 20 {
		n.overflow = true
		return n, true
	}
	whole := digits[:min(point, len(digits))] + strings.Repeat("0", max(point-len(digits), 0))
	mag, err := strconv.ParseUint(whole, 10, 64)
	if err != nil {
		n.overflow = true
		return n, true
	}
	return number{isInt: true, neg: neg && mag != 0, mag: mag, f: f}, true
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
