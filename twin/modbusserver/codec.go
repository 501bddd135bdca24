package modbusserver

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/otwin/otwin/scenarios"
)

// codec converts one tag's engineering value to the raw content of its
// registers or bit and back, per its scenarios.Register mapping:
// raw = (value − offset) / scale, rounded and clamped to the register type;
// value = raw × scale + offset on the way back.
type codec struct {
	tagType scenarios.DataType
	regType scenarios.DataType
	// words is the number of 16-bit registers (1, 2 or 4); 1 for bits.
	words int
	// perm[k] is the index, in the big-endian byte sequence of the raw
	// value, of the byte sent at position k.
	perm          [8]byte
	scale, offset float64
	// identity is scale 1, offset 0: integers pass without float rounding.
	identity bool
}

// errValue is returned by decode when a written raw value has no
// representation in the tag's type (out of range, NaN for an integer).
var errValue = errors.New("value out of range of the tag type")

// orderPerm parses a byte order for a value of nbytes bytes. Letters name
// the big-endian bytes (A most significant); the order lists them as sent.
// A 4-letter order on a 64-bit value means its 8-letter equivalent
// (CDAB → GHEFCDAB); on a 16-bit value only the byte swap within the word
// counts (BADC and DCBA swap, ABCD and CDAB do not).
func orderPerm(order string, nbytes int) ([8]byte, error) {
	var p [8]byte
	o := strings.ToUpper(order)
	if o == "" {
		o = "ABCDEFGH"[:max(nbytes, 4)]
	}
	switch {
	case nbytes == 2 && len(o) == 4:
		switch o {
		case "ABCD", "CDAB":
			o = "AB"
		case "BADC", "DCBA":
			o = "BA"
		}
	case nbytes == 8 && len(o) == 4:
		o = map[string]string{"ABCD": "ABCDEFGH", "DCBA": "HGFEDCBA", "BADC": "BADCFEHG", "CDAB": "GHEFCDAB"}[o]
	}
	if len(o) != nbytes {
		return p, fmt.Errorf("byte order %q does not fit a %d-byte value", order, nbytes)
	}
	var seen [8]bool
	for k := 0; k < nbytes; k++ {
		i := int(o[k]) - 'A'
		if i < 0 || i >= nbytes || seen[i] {
			return p, fmt.Errorf("byte order %q is not a permutation of %s", order, "ABCDEFGH"[:nbytes])
		}
		seen[i] = true
		p[k] = byte(i)
	}
	return p, nil
}

// newCodec builds the codec of a tag of type tagType mapped by r onto a
// register table (bits false) or a bit table (bits true).
func newCodec(tagType scenarios.DataType, r *scenarios.Register, bits bool) (*codec, error) {
	c := &codec{tagType: tagType, regType: r.Type, scale: r.Scale, offset: r.Offset}
	if c.regType == "" {
		c.regType = tagType
		if bits {
			c.regType = scenarios.Bool
		}
	}
	if c.scale == 0 {
		c.scale = 1
	}
	if math.IsNaN(c.scale) || math.IsInf(c.scale, 0) || math.IsNaN(c.offset) || math.IsInf(c.offset, 0) {
		return nil, fmt.Errorf("scale %v and offset %v must be finite", r.Scale, r.Offset)
	}
	c.identity = c.scale == 1 && c.offset == 0
	switch tagType {
	case scenarios.String, "":
		return nil, fmt.Errorf("tag type %q cannot be served over Modbus", tagType)
	}
	if tagType.Registers() == 0 {
		return nil, fmt.Errorf("unknown tag type %q", tagType)
	}
	if bits {
		if c.regType != scenarios.Bool {
			return nil, fmt.Errorf("table %s holds bits: register type must be bool, not %q", r.Table, c.regType)
		}
		c.words = 1
		return c, nil
	}
	c.words = c.regType.Registers()
	if c.words == 0 {
		return nil, fmt.Errorf("register type %q cannot be held in registers", c.regType)
	}
	if c.regType == scenarios.Bool {
		// A bool in a register is 0 or 1; no byte order applies.
		c.perm = [8]byte{0, 1}
		return c, nil
	}
	p, err := orderPerm(r.Order, 2*c.words)
	if err != nil {
		return nil, err
	}
	c.perm = p
	return c, nil
}

// num is a tag value in one of three numeric forms.
type num struct {
	kind byte // 'i' signed, 'u' unsigned, 'f' float
	i    int64
	u    uint64
	f    float64
}

func toNum(v any) num {
	switch x := v.(type) {
	case bool:
		if x {
			return num{kind: 'i', i: 1}
		}
		return num{kind: 'i'}
	case int16:
		return num{kind: 'i', i: int64(x)}
	case int32:
		return num{kind: 'i', i: int64(x)}
	case int64:
		return num{kind: 'i', i: x}
	case int:
		return num{kind: 'i', i: int64(x)}
	case uint16:
		return num{kind: 'u', u: uint64(x)}
	case uint32:
		return num{kind: 'u', u: uint64(x)}
	case uint64:
		return num{kind: 'u', u: x}
	case float32:
		return num{kind: 'f', f: float64(x)}
	case float64:
		return num{kind: 'f', f: x}
	}
	return num{kind: 'f'}
}

func (n num) float() float64 {
	switch n.kind {
	case 'i':
		return float64(n.i)
	case 'u':
		return float64(n.u)
	}
	return n.f
}

