// Package units is otwin's one table of engineering units: the UNECE
// Recommendation 20 common code of each unit, its OPC UA UnitId (OPC UA
// Part 8 §5.6.3, EUInformation), its display symbol and name, the other
// spellings configuration files may use, and the simple conversions
// between units of one quantity.
//
// It is a leaf package: the scenario format and the twin's servers (the
// simulator half) and the sources file and the normalizer (the monitoring
// half) resolve units here, so both halves agree on every code, symbol and
// spelling. It has no state beyond the table and is safe for concurrent
// use.
package units

import "strings"

// Namespace is the OPC UA EUInformation.NamespaceUri of UnitId values that
// pack a UNECE Rec 20 code.
const Namespace = "http://www.opcfoundation.org/UA/units/un/cefact"

// NoUnitID is the UnitId of a unit without a UNECE code (OPC UA uses -1 for
// "no unit id"); such units are still served with their display name.
const NoUnitID int32 = -1

// Unit is an engineering unit as OPC UA's EUInformation carries it.
type Unit struct {
	// Code is the UNECE common code, e.g. "CEL"; "" for a unit without one.
	Code string
	// UnitID is Code packed as EUInformation.UnitId (NoUnitID without a
	// code).
	UnitID int32
	// Symbol is the display name, e.g. "°C".
	Symbol string
	// Name is the unit's full name, e.g. "degree Celsius" (the
	// EUInformation description).
	Name string
}

// IsZero says u is no unit at all.
func (u Unit) IsZero() bool { return u == Unit{} }

// def is one unit of the table: its code, symbol, name and the other
// spellings accepted in configuration.
type def struct {
	code, symbol, name string
	aliases            []string
}

// table lists the units otwin knows. Every code was checked against the
// OPC Foundation's UNECE_to_OPCUA.csv or the UNECE Rec 20 code list; units
// without a confirmed code carry NoUnitID and are accepted by symbol only.
var table = []def{
	// Temperature.
	{"CEL", "°C", "degree Celsius", []string{"degC", "celsius"}},
	{"FAH", "°F", "degree Fahrenheit", []string{"degF", "fahrenheit"}},
	{"KEL", "K", "kelvin", []string{"kelvin"}},
	// Pressure.
	{"BAR", "bar", "bar", nil},
	{"MBR", "mbar", "millibar", nil},
	{"PAL", "Pa", "pascal", nil},
	{"KPA", "kPa", "kilopascal", nil},
	{"MPA", "MPa", "megapascal", nil},
	{"PS", "psi", "pound-force per square inch", []string{"lbf/in²", "lbf/in2"}},
	// Rotation, frequency, ratio, counts.
	{"RPM", "r/min", "revolutions per minute", []string{"rpm", "1/min"}},
	{"HTZ", "Hz", "hertz", nil},
	{"P1", "%", "percent", []string{"percent", "pct"}},
	{"59", "ppm", "part per million", nil},
	{"C62", "1", "one", []string{"one", "count"}},
	{"H87", "pcs", "piece", []string{"piece", "pieces", "pc"}},
	{"Q30", "pH", "pH", nil},
	{"DD", "°", "degree (angle)", []string{"deg", "degree"}},
	{"2N", "dB", "decibel", nil},
	// Electricity.
	{"AMP", "A", "ampere", nil},
	{"4K", "mA", "milliampere", nil},
	{"VLT", "V", "volt", nil},
	{"2Z", "mV", "millivolt", nil},
	{"KVT", "kV", "kilovolt", nil},
	{"OHM", "Ω", "ohm", []string{"ohm"}},
	{"D10", "S/m", "siemens per metre", nil},
	{"H61", "mS/cm", "millisiemens per centimetre", nil},
	{"G42", "µS/cm", "microsiemens per centimetre", []string{"uS/cm", "μS/cm"}},
	// Power and energy.
	{"WTT", "W", "watt", nil},
	{"KWT", "kW", "kilowatt", nil},
	{"MAW", "MW", "megawatt", nil},
	{"WHR", "W·h", "watt hour", []string{"Wh"}},
	{"KWH", "kW·h", "kilowatt hour", []string{"kWh"}},
	{"MWH", "MW·h", "megawatt hour", []string{"MWh"}},
	{"JOU", "J", "joule", nil},
	// Volume and flow.
	{"LTR", "l", "litre", []string{"L", "litre", "liter"}},
	{"MLT", "ml", "millilitre", []string{"mL"}},
	{"MTQ", "m³", "cubic metre", []string{"m3"}},
	{"G51", "l/s", "litre per second", []string{"L/s"}},
	{"L2", "l/min", "litre per minute", []string{"L/min"}},
	{"E32", "l/h", "litre per hour", []string{"L/h"}},
	{"MQH", "m³/h", "cubic metre per hour", []string{"m3/h"}},
	{"MQS", "m³/s", "cubic metre per second", []string{"m3/s"}},
	// Mass, density and mass flow.
	{"KGM", "kg", "kilogram", nil},
	{"GRM", "g", "gram", nil},
	{"TNE", "t", "tonne", []string{"tonne"}},
	{"KMQ", "kg/m³", "kilogram per cubic metre", []string{"kg/m3"}},
	{"E93", "kg/h", "kilogram per hour", nil},
	{"KGS", "kg/s", "kilogram per second", nil},
	{"E18", "t/h", "tonne per hour", nil},
	// Length, speed and acceleration.
	{"MTR", "m", "metre", nil},
	{"CMT", "cm", "centimetre", nil},
	{"MMT", "mm", "millimetre", nil},
	{"4H", "µm", "micrometre", []string{"um", "μm"}},
	{"MTS", "m/s", "metre per second", nil},
	{"C16", "mm/s", "millimetre per second", nil},
	{"2X", "m/min", "metre per minute", nil},
	{"KMH", "km/h", "kilometre per hour", nil},
	{"MSK", "m/s²", "metre per second squared", []string{"m/s2"}},
	// Time.
	{"SEC", "s", "second", []string{"sec"}},
	{"C26", "ms", "millisecond", nil},
	{"MIN", "min", "minute", nil},
	{"HUR", "h", "hour", []string{"hour", "hr"}},
	// Force and torque.
	{"NEW", "N", "newton", nil},
	{"B47", "kN", "kilonewton", nil},
	{"NU", "N·m", "newton metre", []string{"Nm", "N.m", "N m"}},
	// Production rates and water quality without a UNECE code.
	{"", "bottles/min", "bottles per minute", []string{"bpm"}},
	{"", "pcs/min", "pieces per minute", []string{"parts/min"}},
	{"", "pcs/h", "pieces per hour", []string{"parts/h"}},
	{"", "NTU", "nephelometric turbidity unit", nil},
}

