// Package datatype holds the facts of otwin's value types in one place:
// their names, whether they are numeric, integer or signed, the exact range
// of each integer type, how many 16-bit Modbus registers a value occupies,
// and which byte orders fit that width.
//
// It is a leaf package: the scenario format and the twin (the simulator
// half) and the Modbus connector and the sources file (the monitoring
// half) all ask it, so a register width or an integer range cannot differ
// between the twin that serves a value and the connector that reads it.
package datatype

import (
	"math"
	"slices"
)

// Type is a value's data type, named as configuration files write it.
type Type string

// The data types.
const (
	Bool    Type = "bool"
	Int16   Type = "int16"
	Int32   Type = "int32"
	Int64   Type = "int64"
	Uint16  Type = "uint16"
	Uint32  Type = "uint32"
	Uint64  Type = "uint64"
	Float32 Type = "float32"
	Float64 Type = "float64"
	String  Type = "string"
)

// All lists every data type.
var All = []Type{Bool, Int16, Int32, Int64, Uint16, Uint32, Uint64, Float32, Float64, String}

// Known reports whether t is one of All.
func (t Type) Known() bool { return slices.Contains(All, t) }

// Numeric reports whether t is an integer or floating-point type.
func (t Type) Numeric() bool { return t.Integer() || t.Float() }

// Float reports whether t is float32 or float64.
func (t Type) Float() bool { return t == Float32 || t == Float64 }

// Integer reports whether t is one of the integer types.
func (t Type) Integer() bool {
	switch t {
	case Int16, Int32, Int64, Uint16, Uint32, Uint64:
		return true
	}
	return false
}

// Signed reports whether t is a signed integer type.
func (t Type) Signed() bool { return t == Int16 || t == Int32 || t == Int64 }

// Bits is the width of a value of t in bits: 1 for bool, 16, 32 or 64 for
// numbers, 0 for string.
func (t Type) Bits() int {
	switch t {
	case Bool:
		return 1
	case Int16, Uint16:
		return 16
	case Int32, Uint32, Float32:
		return 32
	case Int64, Uint64, Float64:
		return 64
	}
	return 0
}

// Registers is how many 16-bit registers a value of t occupies in a
// Modbus register table: 1 for bool and 16-bit types, 2 for 32-bit and 4
// for 64-bit types, 0 for string (not mappable).
func (t Type) Registers() int {
	switch b := t.Bits(); {
	case b == 0:
		return 0
	case b <= 16:
		return 1
	default:
		return b / 16
	}
}

// IntRange is the exact range of an integer type (bool: 0..1): Min as an
// int64 and Max as a uint64, so that int64's minimum and uint64's maximum
// are exact. ok is false for other types.
func (t Type) IntRange() (lo int64, hi uint64, ok bool) {
	switch t {
	case Bool:
		return 0, 1, true
	case Int16:
		return math.MinInt16, math.MaxInt16, true
	case Int32:
		return math.MinInt32, math.MaxInt32, true
	case Int64:
		return math.MinInt64, math.MaxInt64, true
	case Uint16:
		return 0, math.MaxUint16, true
	case Uint32:
		return 0, math.MaxUint32, true
	case Uint64:
		return 0, math.MaxUint64, true
	}
	return 0, 0, false
}

// Limits is the range of a numeric type as float64 (±MaxFloat32 for
// float32, ±Inf for float64): the bounds a computed value is clamped to.
// The integer bounds of int64 and uint64 are the nearest float64 values;
// use IntRange where exactness matters. ok is false for bool and string.
func (t Type) Limits() (lo, hi float64, ok bool) {
	switch t {
	case Float32:
		return -math.MaxFloat32, math.MaxFloat32, true
	case Float64:
		return math.Inf(-1), math.Inf(1), true
	case Bool, String:
		return 0, 0, false
	}
	l, h, ok := t.IntRange()
	if !ok {
		return 0, 0, false
	}
	return float64(l), float64(h), true
}

// Orders returns the byte orders valid for a value of n registers, the
// big-endian order first. A letter names a byte of the value in big-endian
// significance (A is the most significant); an order lists the bytes as
// they appear on the wire, register by register. 4-register orders are
// the 8-letter equivalents of the 2-register ones.
func Orders(n int) []string {
	switch n {
	case 1:
		return []string{"AB", "BA"}
	case 2:
		return []string{"ABCD", "DCBA", "BADC", "CDAB"}
	case 4:
		return []string{"ABCDEFGH", "HGFEDCBA", "BADCFEHG", "GHEFCDAB"}
	}
	return nil
}
