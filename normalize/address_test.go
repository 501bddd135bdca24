package normalize

import "testing"

func TestCanonicalAddress(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Holding:100:FLOAT32:cdab@unit=1", "holding:100:float32:CDAB"},
		{"holding:100:float32:CDAB", "holding:100:float32:CDAB"},
		{"holding:100:float32:CDAB@unit=03", "holding:100:float32:CDAB@unit=3"},
		{"coil:5:bool", "coil:5:bool"},
		{"nsu=urn:x;s=Line1.Temp", "nsu=urn:x;s=Line1.Temp"},
		{"i=2258", "i=2258"},
	}
	for _, tt := range tests {
		if got := CanonicalAddress(tt.in); got != tt.want {
			t.Errorf("CanonicalAddress(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
