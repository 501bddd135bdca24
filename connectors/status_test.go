package connectors

import (
	"fmt"
	"testing"
)

func TestStatusOf(t *testing.T) {
	tests := []struct {
		err  error
		want StatusCode
		ok   bool
	}{
		{nil, Good, true},
		{BadDeviceFailure, BadDeviceFailure, true},
		{fmt.Errorf("read holding 3 on press1: %w", BadConfigurationError), BadConfigurationError, true},
		{fmt.Errorf("plain"), 0, false},
	}
	for _, tt := range tests {
		got, ok := StatusOf(tt.err)
		if got != tt.want || ok != tt.ok {
			t.Errorf("StatusOf(%v) = 0x%08X, %v; want 0x%08X, %v", tt.err, uint32(got), ok, uint32(tt.want), tt.ok)
		}
	}
}
