package pipeline

import (
	"math"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/otwin/otwin/normalize"
)

// appendSample appends s as JSON Lines writes it: the bytes
// json.Marshal makes of SampleRecord(s), without reflection — at 100,000 samples a second the encoding is most of what
// `otwin watch --headless` spends (TestAppendSampleMatchesJSON keeps the
// two the same).
func appendSample(b []byte, s *normalize.Sample) []byte {
	b = append(b, `{"type":"sample","id":`...)
	b = appendJSONString(b, s.ID)
	b = append(b, `,"asset":`...)
	b = appendJSONString(b, s.Asset)
	b = append(b, `,"tag":`...)
	b = appendJSONString(b, s.Tag)
	b = append(b, `,"value":`...)
	if s.Status.IsBad() {
		b = append(b, "null"...)
	} else {
		b = appendValue(b, s.Kind, s.Value, s.Text)
	}
	if s.Unit.Symbol != "" {
		b = append(b, `,"unit":`...)
		b = appendJSONString(b, s.Unit.Symbol)
	}
	if s.Unit.Code != "" {
		b = append(b, `,"unit_code":`...)
		b = appendJSONString(b, s.Unit.Code)
	}
	b = append(b, `,"quality":`...)
	b = appendJSONString(b, s.Status.Severity().String())
	b = append(b, `,"status":`...)
	b = appendJSONString(b, s.Status.Name())
	b = append(b, `,"status_code":`...)
	b = strconv.AppendUint(b, uint64(uint32(s.Status)), 10)
	if s.Err != "" {
		b = append(b, `,"error":`...)
		b = appendJSONString(b, s.Err)
	}
	if s.HasLastGood {
		b = append(b, `,"last_good":`...)
		b = appendValue(b, s.Kind, s.LastGood, s.LastGoodText)
		b = appendTime(b, `,"last_good_time":`, s.LastGoodTime)
	}
	b = appendTime(b, `,"source_time":`, s.SourceTime)
	b = appendTime(b, `,"server_time":`, s.ServerTime)
	b = appendTime(b, `,"received":`, s.Received)
	b = append(b, `,"source":`...)
	b = appendJSONString(b, s.Source)
	b = append(b, `,"address":`...)
	b = appendJSONString(b, s.Address)
	b = append(b, `,"seq":`...)
	b = strconv.AppendUint(b, s.Seq, 10)
	if !s.Context.Empty() {
		b = append(b, `,"context":`...)
		b = s.Context.AppendJSON(b)
	}
	return append(b, '}')
}

// appendValue appends a sample's value as value() gives it to
// encoding/json.
func appendValue(b []byte, k normalize.Kind, v float64, text string) []byte {
	switch k {
	case normalize.Bool:
		return strconv.AppendBool(b, v != 0)
	case normalize.Text:
		return appendJSONString(b, text)
	default:
		return appendFloat(b, v)
	}
}

// appendTime appends key and t as ts() formats it, nothing when t is
// zero (omitempty).
func appendTime(b []byte, key string, t time.Time) []byte {
	if t.IsZero() {
		return b
	}
	b = append(b, key...)
	b = append(b, '"')
	b = t.UTC().AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

// appendFloat formats f as encoding/json does; the normalizer gives no
// NaN or infinity a value (they are Bad_DecodingError), and such a value
// is written null.
func appendFloat(b []byte, f float64) []byte {
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

// appendJSONString appends s quoted as json.Marshal does: ", \ and
// control characters escaped, <, > and & as \u003c, \u003e and \u0026,
// U+2028 and U+2029 as \u2028 and \u2029, invalid UTF-8 as \ufffd.
func appendJSONString(b []byte, s string) []byte {
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