// clampInt clamps n to the integer type t and returns its two's
// complement bits.
func clampInt(n num, t scenarios.DataType) uint64 {
	lo, hi, _ := t.IntRange()
	switch n.kind {
	case 'i':
		if n.i < lo {
			return uint64(lo)
		}
		if n.i >= 0 && uint64(n.i) > hi {
			return hi
		}
		return uint64(n.i)
	case 'u':
		if n.u > hi {
			return hi
		}
		return n.u
	}
	f := math.Round(n.f)
	switch {
	case math.IsNaN(f):
		return 0
	case f <= float64(lo):
		return uint64(lo)
	case f >= float64(hi): // float64(hi) may round up past hi: clamp first
		return hi
	case f < 0:
		return uint64(int64(f))
	}
	return uint64(f)
}

// raw returns the raw bits of v in the register type, in the low
// 8*2*words bits.
func (c *codec) raw(v any) uint64 {
	n := toNum(v)
	if !c.identity {
		n = num{kind: 'f', f: (n.float() - c.offset) / c.scale}
	}
	switch c.regType {
	case scenarios.Float32:
		return uint64(math.Float32bits(float32(n.float())))
	case scenarios.Float64:
		return math.Float64bits(n.float())
	case scenarios.Bool:
		if n.kind == 'f' {
			if f := math.Round(n.f); f != 0 && !math.IsNaN(f) {
				return 1
			}
			return 0
		}
		if n.i != 0 || n.u != 0 {
			return 1
		}
		return 0
	}
	return clampInt(n, c.regType)
}

// encode writes the registers of value v into dst (len ≥ 2*c.words) as
// they are sent: byte k is byte c.perm[k] of the big-endian raw value.
func (c *codec) encode(v any, dst []byte) {
	r := c.raw(v)
	nb := 2 * c.words
	var be [8]byte
	binary.BigEndian.PutUint64(be[:], r<<(64-8*uint(nb)))
	for k := 0; k < nb; k++ {
		dst[k] = be[c.perm[k]]
	}
}

// bit returns the bit value of v.
func (c *codec) bit(v any) bool { return c.raw(v) != 0 }

// decode turns the registers src (len ≥ c.words) back into a value of the
// tag's type; errValue when it has no representation there.
func (c *codec) decode(src []uint16) (any, error) {
	nb := 2 * c.words
	var in, be [8]byte
	for w := 0; w < c.words; w++ {
		binary.BigEndian.PutUint16(in[2*w:], src[w])
	}
	for k := 0; k < nb; k++ {
		be[c.perm[k]] = in[k]
	}
	r := binary.BigEndian.Uint64(be[:]) >> (64 - 8*uint(nb))
	var n num
	switch c.regType {
	case scenarios.Float32:
		n = num{kind: 'f', f: float64(math.Float32frombits(uint32(r)))}
	case scenarios.Float64:
		n = num{kind: 'f', f: math.Float64frombits(r)}
	case scenarios.Int16:
		n = num{kind: 'i', i: int64(int16(r))}
	case scenarios.Int32:
		n = num{kind: 'i', i: int64(int32(r))}
	case scenarios.Int64:
		n = num{kind: 'i', i: int64(r)}
	case scenarios.Bool:
		if r > 1 {
			return nil, errValue
		}
		n = num{kind: 'u', u: r}
	default:
		n = num{kind: 'u', u: r}
	}
	return c.fromNum(n)
}

// decodeBit turns a written bit back into a value of the tag's type.
func (c *codec) decodeBit(b bool) (any, error) {
	n := num{kind: 'u'}
	if b {
		n.u = 1
	}
	return c.fromNum(n)
}

// fromNum applies scale and offset to a raw number and converts it to the
// tag's type, failing when it does not fit.
func (c *codec) fromNum(n num) (any, error) {
	if !c.identity {
		n = num{kind: 'f', f: n.float()*c.scale + c.offset}
	}
	switch c.tagType {
	case scenarios.Float64:
		return n.float(), nil
	case scenarios.Float32:
		f := n.float()
		if !math.IsInf(f, 0) && !math.IsNaN(f) && math.Abs(f) > math.MaxFloat32 {
			return nil, errValue
		}
		return float32(f), nil
	case scenarios.Bool:
		switch n.kind {
		case 'i':
			return n.i != 0, nil
		case 'u':
			return n.u != 0, nil
		}
		if math.IsNaN(n.f) {
			return nil, errValue
		}
		return math.Round(n.f) != 0, nil
	}
	// Integer tag types: exact, else rounded, and within range.
	lo, hi, _ := c.tagType.IntRange()
	var neg bool
	var mag uint64 // |value|
	switch n.kind {
	case 'i':
		neg = n.i < 0
		if neg {
			mag = uint64(-(n.i + 1)) + 1
		} else {
			mag = uint64(n.i)
		}
	case 'u':
		mag = n.u
	default:
		f := math.Round(n.f)
		if math.IsNaN(f) || math.IsInf(f, 0) || f >= 18446744073709551616.0 || f <= -9223372036854775809.0 {
			return nil, errValue
		}
		neg = f < 0
		if neg {
			if f < -9223372036854775808.0 {
				return nil, errValue
			}
			if f == -9223372036854775808.0 {
				mag = 1 << 63
			} else {
				mag = uint64(-f)
			}
		} else {
			mag = uint64(f)
		}
	}
	if neg {
		if lo == 0 || mag > uint64(-(lo+1))+1 {
			return nil, errValue
		}
	} else if mag > hi {
		return nil, errValue
	}
	var i int64
	if neg {
		i = -int64(mag-1) - 1
	} else {
		i = int64(mag) // only used for signed types below, where mag ≤ MaxInt64
	}
	switch c.tagType {
	case scenarios.Int16:
		return int16(i), nil
	case scenarios.Int32:
		return int32(i), nil
	case scenarios.Int64:
		return i, nil
	case scenarios.Uint16:
		return uint16(mag), nil
	case scenarios.Uint32:
		return uint32(mag), nil
	case scenarios.Uint64:
		return mag, nil
	}
	return nil, fmt.Errorf("unknown tag type %q", c.tagType)
}
