package opcua

import (
	"testing"
	"time"

	"github.com/gopcua/opcua/ua"
)

// FuzzParseNode: any node string is accepted or refused with an error,
// never a panic; an accepted one resolves in a namespace array that holds
// its namespace.
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
		ns := []string{"http://opcfoundation.org/UA/"}
		if r.uri != "" {
			ns = append(ns, r.uri)
		} else {
			for len(ns) <= int(r.index) {
				ns = append(ns, "urn:filler")
			}
		}
		id, err := r.resolve(ns)
		if err != nil {
			t.Fatalf("parseNode(%q) accepted but resolve failed: %v", s, err)
		}
		_ = canonicalAddress(id, ns)
	})
}

// FuzzDataValue: whatever DataValue a server's bytes decode to, the
// conversion gives a reading (a value or a status), never a panic.
func FuzzDataValue(f *testing.F) {
	for _, dv := range []*ua.DataValue{
		goodValue(1.5, fuzzTime), goodValue("x", fuzzTime), goodValue([]int32{1, 2}, fuzzTime),
		statusValue(nil, ua.StatusBadSensorFailure, fuzzTime), goodValue(ua.NewLocalizedText("t"), fuzzTime),
	} {
		b, err := dv.Encode()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var dv ua.DataValue
		if _, err := dv.Decode(b); err != nil {
			return
		}
		v := fromDataValue(&dv)
		if v.raw == nil && v.status == nil {
			t.Fatalf("no value and no status for %x", b)
		}
		if v.raw != nil {
			switch v.raw.(type) {
			case bool, int64, uint64, float64, string:
			default:
				t.Fatalf("raw of type %T", v.raw)
			}
		}
	})
}

// fuzzTime is the timestamp of the seed values.
var fuzzTime = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
