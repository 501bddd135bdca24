package normalize

import (
	"strings"
)

// UnitNamespace is the OPC UA EUInformation.NamespaceUri of UNECE Rec 20
// units.
const UnitNamespace = "http://www.opcfoundation.org/UA/units/un/cefact"

// unitDef is one known unit: its UNECE common code, display symbol, and the
// other spellings accepted in configuration.
type unitDef struct {
	code    string
	symbol  string
	aliases []string
}

// unitDefs are the units otwin knows, each code checked against the OPC
// Foundation's UNECE_to_OPCUA.csv or the UNECE Rec 20 code list.
var unitDefs = []unitDef{
	{"CEL", "°C", []string{"degC", "celsius"}},
	{"FAH", "°F", []string{"degF", "fahrenheit"}},
	{"KEL", "K", []string{"kelvin"}},
	{"BAR", "bar", nil},
	{"MBR", "mbar", nil},
	{"PAL", "Pa", nil},
	{"KPA", "kPa", nil},
	{"MPA", "MPa", nil},
	{"PS", "psi", []string{"lbf/in²", "lbf/in2"}},
	{"RPM", "r/min", []string{"rpm"}},
	{"HTZ", "Hz", nil},
	{"P1", "%", []string{"percent", "pct"}},
	{"AMP", "A", nil},
	{"4K", "mA", nil},
	{"VLT", "V", nil},
	{"2Z", "mV", nil},
	{"KVT", "kV", nil},
	{"WTT", "W", nil},
	{"KWT", "kW", nil},
	{"MAW", "MW", nil},
	{"WHR", "W·h", []string{"Wh"}},
	{"KWH", "kW·h", []string{"kWh"}},
	{"MWH", "MW·h", []string{"MWh"}},
	{"LTR", "l", []string{"L", "litre", "liter"}},
	{"MLT", "ml", []string{"mL"}},
	{"MTQ", "m³", []string{"m3"}},
	{"L2", "l/min", []string{"L/min"}},
	{"E32", "l/h", []string{"L/h"}},
	{"G51", "l/s", []string{"L/s"}},
	{"MQH", "m³/h", []string{"m3/h"}},
	{"MQS", "m³/s", []string{"m3/s"}},
	{"KGM", "kg", nil},
	{"GRM", "g", nil},
	{"TNE", "t", []string{"tonne"}},
	{"E93", "kg/h", nil},
	{"KGS", "kg/s", nil},
	{"E18", "t/h", nil},
	{"MTR", "m", nil},
	{"CMT", "cm", nil},
	{"MMT", "mm", nil},
	{"4H", "µm", []string{"um", "μm"}},
	{"C16", "mm/s", nil},
	{"MTS", "m/s", nil},
	{"2X", "m/min", nil},
	{"MSK", "m/s²", []string{"m/s2"}},
	{"SEC", "s", []string{"sec"}},
	{"C26", "ms", nil},
	{"MIN", "min", nil},
	{"HUR", "h", []string{"hour", "hr"}},
	{"NEW", "N", nil},
	{"B47", "kN", nil},
	{"NU", "N·m", []string{"Nm", "N.m", "N m"}},
	{"H87", "pcs", []string{"piece", "pieces", "pc"}},
	{"C62", "1", []string{"one", "count"}},
	{"OHM", "Ω", []string{"ohm"}},
	{"DD", "°", []string{"deg", "degree"}},
	{"2N", "dB", nil},
	{"KMQ", "kg/m³", []string{"kg/m3"}},
	{"59", "ppm", nil},
	{"Q30", "pH", nil},
	{"D10", "S/m", nil},
	{"H61", "mS/cm", nil},
	{"G42", "µS/cm", []string{"uS/cm", "μS/cm"}},
	{"JOU", "J", nil},
	{"KMH", "km/h", nil},
	// Units without a UNECE code: accepted by symbol, served with
	// UnitID NoUnitID.
	{"", "bottles/min", []string{"bpm"}},
	{"", "pcs/min", []string{"parts/min"}},
	{"", "pcs/h", []string{"parts/h"}},
	{"", "NTU", nil},
}

