package verify

import (
	"fmt"
	"math"
	"strconv"

	"github.com/otwin/otwin/datatype"
	"github.com/otwin/otwin/units"
)

// value is a value as compared: a number (bools are 0 and 1) or a text.
type value struct {
	num    float64
	text   string
	isText bool
	isBool bool
}

// valueOf converts a raw value (a connector's, or the twin's) into a
// value; ok is false for nil and for types it does not know.
func valueOf(raw any) (value, bool) {
	switch x := raw.(type) {
	case bool:
		if x {
			return value{num: 1, isBool: true}, true
		}
		return value{isBool: true}, true
	case float64:
		return value{num: x}, !math.IsNaN(x) && !math.IsInf(x, 0)
	case float32:
		return value{num: float64(x)}, true
	case int64:
		return value{num: float64(x)}, true
	case uint64:
		return value{num: float64(x)}, true
	case int:
		return value{num: float64(x)}, true
	case string:
		return value{text: x, isText: true}, true
	}
	return value{}, false
}

// String formats v for messages.
func (v value) String() string {
	switch {
	case v.isText:
		return strconv.Quote(v.text)
	case v.isBool:
		return strconv.FormatBool(v.num != 0)
	}
	return strconv.FormatFloat(v.num, 'g', 6, 64)
}

// mapping turns a raw number into an engineering value as the normalizer
// does: (raw × scale + offset), converted from one unit to another.
type mapping struct {
	scale, offset float64
	// mul and add convert the scaled value (convert_from → unit); 1, 0
	// without a conversion.
	mul, add float64
}

func (m mapping) apply(raw float64) float64 {
	return (raw*m.scale+m.offset)*m.mul + m.add
}

// expectation is what a point must read at one round: the twin's value
// converted into the unit the point labels it with, and how far off a
// reading may be (the twin's own rounding: its register's resolution, a
// float32's precision).
type expectation struct {
	want value
	tol  float64
	// bad says the twin serves the value with a Bad status.
	bad bool
	ok  bool
}

// matches reports whether got is the expected value.
func (e expectation) matches(got value) bool {
	if !e.ok {
		return false
	}
	if e.want.isText || got.isText {
		return e.want.isText && got.isText && e.want.text == got.text
	}
	return math.Abs(got.num-e.want.num) <= e.tol
}

// precision is how exactly a protocol carries a value: to within res/2
// (an integer register's step, in the twin's unit) plus rel × |value|
// (a float's precision).
type precision struct{ res, rel float64 }

// resolution is the precision of a value of type typ (a register's or a
// tag's), raw × scale.
func resolution(typ string, scale float64) precision {
	t := datatype.Type(typ)
	switch {
	case t == datatype.Float32:
		return precision{rel: 1e-6}
	case t == datatype.Float64:
		return precision{rel: 1e-9}
	case t.Integer():
		if scale == 0 {
			scale = 1
		}
		return precision{res: math.Abs(scale)}
	}
	return precision{}
}

// expect is what a point labelled in unit label (zero: whatever the
// twin's unit is) must read of tag t at one round, carried with precision
// p. ok is false when the twin has no value, or when label and the twin's
// unit are different quantities.
func expect(t *Tag, label units.Unit, p precision) expectation {
	v, ok := valueOf(t.Value)
	if !ok {
		return expectation{}
	}
	e := expectation{want: v, ok: true, bad: t.Status&0x80000000 != 0}
	if v.isText {
		return e
	}
	tol := p.res/2 + math.Abs(v.num)*p.rel + 1e-9
	if tu, known := units.Lookup(t.Unit); known && !label.IsZero() && !sameUnit(tu, label) {
		mul, add, convertible := units.Conversion(tu, label)
		if !convertible {
			return expectation{}
		}
		e.want.num = v.num*mul + add
		tol *= math.Abs(mul)
		// The conversion factors are rounded to about 10 digits.
		tol += math.Abs(e.want.num) * 1e-9
	}
	e.tol = tol
	return e
}

// sameUnit says a and b are one unit.
func sameUnit(a, b units.Unit) bool {
	return a == b || a.Code != "" && a.Code == b.Code
}

// unitName names u for messages: its symbol and, when it has one, its code
// as a sources file may write it.
func unitName(u units.Unit) string {
	if u.IsZero() {
		return "no unit"
	}
	return u.Symbol
}

