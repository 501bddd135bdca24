package twin

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/otwin/otwin/scenarios"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// TestGoldenSeries pins the series of testdata/line.yaml (loaded by the
// scenarios loader) for 10 simulated seconds: a change to a model, the
// random streams or the tick order shows up here.
func TestGoldenSeries(t *testing.T) {
	sc, err := scenarios.Load("testdata/line.yaml")
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	e := newEngine(t, sc)
	var b strings.Builder
	for tick := 0; tick <= 100; tick++ {
		if tick%5 == 0 {
			fmt.Fprintf(&b, "tick %d\n", tick)
			for _, ti := range e.Tags() {
				v := e.Value(ti.Index)
				fmt.Fprintf(&b, "  %-22s %-10v %s\n", ti.ID, format(v.V), StatusName(v.Status))
			}
		}
		e.Step(1)
	}
	evs, _ := e.Events(0)
	for _, ev := range evs {
		fmt.Fprintf(&b, "event %s %s %s fault=%q target=%q value=%v %s\n", ev.Elapsed, ev.Kind, ev.Origin, ev.Fault, ev.Target, ev.Value, ev.Message)
	}
	got := b.String()
	const path = "testdata/line.golden"
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run Golden -update)", err)
	}
	if got != string(want) {
		gl, wl := strings.Split(got, "\n"), strings.Split(string(want), "\n")
		for i := range min(len(gl), len(wl)) {
			if gl[i] != wl[i] {
				t.Fatalf("series differs from %s at line %d:\ngot  %s\nwant %s", path, i+1, gl[i], wl[i])
			}
		}
		t.Fatalf("series differs from %s in length", path)
	}
}

func format(v any) string {
	switch x := v.(type) {
	case float64:
		return fmt.Sprintf("%.6g", x)
	case float32:
		return fmt.Sprintf("%.6g", x)
	}
	return fmt.Sprint(v)
}