var (
	unitsByName map[string]Unit
	unitsByFold map[string]Unit
	unitsByID   map[int32]Unit
)

func init() {
	unitsByName = make(map[string]Unit, len(unitDefs)*4)
	unitsByFold = make(map[string]Unit, len(unitDefs)*4)
	unitsByID = make(map[int32]Unit, len(unitDefs))
	for _, d := range unitDefs {
		u := Unit{Code: d.code, UnitID: PackUnitID(d.code), Symbol: d.symbol}
		names := append([]string{d.symbol}, d.aliases...)
		if d.code != "" {
			unitsByID[u.UnitID] = u
			names = append(names, d.code)
		}
		for _, n := range names {
			if _, dup := unitsByName[n]; !dup {
				unitsByName[n] = u
			}
		}
	}
	// Case-insensitive matches only for codes: symbols differ by case
	// (mbar/Mbar, mm/Mm).
	for _, d := range unitDefs {
		if d.code == "" {
			continue
		}
		f := strings.ToUpper(d.code)
		if _, dup := unitsByFold[f]; !dup {
			unitsByFold[f] = unitsByName[d.code]
		}
	}
}

// NoUnitID is the UnitID of a unit without a UNECE code (OPC UA uses -1
// for "no unit id").
const NoUnitID int32 = -1

// PackUnitID packs a UNECE common code of up to three characters into an
// OPC UA EUInformation.UnitId (OPC UA Part 8 §5.6.3): c0<<16 | c1<<8 | c2,
// e.g. "CEL" → 4408652 and "P1" → 20529. It returns NoUnitID for codes
// that are empty, longer than three characters or not printable ASCII.
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

// LookupUnit resolves a unit written in configuration: a common symbol
// ("degC", "°C", "bar", "rpm", "m3/h") or a UNECE Rec 20 code ("CEL",
// "BAR"; codes match case-insensitively). A few units without a UNECE
// code ("bottles/min", "pcs/min", "NTU") resolve with Code "" and UnitID
// NoUnitID. It is safe for concurrent use.
func LookupUnit(s string) (Unit, bool) {
	s = strings.TrimSpace(s)
	if u, ok := unitsByName[s]; ok {
		return u, true
	}
	u, ok := unitsByFold[strings.ToUpper(s)]
	return u, ok
}

// UnitFromID returns the unit of an OPC UA EUInformation.UnitId. Units
// otwin knows come with their symbol; other valid packed codes come back
// with the code as symbol and ok true, so no server unit is lost.
func UnitFromID(id int32) (Unit, bool) {
	if u, ok := unitsByID[id]; ok {
		return u, true
	}
	code := UnpackUnitID(id)
	if code == "" {
		return Unit{}, false
	}
	return Unit{Code: code, UnitID: id, Symbol: code}, true
}

// UnitNames returns every spelling LookupUnit accepts.
func UnitNames() []string {
	out := make([]string, 0, len(unitsByName))
	for n := range unitsByName {
		out = append(out, n)
	}
	return out
}

// conversion is value_to = value_from*mul + add.
type conversion struct{ mul, add float64 }

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

// conversionOf returns the factors of from→to: to = from*mul + add.
func conversionOf(from, to Unit) (mul, add float64, ok bool) {
	if from == to || from.Code == to.Code && from.Code != "" {
		return 1, 0, true
	}
	c, ok := conversions[[2]string{from.Code, to.Code}]
	return c.mul, c.add, ok
}

// Convertible says Convert knows the pair from→to.
func Convertible(from, to Unit) bool {
	_, _, ok := conversionOf(from, to)
	return ok
}

// Convert converts v from one unit to another for the simple pairs otwin
// knows (°F/°C/K, bar/kPa/mbar/Pa/MPa/psi, l/h/l/min/m³/h, W/kW, ms/s,
// mm/m). ok is false when the pair is not convertible; equal units convert
// to themselves.
func Convert(v float64, from, to Unit) (float64, bool) {
	mul, add, ok := conversionOf(from, to)
	if !ok {
		return v, false
	}
	return v*mul + add, true
}
