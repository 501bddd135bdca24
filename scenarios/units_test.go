package scenarios

import "testing"

func TestPackUnitID(t *testing.T) {
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

func TestLookupUnit(t *testing.T) {
	tests := []struct {
		in, code, symbol string
		ok               bool
	}{
		{"degC", "CEL", "°C", true},
		{"°C", "CEL", "°C", true},
		{"CEL", "CEL", "°C", true},
		{"bar", "BAR", "bar", true},
		{"rpm", "RPM", "r/min", true},
		{"%", "P1", "%", true},
		{"P1", "P1", "%", true},
		{"mA", "4K", "mA", true},
		{"um", "4H", "µm", true},
		{"Nm", "NU", "N·m", true},
		{"pcs", "H87", "pcs", true},
		{"l/h", "E32", "l/h", true},
		{"m3/h", "MQH", "m³/h", true},
		{"kWh", "KWH", "kW·h", true},
		{"furlongs", "", "", false},
		{"", "", "", false},
	}
	for _, tt := range tests {
		u, ok := LookupUnit(tt.in)
		if ok != tt.ok || u.Code != tt.code || u.Symbol != tt.symbol {
			t.Errorf("LookupUnit(%q) = %+v, %v; want code %q symbol %q, %v", tt.in, u, ok, tt.code, tt.symbol, tt.ok)
		}
		if ok && u.UnitID != PackUnitID(u.Code) {
			t.Errorf("LookupUnit(%q).UnitID = %d, want %d", tt.in, u.UnitID, PackUnitID(u.Code))
		}
	}
}
