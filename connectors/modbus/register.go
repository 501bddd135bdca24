package modbus

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/otwin/otwin/datatype"
)

// Table is one of the four Modbus data tables.
type Table uint8

// The Modbus tables, in the order the poll planner reads them.
const (
	// Holding registers: 16-bit, read with function 3 (Modicon 4xxxx).
	Holding Table = iota
	// Input registers: 16-bit, read with function 4 (Modicon 3xxxx).
	Input
	// Coil: one bit, read with function 1 (Modicon 0xxxx).
	Coil
	// Discrete input: one bit, read with function 2 (Modicon 1xxxx).
	Discrete
)

// String is the table's canonical name: holding, input, coil, discrete.
func (t Table) String() string {
	switch t {
	case Holding:
		return "holding"
	case Input:
		return "input"
	case Coil:
		return "coil"
	case Discrete:
		return "discrete"
	}
	return "table(" + strconv.Itoa(int(t)) + ")"
}

// IsBit reports whether the table holds bits (coil, discrete) rather than
// 16-bit registers.
func (t Table) IsBit() bool { return t == Coil || t == Discrete }

// Type is how a point's value is encoded in the table.
type Type uint8

// The value types.
const (
	Int16 Type = iota
	Uint16
	Int32
	Uint32
	Int64
	Uint64
	Float32
	Float64
	Bool
)

var typeNames = [...]string{
	Int16: "int16", Uint16: "uint16", Int32: "int32", Uint32: "uint32",
	Int64: "int64", Uint64: "uint64", Float32: "float32", Float64: "float64", Bool: "bool",
}

// String is the type's name as written in a point string, e.g. "float32".
func (t Type) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return "type(" + strconv.Itoa(int(t)) + ")"
}

// Width is the number of 16-bit registers a value of t occupies in a
// register table (1 for int16, uint16 and bool): datatype's fact.
func (t Type) Width() int { return t.DataType().Registers() }

// DataType is t as a datatype.Type, the home of the types' facts.
func (t Type) DataType() datatype.Type { return datatype.Type(t.String()) }

// Register is a parsed point address: which table, where, and how the
// value is encoded. The zero Register is "holding:0:int16".
type Register struct {
	// Table is the data table.
	Table Table
	// Address is the 0-based protocol address (Modicon 40001 is holding 0).
	Address uint16
	// Type is the value's encoding.
	Type Type
	// Order is the byte order of 32- and 64-bit types in canonical upper
	// case ("ABCD" … or "ABCDEFGH" …); empty for 16-bit types and bool.
	Order string
}

// Count is the number of table entries the point reads: registers for a
// register table, 1 for a bit.
func (r Register) Count() int {
	if r.Table.IsBit() {
		return 1
	}
	return r.Type.Width()
}

// String is the canonical form of r: "table:address:type" plus ":ORDER"
// for 32- and 64-bit types, e.g. "holding:100:float32:CDAB". ParseRegister
// of it returns r.
func (r Register) String() string {
	s := r.Table.String() + ":" + strconv.Itoa(int(r.Address)) + ":" + r.Type.String()
	if r.Order != "" {
		s += ":" + r.Order
	}
	return s
}

