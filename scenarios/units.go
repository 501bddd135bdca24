package scenarios

// Unit is an engineering unit resolved from the UNECE Rec 20 table: what
// OPC UA's EUInformation carries.
type Unit struct {
	// Code is the UNECE common code, e.g. "CEL".
	Code string
	// UnitID is Code packed into an int32 as OPC UA requires.
	UnitID int32
	// Symbol is the display name, e.g. "°C".
	Symbol string
	// Name is the unit's full name, e.g. "degree Celsius".
	Name string
}

// UnitNamespace is the namespace URI of UnitID values (OPC UA Part 8,
// EUInformation.namespaceUri).
const UnitNamespace = "http://www.opcfoundation.org/UA/units/un/cefact"

// NoUnitID is the UnitID of units that have no UNECE Rec 20 code (OPC UA
// uses -1 for "no unit id").
const NoUnitID int32 = -1

// PackUnitID packs a UNECE common code into an int32 as OPC UA Part 8
// requires: each ASCII character of a code of up to three characters is
// shifted in turn (c0<<16 | c1<<8 | c2 for three characters; shorter codes
// are right-aligned, e.g. "P1" is 'P'<<8 | '1'). It returns NoUnitID for an
// empty, longer or non-ASCII code.
func PackUnitID(code string) int32 {
	if code == "" || len(code) > 3 {
		return NoUnitID
	}
	var id int32
	for i := 0; i < len(code); i++ {
		c := code[i]
		if c < 0x20 || c > 0x7e {
			return NoUnitID
		}
		id = id<<8 | int32(c)
	}
	return id
}

// unitDef is one unit of the table: its code, symbol, name and the other
// spellings accepted in scenario files.
type unitDef struct {
	code, symbol, name string
	aliases            []string
}

// unitTable lists the units scenarios may use. Every code was checked
// against UNECE Recommendation 20 extracts (the OPC UA companion tables
// and published Rec 20 code lists); units whose code could not be
// confirmed are listed without one and carry NoUnitID.
var unitTable = []unitDef{
	// Temperature.
	{"CEL", "°C", "degree Celsius", []string{"degC", "C", "celsius", "deg C"}},
	{"FAH", "°F", "degree Fahrenheit", []string{"degF", "F", "fahrenheit"}},
	{"KEL", "K", "kelvin", []string{"kelvin"}},
	// Pressure.
	{"BAR", "bar", "bar", nil},
	{"MBR", "mbar", "millibar", nil},
	{"PAL", "Pa", "pascal", nil},
	{"KPA", "kPa", "kilopascal", nil},
	{"MPA", "MPa", "megapascal", nil},
	{"PS", "psi", "pound-force per square inch", nil},
	// Rotation, frequency, ratio.
	{"RPM", "r/min", "revolutions per minute", []string{"rpm", "1/min"}},
	{"HTZ", "Hz", "hertz", nil},
	{"P1", "%", "percent", []string{"percent", "pct"}},
	{"59", "ppm", "part per million", nil},
	{"C62", "1", "one", []string{"count", "one"}},
	{"H87", "pcs", "piece", []string{"piece", "pieces", "pc"}},
	{"Q30", "pH", "pH", nil},
	{"DD", "°", "degree (angle)", []string{"deg", "degree"}},
	// Electricity.
	{"AMP", "A", "ampere", nil},
	{"4K", "mA", "milliampere", nil},
	{"VLT", "V", "volt", nil},
	{"KVT", "kV", "kilovolt", nil},
	{"OHM", "Ω", "ohm", []string{"ohm"}},
	{"D10", "S/m", "siemens per metre", nil},
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
	// Mass and mass flow.
	{"KGM", "kg", "kilogram", nil},
	{"GRM", "g", "gram", nil},
	{"TNE", "t", "tonne", nil},
	{"E93", "kg/h", "kilogram per hour", nil},
	{"E18", "t/h", "tonne per hour", nil},
	// Length and speed.
	{"MTR", "m", "metre", nil},
	{"CMT", "cm", "centimetre", nil},
	{"MMT", "mm", "millimetre", nil},
	{"4H", "µm", "micrometre", []string{"um", "μm"}},
	{"MTS", "m/s", "metre per second", nil},
	{"C16", "mm/s", "millimetre per second", nil},
	{"2X", "m/min", "metre per minute", nil},
	{"KMH", "km/h", "kilometre per hour", nil},
	// Time.
	{"SEC", "s", "second", []string{"sec"}},
	{"C26", "ms", "millisecond", nil},
	{"MIN", "min", "minute", nil},
	{"HUR", "h", "hour", []string{"hr"}},
	// Force and torque.
	{"NEW", "N", "newton", nil},
	{"B47", "kN", "kilonewton", nil},
	{"NU", "N·m", "newton metre", []string{"Nm", "N.m", "N m"}},
	// Production rates and water quality, without a confirmed code.
	{"", "bottles/min", "bottles per minute", []string{"bpm"}},
	{"", "pcs/min", "pieces per minute", []string{"parts/min"}},
	{"", "pcs/h", "pieces per hour", []string{"parts/h"}},
	{"", "mS/cm", "millisiemens per centimetre", nil},
	{"", "µS/cm", "microsiemens per centimetre", []string{"uS/cm"}},
	{"", "NTU", "nephelometric turbidity unit", nil},
}

// unitIndex maps every accepted spelling to its unit.
var unitIndex = func() map[string]Unit {
	idx := map[string]Unit{}
	for _, d := range unitTable {
		u := Unit{Code: d.code, UnitID: PackUnitID(d.code), Symbol: d.symbol, Name: d.name}
		for _, s := range append([]string{d.symbol, d.code}, d.aliases...) {
			if s == "" {
				continue
			}
			if _, dup := idx[s]; !dup {
				idx[s] = u
			}
		}
	}
	return idx
}()

// LookupUnit resolves a unit as written in a scenario: a common symbol
// ("degC", "°C", "bar", "rpm", "%", "l/h") or a UNECE Rec 20 code ("CEL",
// "P1"). Symbols are case sensitive (mA is not MA); codes are accepted in
// upper case. It reports false for an unknown unit. Safe for concurrent
// use.
func LookupUnit(s string) (Unit, bool) {
	u, ok := unitIndex[s]
	return u, ok
}

// unitSpellings lists every accepted spelling, for did-you-mean hints.
func unitSpellings() []string {
	out := make([]string, 0, len(unitIndex))
	for s := range unitIndex {
		out = append(out, s)
	}
	return out
}