// unitKey is how a sources file writes u: its symbol when that is plain
// ASCII ("bar", "kW"), else its shortest plain spelling ("degF"), else
// its code.
func unitKey(u units.Unit) string {
	if isPlain(u.Symbol) {
		return u.Symbol
	}
	best := ""
	for _, n := range units.Names() {
		if l, ok := units.Lookup(n); ok && sameUnit(l, u) && isPlain(n) && n != u.Code && (best == "" || len(n) < len(best)) {
			best = n
		}
	}
	if best != "" {
		return best
	}
	if u.Code != "" {
		return u.Code
	}
	return u.Symbol
}

func isPlain(s string) bool {
	for _, r := range s {
		if r > 127 {
			return false
		}
	}
	return s != ""
}

// lookupUnit resolves a unit written in a file or by the twin; the zero
// Unit when s is empty or unknown.
func lookupUnit(s string) units.Unit {
	if s == "" {
		return units.Unit{}
	}
	u, _ := units.Lookup(s)
	return u
}

// mappingAlt is one interpretation of a raw number: a mapping, the unit
// the point would then label it with, and what differs from the file.
type mappingAlt struct {
	m     mapping
	label units.Unit
	// changes are the aspects changed ("scale", "unit"), with what to
	// write instead.
	changes []change
}

// change is one aspect of a point that must change, and how.
type change struct {
	kind Kind
	// msg explains it; fix is what to write in the sources file.
	msg, fix string
}

// powersOfTen are the factors a scale or offset is tried off by.
var powersOfTen = []float64{10, 0.1, 100, 0.01, 1000, 0.001}

// mappingAlts lists the interpretations of a point's raw value, the file's
// own first: scale or offset off by a power of ten, the twin's offset, and
// the unit relabelled or converted (the twin's unit tu).
func mappingAlts(scale, offset float64, convertFrom, label, tu units.Unit, twinOffset float64) []mappingAlt {
	if scale == 0 {
		scale = 1
	}
	conv := func(from units.Unit) (float64, float64) {
		if from.IsZero() || label.IsZero() {
			return 1, 0
		}
		mul, add, ok := units.Conversion(from, label)
		if !ok {
			return 1, 0
		}
		return mul, add
	}
	mul, add := conv(convertFrom)
	base := mapping{scale: scale, offset: offset, mul: mul, add: add}
	alts := []mappingAlt{{m: base, label: label}}
	for _, k := range powersOfTen {
		m := base
		m.scale = round12(scale * k)
		alts = append(alts, mappingAlt{m: m, label: label, changes: []change{{
			kind: KindScale,
			msg:  fmt.Sprintf("scale off by a factor of %g: the value is raw × %g, not × %g", k, m.scale, scale),
			fix:  "scale: " + num(m.scale),
		}}})
	}
	offsets := []float64{}
	if offset != 0 {
		for _, k := range powersOfTen {
			offsets = append(offsets, round12(offset*k))
		}
	}
	if twinOffset != offset {
		offsets = append(offsets, twinOffset)
	}
	for _, o := range offsets {
		m := base
		m.offset = o
		alts = append(alts, mappingAlt{m: m, label: label, changes: []change{{
			kind: KindScale,
			msg:  fmt.Sprintf("offset off: the value is raw × %g + %g, not + %g", scale, o, offset),
			fix:  "offset: " + num(o),
		}}})
	}
	if !tu.IsZero() && !label.IsZero() && !sameUnit(tu, label) {
		// The device delivers the twin's unit: label it so ...
		from := "the file says " + unitName(label)
		if !convertFrom.IsZero() {
			from = "the file converts from " + unitName(convertFrom) + " to " + unitName(label)
		}
		alts = append(alts, mappingAlt{
			m: mapping{scale: scale, offset: offset, mul: 1}, label: tu,
			changes: []change{{
				kind: KindUnit,
				msg:  fmt.Sprintf("unit mislabelled: the values are %s, %s", unitName(tu), from),
				fix:  "unit: " + unitKey(tu),
			}},
		})
		// ... or convert from it.
		if units.Convertible(tu, label) && !sameUnit(convertFrom, tu) {
			mul, add := conv(tu)
			alts = append(alts, mappingAlt{
				m: mapping{scale: scale, offset: offset, mul: mul, add: add}, label: label,
				changes: []change{{
					kind: KindUnit,
					msg:  fmt.Sprintf("unit mislabelled: the device delivers %s, %s", unitName(tu), from),
					fix:  "convert_from: " + unitKey(tu),
				}},
			})
		}
	}
	return alts
}

// round12 rounds f to 12 significant digits: 0.1 × 0.1 is 0.01, not
// 0.010000000000000002.
func round12(f float64) float64 {
	r, _ := strconv.ParseFloat(strconv.FormatFloat(f, 'g', 12, 64), 64)
	return r
}

// num formats a number as a sources file writes it.
func num(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }
