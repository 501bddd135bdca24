package mqttpub

import (
	"slices"
	"testing"
)

func TestSortByID(t *testing.T) {
	for _, tc := range []struct{ in, want []string }{
		{[]string{"o.4", "o.2", "o.10", "o.3"}, []string{"o.2", "o.3", "o.4", "o.10"}},
		// Wrapped: 65534, 65535 were given before 1, 2.
		{[]string{"o.2", "o.65535", "o.1", "o.65534"}, []string{"o.65534", "o.65535", "o.1", "o.2"}},
		{[]string{"o.7"}, []string{"o.7"}},
		{nil, nil},
	} {
		got := slices.Clone(tc.in)
		sortByID(got)
		if !slices.Equal(got, tc.want) {
			t.Errorf("sortByID(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}
