package sources

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

// FuzzParse checks that no input panics Parse and that every failure is an
// *Error with at least one problem.
func FuzzParse(f *testing.F) {
	f.Add(Sample())
	f.Add([]byte("sources:\n  - name: a\n    modbus: {address: 'h:1'}\n    points: [{register: 'holding:1:int16', asset: a, tag: b}]\n"))
	f.Add([]byte("sources: [{name: x, opcua: {url: 'opc.tcp://h', browse_root: 'i=85'}}]"))
	f.Add([]byte("&a [*a]"))
	f.Add([]byte("defaults: {stale: 1}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		tm := time.AfterFunc(3*time.Second, func() { panic(fmt.Sprintf("Parse hangs on %q", data)) })
		defer tm.Stop()
		_, err := Parse("fuzz.yaml", data)
		if err == nil {
			return
		}
		var pe *Error
		if !errors.As(err, &pe) || len(pe.Problems) == 0 {
			t.Fatalf("error %T without problems: %v", err, err)
		}
	})
}
