package scenarios

import (
	"slices"
	"strings"
	"testing"
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
