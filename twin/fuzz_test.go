package twin

import (
	"testing"

	"github.com/otwin/otwin/scenarios"
)

// FuzzExpr builds an engine around an arbitrary expression and runs a few
// ticks: New either fails with an error or the engine runs; nothing
// panics.
func FuzzExpr(f *testing.F) {
	for _, s := range []string{
		"a * 2 + t", `s == "Running" ? 1 : 0`, "m2.b + tag(\"m2/b\")", "let x = a; x * x",
		"a / 0", "1 +", "[a, b][1]", "a in [1, 2]", "len(s)", "{\"k\": a}.k", "s[0:1]", "t > 1 && a",
		"tag(a)", "m2[\"b\"]", "map([1, 2], # * a)", "$env.a", "0x7fffffffffffffff + 1",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		sc := scenario(
			scenarios.Tag{Name: "a", Model: &scenarios.Model{Ramp: &scenarios.Ramp{Max: 10, Period: dur(1e9)}}},
			scenarios.Tag{Name: "s", Type: scenarios.String, Model: &scenarios.Model{Constant: &scenarios.Constant{Value: "Running"}}},
			scenarios.Tag{Name: "x", Model: &scenarios.Model{Expr: &scenarios.Expr{Expr: src}}},
			scenarios.Tag{Name: "c", Type: scenarios.Int16, Model: &scenarios.Model{Counter: &scenarios.Counter{Rate: 1, When: src}}},
		)
		sc.Machines = append(sc.Machines, scenarios.Machine{Name: "m2", Tags: fill([]scenarios.Tag{{Name: "b"}})})
		e, err := New(sc, Options{Now: fixedNow, Logger: discard})
		if err != nil {
			return
		}
		e.Step(3)
		for i := range e.Tags() {
			_ = e.Value(i)
		}
	})
}

// FuzzWrite writes arbitrary values to tags of every type: the result is
// an error or a value of the tag's type.
func FuzzWrite(f *testing.F) {
	f.Add(1.5, int64(3), "x", true)
	f.Add(-1e300, int64(-1), "", false)
	f.Fuzz(func(t *testing.T, fl float64, n int64, s string, b bool) {
		var tags []scenarios.Tag
		for _, typ := range []scenarios.DataType{scenarios.Bool, scenarios.Int16, scenarios.Int32, scenarios.Int64,
			scenarios.Uint16, scenarios.Uint32, scenarios.Uint64, scenarios.Float32, scenarios.Float64, scenarios.String} {
			tags = append(tags, scenarios.Tag{Name: string(typ), Type: typ, Writable: true})
		}
		e, err := New(scenario(tags...), Options{Now: fixedNow, Logger: discard})
		if err != nil {
			t.Fatal(err)
		}
		for i, ti := range e.Tags() {
			for _, v := range []any{fl, n, s, b, uint64(n), float32(fl)} {
				if err := e.Write(i, v); err != nil {
					continue
				}
				got := e.Value(i).V
				if want := box(ti.Type, 0, ""); typeName(got) != typeName(want) {
					t.Fatalf("write %v (%T) to %s gave %T", v, v, ti.Type, got)
				}
			}
		}
	})
}

func typeName(v any) string {
	switch v.(type) {
	case bool:
		return "bool"
	case int16:
		return "int16"
	case int32:
		return "int32"
	case int64:
		return "int64"
	case uint16:
		return "uint16"
	case uint32:
		return "uint32"
	case uint64:
		return "uint64"
	case float32:
		return "float32"
	case float64:
		return "float64"
	case string:
		return "string"
	}
	return "?"
}
