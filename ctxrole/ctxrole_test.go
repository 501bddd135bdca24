package ctxrole

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want Role
		ok   bool
	}{
		{"work_order", WorkOrder, true},
		{" Batch ", Batch, true},
		{"SHIFT", Shift, true},
		{"order", "", false},
		{"", "", false},
	} {
		got, err := Parse(tt.in)
		if got != tt.want || (err == nil) != tt.ok {
			t.Errorf("Parse(%q) = %q, %v; want %q, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
		if err != nil && !strings.Contains(err.Error(), "work_order, product, batch, recipe, phase, shift") {
			t.Errorf("Parse(%q) error %q does not list the roles", tt.in, err)
		}
	}
}

func TestIndexMatchesN(t *testing.T) {
	if len(All) != N {
		t.Fatalf("len(All) = %d, N = %d", len(All), N)
	}
	for i, r := range All {
		if r.Index() != i {
			t.Errorf("%s.Index() = %d, want %d", r, r.Index(), i)
		}
	}
	if Role("x").Index() != -1 || Role("x").Known() {
		t.Error("an unknown role has an index")
	}
}