var (
	byName map[string]Unit // every spelling, case-sensitive
	byFold map[string]Unit // codes only, upper-cased
	byID   map[int32]Unit
)

func init() {
	byName = make(map[string]Unit, len(table)*4)
	byFold = make(map[string]Unit, len(table))
	byID = make(map[int32]Unit, len(table))
	for _, d := range table {
		u := Unit{Code: d.code, UnitID: PackUnitID(d.code), Symbol: d.symbol, Name: d.name}
		names := append([]string{d.symbol}, d.aliases...)
		if d.code != "" {
			byID[u.UnitID] = u
			names = append(names, d.code)
			// Codes match case-insensitively; symbols do not (mbar is
			// not Mbar, mm is not Mm).
			if _, dup := byFold[strings.ToUpper(d.code)]; !dup {
				byFold[strings.ToUpper(d.code)] = u
			}
		}
		for _, n := range names {
			if _, dup := byName[n]; !dup {
				byName[n] = u
			}
		}
	}
}

// PackUnitID packs a UNECE common code of up to three characters into an
// OPC UA EUInformation.UnitId (OPC UA Part 8 §5.6.3): c0<<16 | c1<<8 | c2,
// shorter codes right-aligned, e.g. "CEL" → 4408652 and "P1" → 20529. It
// returns NoUnitID for a code that is empty, longer than three characters
// or not printable ASCII.
func PackUnitID(code string) int32 {
	if len(code) == 0 || len(code) > 3 {
		return NoUnitID
	}
	var id int32
	for i := 0; i < len(code); i++ {
		c := code[i]
		if c < 0x20 || c > 0x7E {
			return NoUnitID
		}
		id = id<<8 | int32(c)
	}
	return id
}

