package scenarios

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/parser"
)

func TestExprRefs(t *testing.T) {
	tests := []struct {
		name, src string
		want      []string
		err       string
	}{
		{"local", "speed * 0.5 + base", []string{"m1/base", "m1/speed"}, ""},
		{"time", "t * amp + floor(t)", []string{"m1/amp"}, ""},
		{"other machine", "capper1.torque + capper1[\"load\"]", []string{"capper1/load", "capper1/torque"}, ""},
		{"tag func", `tag("filler1/fill-level") > 3`, []string{"filler1/fill-level"}, ""},
		{"dedup sorted", "b + a + b + m1.a", []string{"m1/a", "m1/b"}, ""},
		{"state string", `state == "Running" ? 1 : 0`, []string{"m1/state"}, ""},
		{"let", "let x = speed * 2; x + 1", []string{"m1/speed"}, ""},
		{"builtins", "max(a, b) + abs(c)", []string{"m1/a", "m1/b", "m1/c"}, ""},
		{"predicate", "all([a, b], # > 0)", []string{"m1/a", "m1/b"}, ""},
		{"constant", "42", nil, ""},
		{"syntax", "a +* b", nil, "column"},
		{"unclosed", "(a + b", nil, "column"},
		{"empty", "  ", nil, "empty expression"},
		{"unknown func", "foo(a)", nil, `unknown function "foo"`},
		{"dynamic tag", "tag(name)", nil, "string literal"},
		{"bad tag arg", `tag("nomachine")`, nil, "machine/tag"},
		{"dynamic member", "m2[x]", nil, "literally"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ExprRefs("m1", tt.src)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("ExprRefs(%q) error = %v, want containing %q", tt.src, err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ExprRefs(%q): %v", tt.src, err)
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("ExprRefs(%q) = %q, want %q", tt.src, got, tt.want)
			}
		})
	}
}

// TestWalkRefs checks what the shared walker hands to its visitor: the
// node that reads each tag and the name, in source order, with tag()'s
// argument verbatim.
func TestWalkRefs(t *testing.T) {
	tests := []struct {
		name, src string
		want      []string // "node type ref"
		err       string
	}{
		{"kinds", `a + m2.b + m2["c"] + tag("m3/d")`,
			[]string{"*ast.IdentifierNode m1/a", "*ast.MemberNode m2/b", "*ast.MemberNode m2/c", "*ast.CallNode m3/d"}, ""},
		{"order and repeats", "b + a + b", []string{"*ast.IdentifierNode m1/b", "*ast.IdentifierNode m1/a", "*ast.IdentifierNode m1/b"}, ""},
		{"full id verbatim", `tag("plant/m2/b")`, []string{"*ast.CallNode plant/m2/b"}, ""},
		{"locals and time", "let x = a; x * t + sum([1], #)", []string{"*ast.IdentifierNode m1/a"}, ""},
		{"map key literal", `{k: a}.k`, []string{"*ast.IdentifierNode m1/a"}, ""},
		{"dollar name", "a + $env", nil, `column 5: unknown name "$env"`},
		{"unknown func", "a +\n foo(b)", nil, `line 2 column 2: unknown function "foo"`},
		{"dynamic member", "m2[x]", nil, "column 4: tag of machine \"m2\" must be named literally"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tree, err := parser.Parse(tt.src)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			err = WalkRefs(tree, "m1", func(n ast.Node, ref string) error {
				got = append(got, fmt.Sprintf("%T %s", n, ref))
				return nil
			})
			if tt.err != "" {
				var ee *ExprError
				if !errors.As(err, &ee) || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("WalkRefs(%q) error = %v, want *ExprError containing %q", tt.src, err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("WalkRefs(%q): %v", tt.src, err)
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("WalkRefs(%q) = %q, want %q", tt.src, got, tt.want)
			}
		})
	}
}

// TestWalkRefsVisitError checks that the visitor's error ends the walk
// and comes back unchanged.
func TestWalkRefsVisitError(t *testing.T) {
	tree, err := parser.Parse("a + b + foo()")
	if err != nil {
		t.Fatal(err)
	}
	stop := errors.New("stop")
	var seen []string
	err = WalkRefs(tree, "m1", func(_ ast.Node, ref string) error {
		seen = append(seen, ref)
		if ref == "m1/b" {
			return stop
		}
		return nil
	})
	if err != stop {
		t.Fatalf("err = %v, want the visitor's", err)
	}
	if !slices.Equal(seen, []string{"m1/a", "m1/b"}) {
		t.Fatalf("visited %q after the error", seen)
	}
	if err := WalkRefs(nil, "m1", nil); err != nil {
		t.Fatalf("nil tree: %v", err)
	}
}

// TestExprRefPositions checks where the validator's references start and
// which string each is compared with.
func TestExprRefPositions(t *testing.T) {
	tests := []struct {
		src  string
		want []exprRef
	}{
		{`state == "Running"`, []exprRef{{name: "m1/state", from: 0, lit: "Running", hasLit: true}}},
		{`"Idle" != m2.mode && x`, []exprRef{{name: "m2/mode", from: 10, lit: "Idle", hasLit: true}, {name: "m1/x", from: 21}}},
		{`1 + tag("m2/s") == "On"`, []exprRef{{name: "m2/s", from: 4}}},
		{`tag("m2/s") == "On"`, []exprRef{{name: "m2/s", from: 0, lit: "On", hasLit: true}}},
		{`m2["b"] + a == "x"`, []exprRef{{name: "m2/b", from: 0}, {name: "m1/a", from: 10}}},
	}
	for _, tt := range tests {
		got, err := exprRefs("m1", tt.src)
		if err != nil {
			t.Fatalf("exprRefs(%q): %v", tt.src, err)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("exprRefs(%q) = %+v, want %+v", tt.src, got, tt.want)
		}
	}
	if _, err := exprRefs("m1", `a + tag("m2/b/c")`); err == nil || err.Error() != `column 9: tag("m2/b/c"): want "machine/tag"` {
		t.Errorf("tag with a full id: %v", err)
	}
}
