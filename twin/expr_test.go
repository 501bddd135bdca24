package twin

import (
	"slices"
	"strings"
	"testing"

	"github.com/otwin/otwin/scenarios"
)

// TestCompileExprRefs checks how compileExpr resolves the references
// scenarios.WalkRefs finds: by machine/tag or full ID, each tag once, in
// order of first reference, and errors that name the expression.
func TestCompileExprRefs(t *testing.T) {
	sc := scenario(scenarios.Tag{Name: "a"}, scenarios.Tag{Name: "s", Type: scenarios.String})
	sc.Machines = append(sc.Machines, scenarios.Machine{Name: "m2", Location: scenarios.Location{Site: "plant"},
		Tags: fill([]scenarios.Tag{{Name: "b"}})})
	e := newEngine(t, sc)
	idx := func(id string) int {
		i, ok := e.Lookup(id)
		if !ok {
			t.Fatalf("no tag %s", id)
		}
		return i
	}
	a, s, b := idx("m1/a"), idx("m1/s"), idx("m2/b")
	tests := []struct {
		name, src string
		want      []int
		err       string
	}{
		{"identifier", "a * 2 + t", []int{a}, ""},
		{"member and full id", `m2.b + tag("plant/m2/b") + m2["b"] + a`, []int{b, a}, ""},
		{"own machine tag unknown", "m2.b + a + b", nil, `unknown tag "m1/b"`},
		{"first reference order", "tag(\"m2/b\") + a + m2.b", []int{b, a}, ""},
		{"string compare", `tag("m2/b") > 1 && s == "Running"`, []int{b, s}, ""},
		{"locals", "let x = a; [x, x] | sum()", []int{a}, ""},
		{"unknown tag", "m2.nope", nil, `expression "m2.nope": unknown tag "m2/nope"`},
		{"unknown function", "1 + sin(a)", nil, `expression "1 + sin(a)": column 5: unknown function "sin"`},
		{"dynamic tag", "tag(s)", nil, `column 5: tag needs a string literal`},
		{"dollar name", "$env.a", nil, `column 1: unknown name "$env"`},
		{"syntax", "a +", nil, `expression "a +"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prog, refs, err := e.compileExpr(0, tt.src)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("compileExpr(%q) error = %v, want containing %q", tt.src, err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("compileExpr(%q): %v", tt.src, err)
			}
			if prog == nil || !slices.Equal(refs, tt.want) {
				t.Fatalf("compileExpr(%q) = %v, %v, want refs %v", tt.src, prog, refs, tt.want)
			}
		})
	}
}
