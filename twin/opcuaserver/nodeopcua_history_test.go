package opcuaserver

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"
)

// node-opcua reads raw and processed history and calls methods of the
// press line (testdata/press.yaml): what any client gets.

// nodeHistReport is what history_methods.js prints.
type nodeHistReport struct {
	History map[string]struct {
		Service  string
		Status   string
		Requests int
		CP       string
		Values   []struct {
			Value          any
			Status         string
			Bits           int
			Source, Server string
		}
	}
	Calls map[string]struct {
		Status               string
		InputArgumentResults []string
		Outputs              []any
	}
	Attributes map[string]struct {
		Historizing     bool
		AccessLevel     int
		UserAccessLevel int
	}
}

func runNodeHistory(t *testing.T, plan map[string]any) nodeHistReport {
	t.Helper()
	var r nodeHistReport
	runNodeScript(t, "history_methods.js", plan, &r)
	return r
}

func TestNodeOPCUAHistoryAndMethods(t *testing.T) {
	nodePeer(t)
	p := pressServer(t)
	p.step(300)
	ns := "nsu=urn:otwin:press-test;s="
	ramp := ns + "plant/l1/press1/ramp"
	iso := func(k int) string { return p.at(k).Format(time.RFC3339Nano) }
	raw := func(id, node string, d map[string]any, extra map[string]any) map[string]any {
		r := map[string]any{"id": id, "kind": "raw", "node": node, "details": d}
		for k, v := range extra {
			r[k] = v
		}
		return r
	}
	proc := func(id, agg string, start, end int, interval float64) map[string]any {
		return map[string]any{"id": id, "kind": "processed", "node": ramp, "details": map[string]any{
			"start": iso(start), "end": iso(end), "interval": interval, "aggregate": agg}}
	}
	r := runNodeHistory(t, map[string]any{
		"url":        p.s.URL(),
		"user":       map[string]any{"name": "op", "password": "op-secret"},
		"attributes": []string{ramp, ns + "plant/l1/press1/quiet"},
		"history": []any{
			raw("ticks", ramp, map[string]any{"start": iso(10), "end": iso(20)}, nil),
			raw("paged", ramp, map[string]any{"start": iso(0), "end": iso(300), "numValues": 50}, map[string]any{"follow": true}),
			raw("bounds", ramp, map[string]any{"start": p.at(95).Add(50 * time.Millisecond).Format(time.RFC3339Nano), "end": "9999-01-01T00:00:00Z", "bounds": true}, nil),
			raw("first", ramp, map[string]any{"start": iso(0), "end": iso(300), "numValues": 10}, nil),
			raw("released", ramp, nil, map[string]any{"cp": "first", "release": true}),
			raw("reused", ramp, map[string]any{"start": iso(0), "end": iso(300)}, map[string]any{"cp": "first"}),
			raw("unknown cp", ramp, map[string]any{"start": iso(0), "end": iso(300)}, map[string]any{"cp": "hex:00112233445566778899aabbccddeeff"}),
			raw("empty cp", ramp, map[string]any{"start": iso(0), "end": iso(3)}, map[string]any{"cp": "empty"}),
			raw("1601 and 9999", ramp, map[string]any{"start": "1601-01-01T00:00:00Z", "end": "9999-12-31T00:00:00Z"}, nil),
			raw("1601-01-02 to 9999", ramp, map[string]any{"start": "1601-01-02T00:00:00Z", "end": "9999-12-31T00:00:00Z", "numValues": 1000000000}, nil),
			raw("in 9999", ramp, map[string]any{"start": "9999-01-01T00:00:00Z", "end": "9999-12-31T00:00:00Z"}, nil),
			raw("no history", ns+"plant/l1/press1/quiet", map[string]any{"start": iso(0), "end": iso(3)}, nil),
			proc("average", "Average", 10, 30, 1000),
			proc("minimum", "Minimum", 10, 20, 1000),
			proc("maximum", "Maximum", 10, 20, 1000),
			proc("count", "Count", 0, 25, 1000),
			proc("interpolative", "Interpolative", 10, 20, 500),
			proc("start", "Start", 10, 20, 0),
			proc("end", "End", 10, 20, 0),
			proc("before", "Average", -20, 5, 1000),
		},
		"calls": []any{
			map[string]any{"id": "start", "object": ns + "plant/l1/press1", "method": ns + "plant/l1/press1/start"},
			map[string]any{"id": "start again", "object": ns + "plant/l1/press1", "method": ns + "plant/l1/press1/start"},
			map[string]any{"id": "set_recipe", "object": ns + "plant/l1/press1", "method": ns + "plant/l1/press1/set_recipe",
				"args": []any{map[string]any{"type": "String", "value": "cola"}, map[string]any{"type": "Double", "value": 75}}},
			map[string]any{"id": "wrong type", "object": ns + "plant/l1/press1", "method": ns + "plant/l1/press1/set_recipe",
				"args": []any{map[string]any{"type": "String", "value": "cola"}, map[string]any{"type": "Int32", "value": 75}}},
			map[string]any{"id": "missing", "object": ns + "plant/l1/press1", "method": ns + "plant/l1/press1/set_recipe",
				"args": []any{map[string]any{"type": "String", "value": "cola"}}},
			map[string]any{"id": "too many", "object": ns + "plant/l1/press1", "method": ns + "plant/l1/press1/stop",
				"args": []any{map[string]any{"type": "Boolean", "value": true}}},
			map[string]any{"id": "type's stop on press1", "object": ns + "plant/l1/press1", "method": "nsu=urn:otwin:press-test:types;s=Press/stop"},
		},
	})

	a := r.Attributes[ramp]
	if !a.Historizing || a.AccessLevel&4 == 0 || a.UserAccessLevel&4 == 0 {
		t.Errorf("ramp: %+v, want Historizing and the HistoryRead bit", a)
	}
	if q := r.Attributes[ns+"plant/l1/press1/quiet"]; q.Historizing || q.AccessLevel&4 != 0 {
		t.Errorf("quiet: %+v, want no history", q)
	}
	h := func(id string) (status string, n int) {
		x, ok := r.History[id]
		if !ok {
			t.Fatalf("no history result %q", id)
		}
		if x.Service != "Good" {
			return x.Service, len(x.Values)
		}
		return x.Status, len(x.Values)
	}
	ticks := r.History["ticks"]
	if len(ticks.Values) != 10 {
		t.Fatalf("ticks 10..19: %+v", ticks)
	}
	for k, v := range ticks.Values {
		if v.Value != float64(10+k) || v.Status != "Good" || v.Source != p.at(10+k).Format("2006-01-02T15:04:05.000Z") {
			t.Errorf("value %d: %+v", k, v)
		}
	}
	for id, want := range map[string]struct {
		status string
		n      int
	}{
		"paged":              {"Good", 300},
		"bounds":             {"Good", 207},
		"released":           {"Good", 0},
		"reused":             {"BadContinuationPointInvalid", 0},
		"unknown cp":         {"BadContinuationPointInvalid", 0},
		"empty cp":           {"Good", 3},
		"1601 and 9999":      {"BadHistoryOperationInvalid", 0},
		"1601-01-02 to 9999": {"Good", 301},
		"in 9999":            {"GoodNoData", 0},
		"no history":         {"BadHistoryOperationUnsupported", 0},
	} {
		if s, n := h(id); s != want.status || n != want.n {
			t.Errorf("%s: %s with %d values, want %s with %d", id, s, n, want.status, want.n)
		}
	}
	if x := r.History["paged"]; x.Requests != 6 {
		t.Errorf("300 values in pages of 50: %d requests", x.Requests)
	}
	// 10^9 values asked of a history of 301: all of them, and no
	// continuation point (TestHistoryReadBadInput pages a longer one).
	if x := r.History["1601-01-02 to 9999"]; x.CP != "" {
		t.Errorf("10^9 values asked: a continuation point after all %d values", len(x.Values))
	}
	b := r.History["bounds"].Values
	if b[0].Value != 95.0 || b[len(b)-1].Status != "BadBoundNotFound" {
		t.Errorf("bounds: first %+v, last %+v", b[0], b[len(b)-1])
	}
	procd := func(id string) []string {
		var out []string
		for _, v := range r.History[id].Values {
			status, _, _ := strings.Cut(v.Status, "#") // node-opcua appends the info bits' names
			out = append(out, fmtAny(v.Value)+" "+status+" "+bitsName(v.Bits))
		}
		return out
	}
	for id, want := range map[string][]string{
		"average":       {"14.5 Good Calculated", "24.5 Good Calculated"},
		"minimum":       {"10 Good Raw"},
		"maximum":       {"19 Good Calculated"},
		"count":         {"10 Good Calculated", "10 Good Calculated", "5 Good Calculated,Partial"},
		"interpolative": {"10 Good Raw", "15 Good Raw"},
		"start":         {"10 Good "},
		"end":           {"19 Good "},
		"before":        {"null BadNoData ", "null BadNoData ", "2 Good Calculated,Partial"},
	} {
		if got := procd(id); !slices.Equal(got, want) {
			t.Errorf("%s: %q, want %q", id, got, want)
		}
	}

	for id, want := range map[string]struct {
		status  string
		args    []string
		outputs []any
	}{
		"start":                 {"Good", nil, []any{"Running"}},
		"start again":           {"BadInvalidState", nil, nil},
		"set_recipe":            {"Good", []string{"Good", "Good"}, []any{"cola", 75.0}},
		"wrong type":            {"BadInvalidArgument", []string{"Good", "BadTypeMismatch"}, nil},
		"missing":               {"BadArgumentsMissing", nil, nil},
		"too many":              {"BadTooManyArguments", nil, nil},
		"type's stop on press1": {"Good", nil, nil},
	} {
		c := r.Calls[id]
		if c.Status != want.status || want.args != nil && !slices.Equal(c.InputArgumentResults, want.args) || want.outputs != nil && !slices.Equal(c.Outputs, want.outputs) {
			t.Errorf("call %s: %+v, want %+v", id, c, want)
		}
	}
	if v := p.e.Value(mustLookup(t, p, "press1/recipe")).V; v != "cola" {
		t.Errorf("recipe after node-opcua's set_recipe: %v", v)
	}
}

func fmtAny(v any) string {
	if v == nil {
		return "null"
	}
	if f, ok := v.(float64); ok {
		return fmtNum(f)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// bitsName names a StatusCode's info bits as the aggregate test writes
// them.
func bitsName(bits int) string {
	if bits&0x400 == 0 {
		return ""
	}
	var names []string
	switch bits & 3 {
	case 0:
		names = append(names, "Raw")
	case 1:
		names = append(names, "Calculated")
	case 2:
		names = append(names, "Interpolated")
	}
	if bits&4 != 0 {
		names = append(names, "Partial")
	}
	if bits&0x10 != 0 {
		names = append(names, "MultiValue")
	}
	return strings.Join(names, ",")
}
