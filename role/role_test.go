package role

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
		{"operator", Operator, true},
		{" Trainer ", Trainer, true},
		{"QUALITY", Quality, true},
		{"admin", "", false},
		{"", "", false},
	} {
		got, err := Parse(tt.in)
		if got != tt.want || (err == nil) != tt.ok {
			t.Errorf("Parse(%q) = %q, %v; want %q, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
		if err != nil && !strings.Contains(err.Error(), "operator, supervisor, maintenance, quality, engineer, trainer") {
			t.Errorf("Parse(%q) error %q does not list the roles", tt.in, err)
		}
	}
}
