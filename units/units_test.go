package units

import (
	"math"
	"testing"
)

func TestLookup(t *testing.T) {
	tests := []struct {
		in     string
		code   string
		id     int32
		symbol string
	}{
		{"degC", "CEL", 4408652, "°C"},
		{"°C", "CEL", 4408652, "°C"},
		{"CEL", "CEL", 4408652, "°C"},
		{"cel", "CEL", 4408652, "°C"},
		{"degF", "FAH", 4604232, "°F"},
		{"K", "KEL", 4932940, "K"},
		{"bar", "BAR", 4342098, "bar"},
		{"mbar", "MBR", 5063250, "mbar"},
		{"Pa", "PAL", 5259596, "Pa"},
		{"kPa", "KPA", 4935745, "kPa"},
		{"MPa", "MPA", 5066817, "MPa"},
		{"psi", "PS", 20563, "psi"},
		{"rpm", "RPM", 5394509, "r/min"},
		{"Hz", "HTZ", 4740186, "Hz"},
		{"%", "P1", 20529, "%"},
		{"A", "AMP", 4279632, "A"},
		{"V", "VLT", 5655636, "V"},
		{"W", "WTT", 5723220, "W"},
		{"kW", "KWT", 4937556, "kW"},
		{"kWh", "KWH", 4937544, "kW·h"},
		{"l", "LTR", 5002322, "l"},
		{"m3", "MTQ", 5067857, "m³"},
		{"l/min", "L2", 19506, "l/min"},
		{"l/h", "E32", 0x453332, "l/h"},
		{"m3/h", "MQH", 5067080, "m³/h"},
		{"kg", "KGM", 4933453, "kg"},
		{"g", "GRM", 4674125, "g"},
		{"t", "TNE", 5525061, "t"},
		{"kg/h", "E93", 4536627, "kg/h"},
		{"m", "MTR", 5067858, "m"},
		{"mm", "MMT", 5066068, "mm"},
		{"mm/s", "C16", 4403510, "mm/s"},
		{"m/s", "MTS", 5067859, "m/s"},
		{"s", "SEC", 5457219, "s"},
		{"ms", "C26", 4403766, "ms"},
		{"min", "MIN", 5065038, "min"},
		{"h", "HUR", 4740434, "h"},
		{"N", "NEW", 5129559, "N"},
		{"Nm", "NU", 20053, "N·m"},
		{"pcs", "H87", 0x483837, "pcs"},
		{"ppm", "59", 0x3539, "ppm"},
		{"pH", "Q30", 5321520, "pH"},
		{"mS/cm", "H61", 4732465, "mS/cm"},
		{"uS/cm", "G42", 4666418, "µS/cm"},
		{"km/h", "KMH", 4934984, "km/h"},
	}
	for _, tt := range tests {
		u, ok := Lookup(tt.in)
		if !ok {
			t.Errorf("Lookup(%q): not found", tt.in)
			continue
		}
		if u.Code != tt.code || u.UnitID != tt.id || u.Symbol != tt.symbol {
			t.Errorf("Lookup(%q) = %+v, want %s/%d/%s", tt.in, u, tt.code, tt.id, tt.symbol)
		}
		back, ok := FromID(u.UnitID)
		if !ok || back != u {
			t.Errorf("FromID(%d) = %+v, %v; want %+v", u.UnitID, back, ok, u)
		}
	}
	for _, name := range []string{"bottles/min", "bpm", "NTU", "pcs/h"} {
		u, ok := Lookup(name)
		if !ok || u.Code != "" || u.UnitID != NoUnitID || u.Symbol == "" {
			t.Errorf("Lookup(%q) = %+v, %v; want a unit without code", name, u, ok)
		}
	}
	for _, bad := range []string{"", "furlongs", "C", "Mbar"} {
		if u, ok := Lookup(bad); ok {
			t.Errorf("Lookup(%q) = %+v, want not found", bad, u)
		}
	}
}

func TestUnitIDPacking(t *testing.T) {
	tests := []struct {
		code string
		id   int32
	}{
		{"CEL", 0x43454C},
		{"P1", 0x5031},
		{"4K", 0x344B},
		{"", -1},
		{"ABCD", -1},
	}
	for _, tt := range tests {
		if got := PackUnitID(tt.code); got != tt.id {
			t.Errorf("PackUnitID(%q) = %d, want %d", tt.code, got, tt.id)
		}
		if tt.id > 0 {
			if got := UnpackUnitID(tt.id); got != tt.code {
				t.Errorf("UnpackUnitID(%d) = %q, want %q", tt.id, got, tt.code)
			}
		}
	}
	// A valid code otwin does not list comes back with the code as symbol.
	u, ok := FromID(PackUnitID("KNT"))
	if !ok || u.Code != "KNT" || u.Symbol != "KNT" {
		t.Errorf("FromID(KNT) = %+v, %v", u, ok)
	}
	for _, id := range []int32{0, -5, 0x01000000, 0x430041} {
		if u, ok := FromID(id); ok {
			t.Errorf("FromID(%#x) = %+v, want not ok", id, u)
		}
	}
}

func TestConvert(t *testing.T) {
	u := func(s string) Unit { x, _ := Lookup(s); return x }
	tests := []struct {
		v        float64
		from, to string
		want     float64
		ok       bool
	}{
		{212, "degF", "degC", 100, true},
		{100, "degC", "degF", 212, true},
		{1.5, "bar", "kPa", 150, true},
		{150, "kPa", "bar", 1.5, true},
		{3600, "l/h", "m3/h", 3.6, true},
		{1, "m3/h", "l/h", 1000, true},
		{5, "bar", "bar", 5, true},
		{5, "bar", "kg", 5, false},
	}
	for _, tt := range tests {
		got, ok := Convert(tt.v, u(tt.from), u(tt.to))
		if ok != tt.ok || math.Abs(got-tt.want) > 1e-9 {
			t.Errorf("Convert(%g, %s, %s) = %g, %v; want %g, %v", tt.v, tt.from, tt.to, got, ok, tt.want, tt.ok)
		}
	}
}

func TestPackUnitIDReference(t *testing.T) {
	// Reference values from the OPC UA companion specifications' unit
	// tables (UnitId column).
	tests := []struct {
		code string
		want int32
	}{
		{"CEL", 4408652},
		{"KGM", 4933453},
		{"MMT", 5066068},
		{"RPM", 5394509},
		{"C16", 4403510},
		{"P1", 20529},
		{"NU", 20053},
		{"4H", '4'<<8 | 'H'},
		{"", NoUnitID},
		{"ABCD", NoUnitID},
		{"é", NoUnitID},
	}
	for _, tt := range tests {
		if got := PackUnitID(tt.code); got != tt.want {
			t.Errorf("PackUnitID(%q) = %d, want %d", tt.code, got, tt.want)
		}
	}
}

func TestEveryUnitHasANameAndOneSpelling(t *testing.T) {
	seen := map[string]string{}
	for _, d := range table {
		if d.symbol == "" || d.name == "" {
			t.Errorf("unit %q/%q lacks a symbol or a name", d.code, d.symbol)
		}
		for _, s := range append([]string{d.symbol, d.code}, d.aliases...) {
			if s == "" {
				continue
			}
			if other, dup := seen[s]; dup {
				t.Errorf("spelling %q names both %s and %s", s, other, d.symbol)
			}
			seen[s] = d.symbol
		}
	}
}
