package scenarios

import (
	"errors"
	"strings"
	"testing"

	"github.com/otwin/otwin/role"
)

func TestDidYouMean(t *testing.T) {
	tests := []struct {
		in         string
		candidates []string
		want       string
	}{
		{"unti", []string{"name", "unit", "type"}, "unit"}, // transposition
		{"tpye", []string{"name", "unit", "type"}, "type"},
		{"holdings", Tables, "holding"},
		{"degc", []string{"degC", "degF", "bar"}, "degC"}, // case only
		{"operater", role.Names(), "operator"},
		{"xyz", []string{"name", "unit"}, ""}, // too far
		{"unit", []string{"unit"}, ""},        // exact: no hint
		{"", nil, ""},
	}
	for _, tt := range tests {
		if got := closest(tt.in, tt.candidates); got != tt.want {
			t.Errorf("closest(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestProblemsError(t *testing.T) {
	_, err := Parse("x.yaml", []byte("name: a\nmachines:\n  - name: m\n    tags:\n      - {name: b, unti: bar, tpye: int16}\n"))
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("err = %v", err)
	}
	want := `x.yaml:5:19: unknown field "unti" (did you mean "unit"?)` + "\n" +
		`x.yaml:5:30: unknown field "tpye" (did you mean "type"?)`
	if err.Error() != want {
		t.Fatalf("Error() =\n%s\nwant\n%s", err, want)
	}
	if p := (Problem{File: "f", Msg: "m"}); p.String() != "f: m" {
		t.Errorf("no position: %q", p.String())
	}
}

func TestParseNeverPanicsOnOddInput(t *testing.T) {
	for _, in := range []string{
		"", "\x00", "[", "- a\n- b\n", "name: [", "name:\n\t- x", "!!binary aGk=", "*x", "&a [*a]",
		"name: a\nmachines:\n  - &m {name: m, tags: *m}\n", "? [a]\n: b\n", "---\n---\n", "%YAML 1.2\n---\nname: a\n",
		strings.Repeat("[", 200) + strings.Repeat("]", 200),
		"name: a\nmachines: [{name: m, tags: [{name: t, model: {expr: {expr: '" + strings.Repeat("(", 300) + "'}}}]}]",
	} {
		s, err := Parse("odd.yaml", []byte(in))
		if err == nil && s == nil {
			t.Errorf("Parse(%q): nil scenario and nil error", in)
		}
		if err != nil && strings.Contains(err.Error(), "internal error") {
			t.Errorf("Parse(%q) recovered from a panic: %v", in, err)
		}
	}
}
