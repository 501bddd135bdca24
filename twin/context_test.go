package twin

import (
	"testing"

	"github.com/otwin/otwin/scenarios"
)

// TestContextTags runs a scenario's context machine: the work orders
// follow their planned times (empty in the gap, over again after the
// cycle), the batch phases follow one another and every pass through
// them is a new batch, the shifts take turns.
func TestContextTags(t *testing.T) {
	sc, err := scenarios.Parse("ctx.yaml", []byte(`name: ctx
tick: 1s
location: {site: s1, line: l1}
machines: [{name: oven, tags: [{name: t}]}]
context:
  - work_orders:
      - {id: WO-4711, product: cola, quantity: 1000, start: 0s, end: 10s}
      - {id: WO-4712, product: water, quantity: 500, start: 12s, end: 20s}
    cycle: 25s
    batches:
      recipe: R7
      first: 2401
      phases:
        - {name: fill, dwell: {min: 2s, max: 2s}}
        - {name: heat, code: 7, dwell: {min: 3s, max: 3s}}
    shifts:
      - {name: A, length: 4s}
      - {name: B, length: 6s}
`))
	if err != nil {
		t.Fatal(err)
	}
	e := newEngine(t, sc)
	ids := []string{"mes/work_order", "mes/work_order_no", "mes/product", "mes/product_code", "mes/quantity",
		"mes/batch_phase", "mes/phase_code", "mes/batch_no", "mes/batch_id", "mes/recipe", "mes/shift", "mes/shift_code"}
	idx := make([]int, len(ids))
	for k, id := range ids {
		i, ok := e.Lookup(id)
		if !ok {
			t.Fatalf("no tag %s", id)
		}
		idx[k] = i
	}
	at := func(sec int) []any {
		out := make([]any, len(idx))
		for k, i := range idx {
			out[k] = e.Value(i).V
		}
		return out
	}
	want := map[int][]any{
		0:  {"WO-4711", uint32(4711), "cola", uint16(1), uint32(1000), "fill", uint16(1), uint32(2401), "B-2401", "R7", "A", uint16(1)},
		2:  {"WO-4711", uint32(4711), "cola", uint16(1), uint32(1000), "heat", uint16(7), uint32(2401), "B-2401", "R7", "A", uint16(1)},
		5:  {"WO-4711", uint32(4711), "cola", uint16(1), uint32(1000), "fill", uint16(1), uint32(2402), "B-2402", "R7", "B", uint16(2)},
		10: {"", uint32(0), "", uint16(0), uint32(0), "fill", uint16(1), uint32(2403), "B-2403", "R7", "A", uint16(1)},
		12: {"WO-4712", uint32(4712), "water", uint16(2), uint32(500), "heat", uint16(7), uint32(2403), "B-2403", "R7", "A", uint16(1)},
		20: {"", uint32(0), "", uint16(0), uint32(0), "fill", uint16(1), uint32(2405), "B-2405", "R7", "A", uint16(1)},
		25: {"WO-4711", uint32(4711), "cola", uint16(1), uint32(1000), "fill", uint16(1), uint32(2406), "B-2406", "R7", "B", uint16(2)},
	}
	for sec := 0; sec <= 25; sec++ {
		if w, ok := want[sec]; ok {
			got := at(sec)
			for k := range w {
				if got[k] != w[k] {
					t.Errorf("%ds: %s = %#v, want %#v", sec, ids[k], got[k], w[k])
				}
			}
		}
		e.Step(1)
	}
}
