package jsonenc

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"
	"time"
)

// FuzzString: any string is written byte for byte as json.Marshal writes
// it, and reads back as the same text.
func FuzzString(f *testing.F) {
	for _, s := range []string{"", "plain", `q"b\`, "\x00\x1f\x7f", "\b\f\n\r\t", "<a&b>", "é€😀", "\xff\xfe", "\u2028\u2029"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		if got := String(nil, s); !bytes.Equal(got, want) {
			t.Fatalf("%q -> %s, want %s", s, got, want)
		}
	})
}

// TestFloat: numbers as json.Marshal writes them, from the smallest to
// the largest and across the switch to exponents; NaN and infinities as
// null.
func TestFloat(t *testing.T) {
	for _, f := range []float64{0, math.Copysign(0, -1), 1, -1.5, 0.1 + 0.2, 1e-6, 9.99e-7, 1e-7, 5e-324, 1e20, 1e21, -1e21, 123456789.125, math.MaxFloat64} {
		want, _ := json.Marshal(f)
		if got := Float(nil, f); !bytes.Equal(got, want) {
			t.Errorf("%v -> %s, want %s", f, got, want)
		}
	}
	for _, f := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		if got := string(Float(nil, f)); got != "null" {
			t.Errorf("%v -> %s, want null", f, got)
		}
	}
}

// TestTimeField: a time in UTC with its nanoseconds, nothing for the zero
// time.
func TestTimeField(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 120000000, time.FixedZone("x", 3600))
	if got := string(TimeField([]byte("{"), "at", at)); got != `{,"at":"2026-01-02T02:04:05.12Z"` {
		t.Errorf("time field %s", got)
	}
	if got := string(TimeField([]byte("{"), "at", time.Time{})); got != "{" {
		t.Errorf("zero time %s", got)
	}
}
