// Package jsonenc appends the parts of otwin's JSON records — strings,
// numbers, sample values, times — to a byte slice without reflection, byte
// for byte as encoding/json writes them: the JSON lines of `otwin watch
// --headless` and the MQTT payloads encode 100,000 samples a second with
// it.
package jsonenc

import (
	"math"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/otwin/otwin/normalize"
)

// Value appends a sample's value of kind k: a JSON bool, a string (text)
// or a number (v).
func Value(b []byte, k normalize.Kind, v float64, text string) []byte {
	switch k {
	case normalize.Bool:
		return strconv.AppendBool(b, v != 0)
	case normalize.Text:
		return String(b, text)
	default:
		return Float(b, v)
	}
}

// TimeField appends the field ,"name":"t" with t in UTC, RFC 3339 with
// nanoseconds; nothing when t is zero (omitempty).
func TimeField(b []byte, name string, t time.Time) []byte {
	if t.IsZero() {
		return b
	}
	b = append(b, `,"`...)
	b = append(b, name...)
	b = append(b, `":"`...)
	b = t.UTC().AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

// Float appends f as encoding/json does; NaN and infinities, which JSON
// cannot say, as null.
func Float(b []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(b, "null"...)
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// e-09 to e-9, as encoding/json writes it.
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

const hexDigits = "0123456789abcdef"

// String appends s quoted as json.Marshal does: ", \ and control
// characters escaped, <, > and & as \u003c, \u003e and \u0026, U+2028
// and U+2029 as \u2028 and \u2029, invalid UTF-8 as \ufffd.
func String(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