// UnpackUnitID returns the UNECE common code packed in an OPC UA UnitId, or
// "" when id is not a packed code.
func UnpackUnitID(id int32) string {
	if id <= 0 || id > 0xFFFFFF {
		return ""
	}
	var b []byte
	for shift := 16; shift >= 0; shift -= 8 {
		c := byte(id >> shift)
		if c == 0 {
			if len(b) > 0 {
				return ""
			}
			continue
		}
		if c < 0x20 || c > 0x7E {
			return ""
		}
		b = append(b, c)
	}
	return string(b)
}

// Lookup resolves a unit as configuration writes it: a common symbol
// ("degC", "°C", "bar", "rpm", "m3/h") or a UNECE Rec 20 code ("CEL",
// "BAR"; codes match case-insensitively, symbols exactly). Units without a
// UNECE code ("bottles/min", "NTU") resolve with Code "" and UnitID
// NoUnitID. It reports false for an unknown unit.
func Lookup(s string) (Unit, bool) {
	s = strings.TrimSpace(s)
	if u, ok := byName[s]; ok {
		return u, true
	}
	u, ok := byFold[strings.ToUpper(s)]
	return u, ok
}

// FromID returns the unit of an OPC UA EUInformation.UnitId. Units of the
// table come with their symbol and name; other valid packed codes come
// back with the code as symbol and ok true, so no server's unit is lost.
func FromID(id int32) (Unit, bool) {
	if u, ok := byID[id]; ok {
		return u, true
	}
	code := UnpackUnitID(id)
	if code == "" {
		return Unit{}, false
	}
	return Unit{Code: code, UnitID: id, Symbol: code}, true
}

// Names returns every spelling Lookup accepts, for did-you-mean hints.
func Names() []string {
	out := make([]string, 0, len(byName))
	for n := range byName {
		out = append(out, n)
	}
	return out
}

// conversion is to = from*mul + add.
type conversion struct{ mul, add float64 }

// conversions are the pairs Convert knows, by UNECE code.
var conversions = map[[2]string]conversion{
	{"FAH", "CEL"}: {5.0 / 9.0, -32 * 5.0 / 9.0},
	{"CEL", "FAH"}: {9.0 / 5.0, 32},
	{"KEL", "CEL"}: {1, -273.15},
	{"CEL", "KEL"}: {1, 273.15},
	{"BAR", "KPA"}: {100, 0},
	{"KPA", "BAR"}: {0.01, 0},
	{"BAR", "MBR"}: {1000, 0},
	{"MBR", "BAR"}: {0.001, 0},
	{"BAR", "PAL"}: {1e5, 0},
	{"PAL", "BAR"}: {1e-5, 0},
	{"MPA", "BAR"}: {10, 0},
	{"BAR", "MPA"}: {0.1, 0},
	{"PS", "BAR"}:  {0.0689475729, 0},
	{"BAR", "PS"}:  {1 / 0.0689475729, 0},
	{"E32", "MQH"}: {0.001, 0},
	{"MQH", "E32"}: {1000, 0},
	{"L2", "E32"}:  {60, 0},
	{"E32", "L2"}:  {1.0 / 60, 0},
	{"L2", "MQH"}:  {0.06, 0},
	{"MQH", "L2"}:  {1 / 0.06, 0},
	{"KWT", "WTT"}: {1000, 0},
	{"WTT", "KWT"}: {0.001, 0},
	{"C26", "SEC"}: {0.001, 0},
	{"SEC", "C26"}: {1000, 0},
	{"MMT", "MTR"}: {0.001, 0},
	{"MTR", "MMT"}: {1000, 0},
}

// Conversion returns the factors of from→to, to = from*mul + add; ok is
// false when the pair is not convertible. Equal units convert with (1, 0).
func Conversion(from, to Unit) (mul, add float64, ok bool) {
	if from == to || from.Code == to.Code && from.Code != "" {
		return 1, 0, true
	}
	c, ok := conversions[[2]string{from.Code, to.Code}]
	return c.mul, c.add, ok
}

// Convertible says Convert knows the pair from→to.
func Convertible(from, to Unit) bool {
	_, _, ok := Conversion(from, to)
	return ok
}

// Convert converts v from one unit to another for the pairs otwin knows
// (°F/°C/K, bar/kPa/mbar/Pa/MPa/psi, l/h/l/min/m³/h, W/kW, ms/s, mm/m). ok
// is false when the pair is not convertible.
func Convert(v float64, from, to Unit) (float64, bool) {
	mul, add, ok := Conversion(from, to)
	if !ok {
		return v, false
	}
	return v*mul + add, true
}
