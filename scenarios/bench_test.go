package scenarios

import (
	"testing"
	"time"

	"github.com/otwin/otwin/internal/testkit"
)

// bigScenario is a line of machines × tagsPer tags of every model kind,
// served over OPC UA and Modbus.
func bigScenario(machines, tagsPer int) []byte {
	return []byte(testkit.Line{Machines: machines, Tags: tagsPer, Tick: 100 * time.Millisecond,
		Mix: testkit.EveryKind, OPCUAPort: 4840, ModbusPort: 5020}.YAML())
}

func TestBigScenario(t *testing.T) {
	data := bigScenario(20, 50)
	s, err := Parse("big.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, m := range s.Machines {
		n += len(m.Tags)
	}
	if len(s.Machines) != 20 || n != 1000 {
		t.Fatalf("%d machines, %d tags", len(s.Machines), n)
	}
}

// BenchmarkParseBig loads and validates 1,000 machines / 100,000 tags.
func BenchmarkParseBig(b *testing.B) {
	data := bigScenario(1000, 100)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	cpu0 := processCPU()
	for b.Loop() {
		s, err := Parse("big.yaml", data)
		if err != nil {
			b.Fatal(err)
		}
		if len(s.Machines) != 1000 {
			b.Fatal(len(s.Machines))
		}
	}
	// CPU time (all threads, GC included) per load: on a shared machine
	// wall time also counts the waits for a core.
	b.ReportMetric((processCPU()-cpu0).Seconds()/float64(b.N), "cpu-s/op")
}