// ParseRegister parses a point string "table:address:type[:order]":
//
//   - table: holding, input, coil or discrete (aliases hr, ir, co, di;
//     case-insensitive);
//   - address: the 0-based protocol address, 0-65535 (decimal, or 0x hex).
//     Modicon numbering is 1-based with the table as a prefix digit:
//     register 40001 is holding:0, 30010 is input:9;
//   - type: int16, uint16, int32, uint32, int64, uint64, float32, float64
//     or bool. Bool is the natural type of coil and discrete; on holding
//     and input it reads one register and is true when it is not 0. Coil
//     and discrete accept only bool;
//   - order (32- and 64-bit types only, case-insensitive): ABCD (default,
//     big-endian), DCBA, BADC, CDAB; ABCDEFGH (default), HGFEDCBA,
//     BADCFEHG, GHEFCDAB.
//
// A value must fit in the table (address + width ≤ 65536). Errors name the
// offending part. ParseRegister is a pure function.
func ParseRegister(s string) (Register, error) {
	parts := strings.Split(strings.TrimSpace(s), ":")
	if len(parts) < 3 || len(parts) > 4 {
		return Register{}, fmt.Errorf("point %q: want table:address:type[:order]", s)
	}
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	var r Register
	switch strings.ToLower(parts[0]) {
	case "holding", "hr":
		r.Table = Holding
	case "input", "ir":
		r.Table = Input
	case "coil", "co":
		r.Table = Coil
	case "discrete", "di":
		r.Table = Discrete
	default:
		return Register{}, fmt.Errorf("point %q: unknown table %q (want holding, input, coil or discrete)", s, parts[0])
	}
	addr, err := strconv.ParseUint(parts[1], 0, 32)
	if err != nil || addr > math.MaxUint16 {
		return Register{}, fmt.Errorf("point %q: address %q is not a number 0-65535 (0-based: Modicon 40001 is holding:0)", s, parts[1])
	}
	r.Address = uint16(addr)
	found := false
	for i, n := range typeNames {
		if strings.EqualFold(parts[2], n) {
			r.Type, found = Type(i), true
			break
		}
	}
	if !found {
		return Register{}, fmt.Errorf("point %q: unknown type %q (want int16, uint16, int32, uint32, int64, uint64, float32, float64 or bool)", s, parts[2])
	}
	if r.Table.IsBit() && r.Type != Bool {
		return Register{}, fmt.Errorf("point %q: %s holds bits: type must be bool, not %s", s, r.Table, r.Type)
	}
	var valid []string
	if w := r.Type.Width(); w > 1 {
		valid = datatype.Orders(w)
	}
	if len(parts) == 4 {
		if valid == nil {
			return Register{}, fmt.Errorf("point %q: type %s takes no byte order", s, r.Type)
		}
		o := strings.ToUpper(parts[3])
		for _, v := range valid {
			if o == v {
				r.Order = v
			}
		}
		if r.Order == "" {
			return Register{}, fmt.Errorf("point %q: unknown order %q for %s (want %s)", s, parts[3], r.Type, strings.Join(valid, ", "))
		}
	} else if valid != nil {
		r.Order = valid[0]
	}
	if int(r.Address)+r.Count() > 65536 {
		return Register{}, fmt.Errorf("point %q: %s at %d runs past the end of the table (last address 65535)", s, r.Type, r.Address)
	}
	return r, nil
}

// errShort is returned by Decode when data holds fewer bytes than the
// value needs.
var errShort = errors.New("response too short")

// Decode decodes the point's raw value from data: for a register table,
// the point's registers as received (2×Count bytes, each register
// big-endian on the wire); for a bit table, packed bits as received with
// the point's bit at bit 0 of data[0]. The result is int64 (int16, int32,
// int64), uint64 (uint16, uint32, uint64), float64 (float32, float64) or
// bool; no scaling is applied. It returns an error when data is too short.
// Decode is a pure function.
func (r Register) Decode(data []byte) (any, error) {
	if r.Table.IsBit() {
		if len(data) < 1 {
			return nil, errShort
		}
		return data[0]&1 != 0, nil
	}
	w := r.Type.Width()
	if len(data) < 2*w {
		return nil, fmt.Errorf("%w: %d bytes for %s, want %d", errShort, len(data), r.Type, 2*w)
	}
	switch r.Type {
	case Int16:
		return int64(int16(binary.BigEndian.Uint16(data))), nil
	case Uint16:
		return uint64(binary.BigEndian.Uint16(data)), nil
	case Bool:
		return binary.BigEndian.Uint16(data) != 0, nil
	case Int32:
		return int64(int32(order32(data, r.Order))), nil
	case Uint32:
		return uint64(order32(data, r.Order)), nil
	case Float32:
		return float64(math.Float32frombits(order32(data, r.Order))), nil
	case Int64:
		return int64(order64(data, r.Order)), nil
	case Uint64:
		return order64(data, r.Order), nil
	case Float64:
		return math.Float64frombits(order64(data, r.Order)), nil
	}
	return nil, fmt.Errorf("unknown type %d", r.Type)
}

// order32 reassembles a 32-bit value from wire bytes in order o: wire
// byte i is the value byte named o[i].
func order32(wire []byte, o string) uint32 {
	if o == "" || o == "ABCD" {
		return binary.BigEndian.Uint32(wire)
	}
	var v [4]byte
	for i := range 4 {
		v[o[i]-'A'] = wire[i]
	}
	return binary.BigEndian.Uint32(v[:])
}

// order64 is order32 for 64-bit values.
func order64(wire []byte, o string) uint64 {
	if o == "" || o == "ABCDEFGH" {
		return binary.BigEndian.Uint64(wire)
	}
	var v [8]byte
	for i := range 8 {
		v[o[i]-'A'] = wire[i]
	}
	return binary.BigEndian.Uint64(v[:])
}
