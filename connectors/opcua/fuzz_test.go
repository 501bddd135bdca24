package opcua

import (
	"strings"
	"testing"
	"time"

	"github.com/gopcua/opcua/ua"
)

// FuzzParseNode: any node string is accepted or refused with an error,
// never a panic; an accepted one names no namespace index and resolves in
// a namespace array that holds its namespace.
func FuzzParseNode(f *testing.F) {
	for _, s := range []string{"nsu=urn:a;s=x", "ns=2;i=5", "i=85", "nsu=urn:a;g=72962B91-FA75-4AE6-8D28-B404DC7DAF63",
		"nsu=urn:a;b=aGk=", "nsu=;", "ns=99999;s=", "s=", "nsu=a;s=b;c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := parseNode(s)
		if err != nil {
			return
		}
		if strings.HasPrefix(s, "ns=") {
			t.Fatalf("parseNode(%q) accepted a namespace index", s)
		}
		ns := []string{"http://opcfoundation.org/UA/"}
		if r.uri != "" {
			ns = append(ns, r.uri)
		}
		id, err := r.resolve(ns)
		if err != nil {
			t.Fatalf("parseNode(%q) accepted but resolve failed: %v", s, err)
		}
		_ = canonicalAddress(id, ns)
	})
}

// FuzzDataValue: whatever a server sends in a DataValue (any built-in
// scalar or array type, status, timestamps), the conversion gives a value
// of a Reading.Raw type or a status, never a panic. (Raw bytes are not
// fuzzed through gopcua's decoder: it panics or runs out of memory on
// some, see TestGopcuaDecoderPanics.)
func FuzzDataValue(f *testing.F) {
	f.Add(uint8(11), uint8(0), int64(5), 1.5, "x", uint32(0), uint8(0xff))
	f.Add(uint8(12), uint8(3), int64(-1), 0.0, "", uint32(0x80310000), uint8(0x03))
	f.Add(uint8(21), uint8(0), int64(0), 0.0, "text", uint32(0x408F0000), uint8(0x07))
	f.Fuzz(func(t *testing.T, typ, arrayLen uint8, i int64, fl float64, str string, status uint32, mask uint8) {
		var v any
		switch typ % 16 {
		case 0:
			v = nil
		case 1:
			v = i%2 == 0
		case 2:
			v = int8(i)
		case 3:
			v = uint8(i)
		case 4:
			v = int16(i)
		case 5:
			v = uint16(i)
		case 6:
			v = int32(i)
		case 7:
			v = uint32(i)
		case 8:
			v = i
		case 9:
			v = uint64(i)
		case 10:
			v = float32(fl)
		case 11:
			v = fl
		case 12:
			v = str
		case 13:
			v = fuzzTime.Add(time.Duration(i))
		case 14:
			v = ua.NewLocalizedText(str)
		case 15:
			v = []byte(str)
		}
		if arrayLen%4 == 1 && v != nil {
			v = []float64{fl, float64(i)}
		}
		dv := &ua.DataValue{EncodingMask: mask & 0x3f, Status: ua.StatusCode(status), SourceTimestamp: fuzzTime}
		if v != nil {
			variant, err := ua.NewVariant(v)
			if err != nil {
				return
			}
			dv.Value = variant
		}
		got := fromDataValue(dv)
		if got.raw == nil && got.status == nil {
			t.Fatalf("no value and no status for %+v", dv)
		}
		if got.raw != nil {
			switch got.raw.(type) {
			case bool, int64, uint64, float64, string:
			default:
				t.Fatalf("raw of type %T", got.raw)
			}
		}
	})
}

// fuzzTime is the timestamp of the seed values.
var fuzzTime = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// TestGopcuaDecoderPanics documents a remote crash in gopcua v0.8.0 found
// by fuzzing DataValue bytes: a Variant array with a negative length (7
// bytes) panics in reflect.MakeSlice inside the library's receive
// goroutine, where no recover can catch it, so a broken or hostile server
// can end the process. (A huge array-dimensions count, 14 bytes, makes it
// allocate gigabytes likewise; that one cannot be tested in-process.) If
// this test fails, the library has fixed the first: update doc.go.
func TestGopcuaDecoderPanics(t *testing.T) {
	b := []byte("1\x81000\xdc0")
	panicked := func() (p bool) {
		defer func() { p = recover() != nil }()
		_, _ = new(ua.DataValue).Decode(b)
		return false
	}()
	if !panicked {
		t.Errorf("gopcua no longer panics on a negative array length: update doc.go")
	}
}
