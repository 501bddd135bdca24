package ctxrole

import (
	"slices"
	"testing"
)

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

func TestNames(t *testing.T) {
	want := []string{"work_order", "product", "batch", "recipe", "phase", "shift"}
	if got := Names(); !slices.Equal(got, want) {
		t.Errorf("Names() = %v, want %v", got, want)
	}
}
