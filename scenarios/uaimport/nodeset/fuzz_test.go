package nodeset_test

import (
	"bytes"
	"errors"
	"os"
	"testing"

	"github.com/otwin/otwin/scenarios/uaimport"
	"github.com/otwin/otwin/scenarios/uaimport/nodeset"
)

// FuzzRead: whatever the file, Read returns a space or an *Error, never
// panics; and whatever space it returns, the scenario mapped from it
// validates (Map reports what it cannot take instead of writing it).
func FuzzRead(f *testing.F) {
	for _, p := range []string{"testdata/line.xml", "testdata/bad.xml"} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(billionLaughs))
	f.Add([]byte(`<UANodeSet><NamespaceUris><Uri>u</Uri></NamespaceUris><UAObject NodeId="ns=1;s=a b" BrowseName="1:a b"><References><Reference ReferenceType="i=35" IsForward="false">i=85</Reference></References></UAObject><UAVariable NodeId="ns=1;i=7" BrowseName="true" DataType="i=29" ValueRank="-2"><References><Reference ReferenceType="i=47" IsForward="false">ns=1;s=a b</Reference></References><Value><Int32>-3</Int32></Value></UAVariable></UANodeSet>`))
	lim := nodeset.Limits{MaxToken: 64 << 10, MaxNodes: 2000, MaxReferences: 20000, MaxValue: 64 << 10}
	f.Fuzz(func(t *testing.T, data []byte) {
		space, err := nodeset.Read(bytes.NewReader(data), "fuzz.xml", lim)
		if err != nil {
			var e *nodeset.Error
			if !errors.As(err, &e) {
				t.Fatalf("Read: %T %v, want an *Error", err, err)
			}
			return
		}
		res, err := uaimport.Map(space, uaimport.Options{})
		if errors.Is(err, uaimport.ErrNothing) {
			return
		}
		if err != nil {
			t.Fatalf("Map: %v", err)
		}
		if y, err := res.YAML(); err != nil {
			t.Fatalf("%v\n%s", err, y)
		}
	})
}
